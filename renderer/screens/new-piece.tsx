/**
 * @module renderer/screens/new-piece
 * Compose one mail piece: recipient, class and weight (postage from the rate table) or a typed
 * amount, a live SAMPLE preview of the piece, medium and printer; then buy the indicium from the
 * data center and print it. A retry of the same piece reuses its idempotency key, so it is never
 * charged twice.
 */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { DraftRecipient, Recipient } from '../../shared/ipc';
import { isMailClass, type MailClass } from '../../shared/mail-class';
import { formatDollars } from '../../shared/money';
import { Notice, SelectField, TextField, MoneyField } from '../components/fields';
import { MAIL_CLASS_OPTIONS, toPrinter } from '../options';
import { PrintSetupFields } from '../components/print-setup-fields';
import { usePrintSetup } from '../use-print-setup';
import {
  checkDestZip,
  checkAddressLine,
  checkState,
  compact,
  parseMoney,
  parseWeight,
  type Errors,
} from '../validate';
import { call, newKey, placeError } from '../vpm';

const EMPTY: DraftRecipient = { name: '', street: '', street2: '', city: '', state: '', zip: '' };
type PostageMode = 'rate' | 'amount';

function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

export function NewPiece(props: { onBalance: (cents: number) => void }) {
  const [recipient, setRecipient] = useState<DraftRecipient>(EMPTY);
  const [mailClass, setMailClass] = useState<MailClass>('first-class');
  const [weight, setWeight] = useState('1');
  const [mode, setMode] = useState<PostageMode>('rate');
  const [amount, setAmount] = useState('');
  const [mailingDate, setMailingDate] = useState('');
  const [scaleError, setScaleError] = useState<string | null>(null);
  const setup = usePrintSetup();
  const [quote, setQuote] = useState<{ key: string; cents: number | null; error: string | null }>();
  const [preview, setPreview] = useState<{ svg: string } | { error: string } | null>(null);
  const [errors, setErrors] = useState<Errors>({});
  const [notice, setNotice] = useState<{ kind: 'error' | 'success'; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const attempt = useRef<{ params: string; key: string } | null>(null);

  const weighed = parseWeight(weight);
  const quoteKey = `${mailClass}|${weighed.oz ?? ''}`;
  const debouncedQuoteKey = useDebounced(quoteKey, 250);

  useEffect(() => {
    if (mode !== 'rate') return;
    const [cls, oz] = debouncedQuoteKey.split('|');
    if (cls === undefined || !isMailClass(cls) || oz === undefined || oz === '') return;
    let live = true;
    void call('postage:quote', { mailClass: cls, weightOz: Number(oz) }).then((r) => {
      if (!live) return;
      setQuote(
        r.ok
          ? { key: debouncedQuoteKey, cents: r.value.postageCents, error: null }
          : { key: debouncedQuoteKey, cents: null, error: r.error.message },
      );
    });
    return () => {
      live = false;
    };
  }, [debouncedQuoteKey, mode]);

  const typed = parseMoney(amount, { min: 1 });
  const postageCents =
    mode === 'amount' ? typed.cents : quote?.key === quoteKey ? quote.cents : null;

  const previewInput = useDebounced(
    JSON.stringify({ recipient, postageCents: postageCents ?? 0, mailClass, media: setup.media }),
    300,
  );
  useEffect(() => {
    let live = true;
    void call(
      'piece:preview',
      JSON.parse(previewInput) as Parameters<typeof call<'piece:preview'>>[1],
    ).then((r) => {
      if (live) setPreview(r.ok ? { svg: r.value.svg } : { error: r.error.message });
    });
    return () => {
      live = false;
    };
  }, [previewInput]);

  const set = (field: keyof DraftRecipient) => (value: string) =>
    setRecipient((r) => ({ ...r, [field]: field === 'state' ? value.toUpperCase() : value }));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const found = compact({
      name: checkAddressLine(recipient.name, 'recipient name'),
      street: checkAddressLine(recipient.street, 'street address'),
      ...(recipient.street2
        ? { street2: checkAddressLine(recipient.street2, 'second street line', false) }
        : {}),
      city: checkAddressLine(recipient.city, 'city'),
      state: checkState(recipient.state),
      zip: checkDestZip(recipient.zip),
      weight: mode === 'rate' ? weighed.error : null,
      amount: mode === 'amount' ? typed.error : null,
    });
    if (mode === 'rate' && weighed.error === null && postageCents === null) {
      found.weight = quote?.error ?? 'Wait for the postage to be quoted, then print.';
    }
    setErrors(found);
    setNotice(null);
    if (Object.keys(found).length > 0 || postageCents === null) {
      document.getElementById(`piece-${Object.keys(found)[0] ?? 'name'}`)?.focus();
      return;
    }
    const clean: Recipient = {
      name: recipient.name.trim(),
      street: recipient.street.trim(),
      ...(recipient.street2?.trim() ? { street2: recipient.street2.trim() } : {}),
      city: recipient.city.trim(),
      state: recipient.state.trim().toUpperCase(),
      zip: recipient.zip.trim(),
    };
    const request = {
      recipient: clean,
      postageCents,
      mailClass,
      ...(mode === 'rate' && weighed.oz !== null ? { weightOz: weighed.oz } : {}),
      media: setup.media,
      printer: toPrinter(setup.printer),
      ...(mailingDate ? { mailingDate } : {}),
    };
    const params = JSON.stringify(request);
    if (attempt.current?.params !== params) attempt.current = { params, key: newKey() };
    setBusy(true);
    const result = await call('piece:print', { ...request, idempotencyKey: attempt.current.key });
    setBusy(false);
    if (result.ok) {
      attempt.current = null;
      props.onBalance(result.value.balanceCents);
      setNotice({
        kind: 'success',
        text:
          `Postage of ${formatDollars(postageCents)} issued (piece ${result.value.pieceId}). ` +
          (result.value.jobId === null
            ? `PDF saved to ${result.value.pdfPath}.`
            : `Sent to the printer (job ${result.value.jobId}); PDF saved to ${result.value.pdfPath}.`) +
          ` Balance ${formatDollars(result.value.balanceCents)}.` +
          (result.value.trackingNumber ? ` Tracking ${result.value.trackingNumber}.` : ''),
      });
      return;
    }
    const placed = placeError(result.error, ['name', 'street', 'street2', 'city', 'state', 'zip']);
    setErrors(placed.fieldErrors);
    if (placed.formError) setNotice({ kind: 'error', text: placed.formError });
  };

  /** Fills the weight from the attached scale; without one the typed weight stays. */
  const readScale = async () => {
    const result = await call('scale:read', {});
    if (result.ok) {
      setScaleError(null);
      setWeight(String(Math.ceil(result.value.ounces * 10) / 10));
    } else setScaleError(result.error.message);
  };

  const newPiece = () => {
    setRecipient(EMPTY);
    setNotice(null);
    setErrors({});
    document.getElementById('piece-name')?.focus();
  };

  return (
    <section aria-labelledby="piece-title">
      <h1 id="piece-title" tabIndex={-1}>
        New mail piece
      </h1>
      <div className="compose">
        <form className="card" aria-label="Mail piece" onSubmit={(e) => void submit(e)} noValidate>
          {notice ? <Notice kind={notice.kind}>{notice.text}</Notice> : null}
          <fieldset>
            <legend>Recipient</legend>
            <TextField
              id="piece-name"
              label="Recipient name"
              autoComplete="off"
              value={recipient.name}
              onValue={set('name')}
              error={errors.name}
              maxLength={100}
            />
            <TextField
              id="piece-street"
              label="Street address"
              autoComplete="off"
              value={recipient.street}
              onValue={set('street')}
              error={errors.street}
              maxLength={100}
            />
            <TextField
              id="piece-street2"
              label="Apartment, suite (optional)"
              autoComplete="off"
              value={recipient.street2 ?? ''}
              onValue={set('street2')}
              error={errors.street2}
              maxLength={100}
            />
            <div className="row">
              <TextField
                id="piece-city"
                className="grow"
                label="City"
                autoComplete="off"
                value={recipient.city}
                onValue={set('city')}
                error={errors.city}
                maxLength={60}
              />
              <TextField
                id="piece-state"
                className="narrow"
                label="State"
                autoComplete="off"
                value={recipient.state}
                onValue={set('state')}
                error={errors.state}
                maxLength={2}
              />
              <TextField
                id="piece-zip"
                className="medium"
                label="ZIP code"
                inputMode="numeric"
                autoComplete="off"
                value={recipient.zip}
                onValue={set('zip')}
                error={errors.zip}
                maxLength={10}
              />
            </div>
          </fieldset>
          <fieldset>
            <legend>Postage</legend>
            <SelectField
              id="piece-class"
              label="Mail class"
              value={mailClass}
              onValue={(v) => isMailClass(v) && setMailClass(v)}
              options={MAIL_CLASS_OPTIONS}
            />
            <div className="radio-group" role="radiogroup" aria-label="Postage from">
              <label>
                <input
                  type="radio"
                  name="postage-mode"
                  checked={mode === 'rate'}
                  onChange={() => setMode('rate')}
                />{' '}
                Rate for the weight
              </label>
              <label>
                <input
                  type="radio"
                  name="postage-mode"
                  checked={mode === 'amount'}
                  onChange={() => setMode('amount')}
                />{' '}
                Amount I enter
              </label>
            </div>
            {mode === 'rate' ? (
              <TextField
                id="piece-weight"
                label="Weight (ounces)"
                inputMode="decimal"
                value={weight}
                onValue={setWeight}
                error={
                  errors.weight ?? scaleError ?? (quote?.key === quoteKey ? quote.error : null)
                }
              />
            ) : (
              <MoneyField
                id="piece-amount"
                label="Postage amount"
                value={amount}
                onValue={setAmount}
                error={errors.amount}
              />
            )}
            {mode === 'rate' ? (
              <button type="button" className="button" onClick={() => void readScale()}>
                Weigh on the USB scale
              </button>
            ) : null}
            <TextField
              id="piece-mailing-date"
              label="Mailing date"
              hint="Empty: today. A later day within the window the data center allows."
              type="date"
              value={mailingDate}
              onValue={setMailingDate}
            />
            <p className="postage-total" aria-live="polite">
              Postage: <strong>{postageCents === null ? '—' : formatDollars(postageCents)}</strong>
            </p>
          </fieldset>
          <fieldset>
            <legend>Print</legend>
            {setup.error ? <Notice kind="error">{setup.error}</Notice> : null}
            <div className="row">
              <PrintSetupFields idPrefix="piece" setup={setup} className="grow" />
            </div>
          </fieldset>
          <div className="actions">
            <button type="submit" className="button-primary" disabled={busy}>
              {busy ? 'Printing…' : 'Print postage'}
            </button>
            <button type="button" className="button-secondary" onClick={newPiece}>
              Clear address
            </button>
          </div>
        </form>
        <aside className="card preview" aria-labelledby="preview-title">
          <h2 id="preview-title">Preview</h2>
          <p className="hint">A sample layout; nothing is charged until you print.</p>
          {preview === null ? (
            <p className="muted">Preparing the preview…</p>
          ) : 'svg' in preview ? (
            <img
              className="preview-image"
              alt="Preview of the mail piece with a sample indicium"
              src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(preview.svg)}`}
            />
          ) : (
            <Notice kind="error">The preview is not available: {preview.error}</Notice>
          )}
        </aside>
      </div>
    </section>
  );
}
