/**
 * @module renderer/screens/new-piece
 * Compose one mail piece: recipient (typed, or from the address book), class and weight (postage
 * from the rate table) or a typed amount, the rate comparison of every service for the piece
 * (choosing one fills class and postage), a live SAMPLE preview of the piece, medium and
 * printer; then buy the indicium from the data center and print it, with the return address from
 * the settings. An address the ZIP check disagrees with is shown with the suggestion, and prints
 * only when the mailer ticks "Print the address as written". A retry of the same piece reuses
 * its idempotency key, so it is never charged twice.
 */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import type {
  AddressBookEntry,
  AddressCheckResult,
  DraftRecipient,
  RateOffer,
  Recipient,
} from '../../shared/ipc';
import { isMailClass, type MailClass } from '../../shared/mail-class';
import { formatDollars } from '../../shared/money';
import { CheckboxField, Notice, SelectField, TextField, MoneyField } from '../components/fields';
import { RateCompare } from '../components/rate-compare';
import { MAIL_CLASS_OPTIONS, outputPlace, thermalRequest, toPrinter } from '../options';
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

/** "12x10x6" → inches; null when empty or not three sizes. */
function parseDims(value: string): [number, number, number] | null {
  const parts = value
    .trim()
    .toLowerCase()
    .split(/\s*[x×]\s*/)
    .map(Number);
  return parts.length === 3 && parts.every((n) => Number.isFinite(n) && n > 0 && n <= 200)
    ? (parts as [number, number, number])
    : null;
}

/** The recipient as typed, trimmed, the state in capitals: what is printed and saved. */
function cleanRecipient(recipient: Recipient): Recipient {
  return {
    name: recipient.name.trim(),
    street: recipient.street.trim(),
    ...(recipient.street2?.trim() ? { street2: recipient.street2.trim() } : {}),
    city: recipient.city.trim(),
    state: recipient.state.trim().toUpperCase(),
    zip: recipient.zip.trim(),
  };
}

