/**
 * @module renderer/screens/dashboard
 * The meter at a glance: balance (descending register), postage used (ascending register),
 * device ID, a low-balance warning; refill, and the low-balance threshold with auto-refill.
 */
import { useState, type FormEvent } from 'react';
import { MIN_REFILL_CENTS } from '../../shared/domain';
import type { Account } from '../../shared/ipc';
import { formatDecimal, formatDollars } from '../../shared/money';
import { CheckboxField, MoneyField, Notice, TextField } from '../components/fields';
import { cleanCardNumber, compact, parseMoney, type Errors } from '../validate';
import { call, placeError } from '../vpm';

const QUICK_REFILLS = [2000, 5000, 10000];

export function Dashboard(props: {
  account: Account;
  onAccount: (account: Account) => void;
  onNewPiece: () => void;
}) {
  const { account, onAccount } = props;
  const low = account.balanceCents < account.lowBalanceCents;
  return (
    <section aria-labelledby="dashboard-title">
      <h1 id="dashboard-title" tabIndex={-1}>
        Dashboard
      </h1>
      {low ? (
        <Notice kind="warning">
          Low balance: {formatDollars(account.balanceCents)} left, below your threshold of{' '}
          {formatDollars(account.lowBalanceCents)}. Refill to keep printing.
        </Notice>
      ) : null}
      <div className="stats">
        <div className="stat">
          <span className="stat-label" id="stat-balance">
            Balance
          </span>
          <span className="stat-value" aria-labelledby="stat-balance">
            {formatDollars(account.balanceCents)}
          </span>
        </div>
        <div className="stat">
          <span className="stat-label">Postage used</span>
          <span className="stat-value">{formatDollars(account.ascendingCents)}</span>
        </div>
        <div className="stat">
          <span className="stat-label">Meter (device ID)</span>
          <span className="stat-value mono">{account.meterSerial}</span>
        </div>
        <div className="stat">
          <span className="stat-label">Origin ZIP</span>
          <span className="stat-value mono">{account.originZip}</span>
        </div>
      </div>
      <div className="actions">
        <button type="button" className="button-primary" onClick={props.onNewPiece}>
          New mail piece
        </button>
      </div>
      <div className="columns">
        <RefillForm onAccount={onAccount} />
        <LowBalanceForm account={account} onAccount={onAccount} />
      </div>
    </section>
  );
}

function RefillForm({ onAccount }: { onAccount: (account: Account) => void }) {
  const [amount, setAmount] = useState('');
  const [card, setCard] = useState('');
  const [errors, setErrors] = useState<Errors>({});
  const [notice, setNotice] = useState<{ kind: 'error' | 'success'; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const money = parseMoney(amount, { min: MIN_REFILL_CENTS });
    const cardNumber = cleanCardNumber(card);
    const found = compact({
      amount: money.error,
      card: cardNumber === null ? 'Enter the card number (12 to 19 digits).' : null,
    });
    setErrors(found);
    setNotice(null);
    if (money.cents === null || cardNumber === null) return;
    setBusy(true);
    const result = await call('account:refill', { amountCents: money.cents, cardNumber });
    setBusy(false);
    if (result.ok) {
      onAccount(result.value);
      setAmount('');
      setCard('');
      setNotice({
        kind: 'success',
        text: `Added ${formatDollars(money.cents)}. New balance ${formatDollars(result.value.balanceCents)}.`,
      });
      return;
    }
    const placed = placeError(result.error, ['amountCents', 'cardNumber']);
    setErrors({
      ...(placed.fieldErrors.amountCents ? { amount: placed.fieldErrors.amountCents } : {}),
      ...(placed.fieldErrors.cardNumber ? { card: placed.fieldErrors.cardNumber } : {}),
    });
    if (placed.formError) setNotice({ kind: 'error', text: placed.formError });
  };

  return (
    <form
      className="card"
      aria-labelledby="refill-title"
      onSubmit={(e) => void submit(e)}
      noValidate
    >
      <h2 id="refill-title">Refill</h2>
      {notice ? <Notice kind={notice.kind}>{notice.text}</Notice> : null}
      <div className="quick" role="group" aria-label="Quick amounts">
        {QUICK_REFILLS.map((cents) => (
          <button
            key={cents}
            type="button"
            className="button-chip"
            onClick={() => setAmount(formatDecimal(cents))}
          >
            {formatDollars(cents)}
          </button>
        ))}
      </div>
      <MoneyField
        id="refill-amount"
        label="Refill amount"
        value={amount}
        onValue={setAmount}
        error={errors.amount}
      />
      <TextField
        id="refill-card"
        label="Card number"
        inputMode="numeric"
        autoComplete="cc-number"
        value={card}
        onValue={setCard}
        error={errors.card}
      />
      <div className="actions">
        <button type="submit" className="button-primary" disabled={busy}>
          {busy ? 'Refilling…' : 'Refill'}
        </button>
      </div>
    </form>
  );
}

function LowBalanceForm(props: { account: Account; onAccount: (account: Account) => void }) {
  const { account } = props;
  const [threshold, setThreshold] = useState(formatDecimal(account.lowBalanceCents));
  const [auto, setAuto] = useState(account.autoRefillCents !== null);
  const [autoAmount, setAutoAmount] = useState(
    account.autoRefillCents === null ? '' : formatDecimal(account.autoRefillCents),
  );
  const [errors, setErrors] = useState<Errors>({});
  const [notice, setNotice] = useState<{ kind: 'error' | 'success'; text: string } | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const t = parseMoney(threshold);
    const a = auto ? parseMoney(autoAmount, { min: MIN_REFILL_CENTS }) : null;
    const found = compact({ threshold: t.error, autoAmount: a?.error ?? null });
    setErrors(found);
    setNotice(null);
    if (t.cents === null || (a !== null && a.cents === null)) return;
    const result = await call('account:setLowBalance', {
      thresholdCents: t.cents,
      autoRefillCents: a === null ? null : a.cents,
    });
    if (result.ok) {
      props.onAccount(result.value);
      setNotice({ kind: 'success', text: 'Low-balance settings saved.' });
    } else {
      setNotice({ kind: 'error', text: result.error.message });
    }
  };

  return (
    <form className="card" aria-labelledby="low-title" onSubmit={(e) => void submit(e)} noValidate>
      <h2 id="low-title">Low balance</h2>
      {notice ? <Notice kind={notice.kind}>{notice.text}</Notice> : null}
      <MoneyField
        id="low-threshold"
        label="Warn when the balance is below"
        value={threshold}
        onValue={setThreshold}
        error={errors.threshold}
      />
      <CheckboxField
        id="low-auto"
        label="Refill automatically"
        hint="Uses the card of your last refill."
        checked={auto}
        onChecked={setAuto}
      />
      {auto ? (
        <MoneyField
          id="low-auto-amount"
          label="Automatic refill amount"
          value={autoAmount}
          onValue={setAutoAmount}
          error={errors.autoAmount}
        />
      ) : null}
      <div className="actions">
        <button type="submit" className="button-secondary">
          Save low-balance settings
        </button>
      </div>
    </form>
  );
}
