/**
 * @module renderer/components/rate-compare
 * The rate comparison of the new-piece screen: every service for the piece (from the meter's
 * origin ZIP to the recipient's, by weight and, when given, size) with its zone and price,
 * cheapest first, and why the others cannot take it. Choosing a row fills the class and postage.
 */
import { useEffect, useState } from 'react';
import type { RateComparison, RateOffer } from '../../shared/ipc';
import { formatDollars } from '../../shared/money';
import { call } from '../vpm';
import { Notice } from './fields';

export function RateCompare(props: {
  destinationZip: string;
  weightOz: number | null;
  dimsIn: [number, number, number] | null;
  chosen: string | null;
  onChoose: (offer: RateOffer) => void;
}) {
  const { destinationZip, weightOz, dimsIn } = props;
  const [answer, setAnswer] = useState<{
    key: string;
    value: RateComparison | { error: string };
  } | null>(null);
  const key = JSON.stringify([destinationZip.trim(), weightOz, dimsIn]);
  const ready = /^\d{5}(-?\d{4})?$/.test(destinationZip.trim()) && weightOz !== null;
  useEffect(() => {
    const [zip, oz, dims] = JSON.parse(key) as [
      string,
      number | null,
      [number, number, number] | null,
    ];
    if (!/^\d{5}(-?\d{4})?$/.test(zip) || oz === null) return;
    let live = true;
    const timer = setTimeout(() => {
      void call('rates:compare', {
        destinationZip: zip,
        weightOz: oz,
        ...(dims ? { dimsIn: dims } : {}),
      }).then((r) => {
        if (live) setAnswer({ key, value: r.ok ? r.value : { error: r.error.message } });
      });
    }, 250);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [key]);

  const result = ready && answer?.key === key ? answer.value : null;
  if (!ready)
    return <p className="hint">Enter the ZIP code and the weight to compare the services.</p>;
  if (result === null) return <p className="muted">Comparing the services…</p>;
  if ('error' in result) return <Notice kind="error">Rates: {result.error}</Notice>;
  const offerId = (o: RateOffer) => `${o.mailClass}${o.packaging ? `:${o.packaging}` : ''}`;
  return (
    <div className="rate-compare">
      <p className="hint">
        Zone {result.zone}{' '}
        {result.zoneBasis === 'chart'
          ? '(official zone chart)'
          : `(${result.miles ?? '?'} miles${result.zoneBasis === 'territory' ? ', territory' : ''})`}
        ; rate table {result.table.version}, effective {result.table.effectiveDate}
        {result.table.from === 'shipped' ? ' (shipped with the app)' : ''}
        {result.table.from === 'cache' ? ' (cached copy)' : ''}.
      </p>
      <table aria-label="Rate comparison">
        <thead>
          <tr>
            <th scope="col">Service</th>
            <th scope="col">Zone</th>
            <th scope="col">Postage</th>
            <th scope="col">
              <span className="visually-hidden">Choose</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {result.offers.map((o) => (
            <tr key={offerId(o)} aria-selected={props.chosen === offerId(o)}>
              <td>
                {o.label}
                {o.packagingLabel ? `, ${o.packagingLabel}` : ''}
              </td>
              <td>{o.zone ?? '—'}</td>
              <td>{formatDollars(o.postageCents)}</td>
              <td>
                <button
                  type="button"
                  className="button-secondary"
                  aria-label={`Choose ${o.label}${o.packagingLabel ? `, ${o.packagingLabel}` : ''} at ${formatDollars(o.postageCents)}`}
                  onClick={() => props.onChoose(o)}
                >
                  {props.chosen === offerId(o) ? 'Chosen' : 'Choose'}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {result.offers.length === 0 ? (
        <p className="muted">No service in the table prices this piece.</p>
      ) : null}
      {result.unavailable.length > 0 ? (
        <ul className="muted rate-unavailable">
          {result.unavailable.map((u) => (
            <li key={u.mailClass}>{u.reason}</li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