const addressLine = (a: Recipient) =>
  [a.name, a.street, a.street2, a.city, `${a.state} ${a.zip}`].filter(Boolean).join(', ');

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
  const [dims, setDims] = useState('');
  const [chosen, setChosen] = useState<string | null>(null);
  const [returnAddress, setReturnAddress] = useState<Recipient | null | undefined>(undefined);
  const [book, setBook] = useState<AddressBookEntry[]>([]);
  const [bookQuery, setBookQuery] = useState('');
  const [saveHandle, setSaveHandle] = useState('');
  const [mismatch, setMismatch] = useState<AddressCheckResult | null>(null);
  const [acceptAddress, setAcceptAddress] = useState(false);

  useEffect(() => {
    let live = true;
    void call('settings:get', {}).then((r) => {
      if (live) setReturnAddress(r.ok ? (r.value.returnAddress ?? null) : null);
    });
    return () => {
      live = false;
    };
  }, []);
  useEffect(() => {
    let live = true;
    void call('addressBook:list', bookQuery.trim() ? { query: bookQuery.trim() } : {}).then((r) => {
      if (live && r.ok) setBook(r.value);
    });
    return () => {
      live = false;
    };
  }, [bookQuery]);

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

  const set = (field: keyof DraftRecipient) => (value: string) => {
    setMismatch(null);
    setAcceptAddress(false);
    setRecipient((r) => ({ ...r, [field]: field === 'state' ? value.toUpperCase() : value }));
  };

  const fill = (a: DraftRecipient) => {
    setMismatch(null);
    setAcceptAddress(false);
    setRecipient({ ...EMPTY, ...a, street2: a.street2 ?? '' });
  };

  const choose = (offer: RateOffer) => {
    setChosen(`${offer.mailClass}${offer.packaging ? `:${offer.packaging}` : ''}`);
    setMailClass(offer.mailClass);
    setMode('amount');
    setAmount((offer.postageCents / 100).toFixed(2));
  };

  const saveToBook = async () => {
    const handle = saveHandle.trim();
    const r = await call('addressBook:save', {
      handle,
      address: cleanRecipient(recipient),
    });
    if (r.ok) {
      setNotice({ kind: 'success', text: `Saved in the address book as @${r.value.handle}.` });
      setBookQuery((q) => q);
      const list = await call('addressBook:list', {});
      if (list.ok) setBook(list.value);
    } else setNotice({ kind: 'error', text: r.error.message });
  };

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
    const clean = cleanRecipient(recipient);
    const request = {
      recipient: clean,
      postageCents,
      mailClass,
      ...(mode === 'rate' && weighed.oz !== null ? { weightOz: weighed.oz } : {}),
      media: setup.media,
      printer: toPrinter(setup.printer),
      ...thermalRequest(setup),
      ...(mailingDate ? { mailingDate } : {}),
      ...(acceptAddress ? { acceptAddress: true } : {}),
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
          `Postage of ${formatDollars(postageCents)} issued (piece ${result.value.pieceId}); ` +
          `${outputPlace(setup.format, result.value.pdfPath, result.value.jobId)}.` +
          ` Balance ${formatDollars(result.value.balanceCents)}.` +
          (result.value.trackingNumber ? ` Tracking ${result.value.trackingNumber}.` : ''),
      });
      return;
    }
    if (result.error.code === 'ADDRESS_MISMATCH') {
      // Show what disagrees and the suggestion; the mailer fixes it or confirms it as written.
      const checked = await call('address:check', { address: clean });
      if (checked.ok) setMismatch(checked.value);
      setNotice({ kind: 'error', text: result.error.message });
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
    setMismatch(null);
    setAcceptAddress(false);
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
            <div className="row">
              <TextField
                id="piece-book-search"
                className="grow"
                label="Search the address book"
                autoComplete="off"
                value={bookQuery}
                onValue={setBookQuery}
              />
              <SelectField
                id="piece-book"
                className="grow"
                label="Saved recipient"
                value=""
                onValue={(handle) => {
                  const entry = book.find((e) => e.handle === handle);
                  if (entry) fill(entry.address);
                }}
                options={[
                  {
                    value: '',
                    label: book.length ? 'Choose a saved recipient…' : 'No saved recipients',
                  },
                  ...book.map((e) => ({
                    value: e.handle,
                    label: `@${e.handle}: ${addressLine(e.address)}`,
                  })),
                ]}
              />
            </div>
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
            {mismatch && !mismatch.ok ? (
              <div className="address-check" role="group" aria-label="Address check">
                <p>{mismatch.problems.join('; ')}</p>
                {mismatch.suggestion ? (
                  <button
                    type="button"
                    className="button-secondary"
                    onClick={() => mismatch.suggestion && fill(mismatch.suggestion)}
                  >
                    Use the suggestion: {mismatch.suggestion.city}, {mismatch.suggestion.state}{' '}
                    {mismatch.suggestion.zip}
                  </button>
                ) : null}
                {mismatch.hints.map((h) => (
                  <p key={h} className="hint">
                    {h}
                  </p>
                ))}
                <CheckboxField
                  id="piece-accept-address"
                  label="Print the address as written"
                  hint="The check is kept with the piece."
                  checked={acceptAddress}
                  onChecked={setAcceptAddress}
                />
              </div>
            ) : null}
            <div className="row">
              <TextField
                id="piece-save-handle"
                className="grow"
                label="Save recipient as (handle)"
                autoComplete="off"
                value={saveHandle}
                onValue={setSaveHandle}
                maxLength={40}
              />
              <button
                type="button"
                className="button-secondary"
                disabled={saveHandle.trim() === ''}
                onClick={() => void saveToBook()}
              >
                Save to address book
              </button>
            </div>
          </fieldset>
          <fieldset>
            <legend>From</legend>
            <p aria-label="Return address">
              {returnAddress === undefined
                ? 'Loading…'
                : returnAddress === null
                  ? 'No return address: set one in Settings.'
                  : addressLine(returnAddress)}
            </p>
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
            <TextField
              id="piece-weight"
              label="Weight (ounces)"
              inputMode="decimal"
              value={weight}
              onValue={setWeight}
              error={
                mode === 'rate'
                  ? (errors.weight ?? scaleError ?? (quote?.key === quoteKey ? quote.error : null))
                  : (scaleError ?? undefined)
              }
            />
            {mode === 'amount' ? (
              <MoneyField
                id="piece-amount"
                label="Postage amount"
                value={amount}
                onValue={setAmount}
                error={errors.amount}
              />
            ) : null}
            <button type="button" className="button" onClick={() => void readScale()}>
              Weigh on the USB scale
            </button>
            <TextField
              id="piece-dims"
              label="Size in inches (optional, e.g. 12x10x6)"
              autoComplete="off"
              value={dims}
              onValue={setDims}
            />
            <RateCompare
              destinationZip={recipient.zip}
              weightOz={weighed.oz}
              dimsIn={parseDims(dims)}
              chosen={chosen}
              onChoose={choose}
            />
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
