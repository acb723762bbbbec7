/**
 * @module renderer/screens/history
 * Pieces issued by this meter: search, reprint without charge, refund of unused (misprinted)
 * pieces back to the balance, and a CSV export.
 */
import { useCallback, useEffect, useState } from 'react';
import type { HistoryItem } from '../../shared/ipc';
import { MAIL_CLASSES } from '../../shared/mail-class';
import { formatDollars } from '../../shared/money';
import { formatZip } from '../../shared/zip';
import { Notice, TextField } from '../components/fields';
import { outputPlace, thermalRequest, toPrinter } from '../options';
import { PrintSetupFields } from '../components/print-setup-fields';
import { usePrintSetup } from '../use-print-setup';
import { call } from '../vpm';

const PAGE_SIZE = 25;

export function History(props: { onBalance: (cents: number) => void }) {
  const [query, setQuery] = useState('');
  const [page, setPage] = useState(0);
  const [data, setData] = useState<{ items: HistoryItem[]; total: number } | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [notice, setNotice] = useState<{ kind: 'error' | 'success'; text: string } | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const setup = usePrintSetup();

  const load = useCallback(async (q: string, p: number) => {
    const result = await call('history:list', {
      ...(q.trim() === '' ? {} : { query: q.trim() }),
      page: p,
      pageSize: PAGE_SIZE,
    });
    if (result.ok) {
      setData(result.value);
      setLoadError(null);
    } else {
      setLoadError(result.error.message);
    }
  }, []);

  useEffect(() => {
    const timer = setTimeout(() => void load(query, page), 250);
    return () => clearTimeout(timer);
  }, [query, page, load]);

  const search = (value: string) => {
    setQuery(value);
    setPage(0);
  };

  const reprint = async (item: HistoryItem) => {
    setBusy(item.pieceId);
    setNotice(null);
    const result = await call('history:reprint', {
      pieceId: item.pieceId,
      media: setup.media,
      printer: toPrinter(setup.printer),
      ...thermalRequest(setup),
    });
    setBusy(null);
    setNotice(
      result.ok
        ? {
            kind: 'success',
            text:
              `Reprinted piece ${item.pieceId} at no charge: ` +
              `${outputPlace(setup.format, result.value.pdfPath, result.value.jobId)}.`,
          }
        : { kind: 'error', text: result.error.message },
    );
  };

  const refund = async (item: HistoryItem) => {
    setConfirming(null);
    setBusy(item.pieceId);
    setNotice(null);
    const result = await call('history:refund', { pieceId: item.pieceId });
    setBusy(null);
    if (result.ok) {
      props.onBalance(result.value.balanceCents);
      setNotice({
        kind: 'success',
        text: `Refunded ${formatDollars(item.postageCents)} for piece ${item.pieceId}. Balance ${formatDollars(result.value.balanceCents)}.`,
      });
      await load(query, page);
    } else {
      setNotice({ kind: 'error', text: result.error.message });
    }
  };

  const exportCsv = async () => {
    const result = await call('history:exportCsv', {});
    if (!result.ok) {
      setNotice({ kind: 'error', text: result.error.message });
      return;
    }
    const url = URL.createObjectURL(new Blob([result.value.csv], { type: 'text/csv' }));
    const link = document.createElement('a');
    link.href = url;
    link.download = `postage-history-${new Date().toISOString().slice(0, 10)}.csv`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    setNotice({ kind: 'success', text: 'History exported as CSV.' });
  };

  const pages = data === null ? 1 : Math.max(1, Math.ceil(data.total / PAGE_SIZE));

  return (
    <section aria-labelledby="history-title">
      <h1 id="history-title" tabIndex={-1}>
        History
      </h1>
      <div className="card">
        <div className="row toolbar">
          <TextField
            id="history-search"
            className="grow"
            label="Search history"
            type="search"
            hint="Piece id, tracking number, destination ZIP or mail class."
            value={query}
            onValue={search}
          />
          <PrintSetupFields
            idPrefix="history"
            setup={setup}
            labels={{ media: 'Reprint medium', printer: 'Reprint printer' }}
          />
          <div className="field field-button">
            <button type="button" className="button-secondary" onClick={() => void exportCsv()}>
              Export CSV
            </button>
          </div>
        </div>
        {notice ? <Notice kind={notice.kind}>{notice.text}</Notice> : null}
        {loadError ? <Notice kind="error">{loadError}</Notice> : null}
        {data === null ? (
          <p className="muted">Loading…</p>
        ) : data.items.length === 0 ? (
          <p className="muted">
            {query === '' ? 'No pieces yet.' : 'No pieces match your search.'}
          </p>
        ) : (
          <div className="table-wrap">
            <table>
              <caption className="visually-hidden">Issued pieces</caption>
              <thead>
                <tr>
                  <th scope="col">Date</th>
                  <th scope="col">Piece</th>
                  <th scope="col">Class</th>
                  <th scope="col">To ZIP</th>
                  <th scope="col">Tracking</th>
                  <th scope="col" className="num">
                    Postage
                  </th>
                  <th scope="col">Status</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {data.items.map((item) => (
                  <tr key={item.pieceId}>
                    <td>{new Date(item.createdAt).toLocaleString()}</td>
                    <td className="mono" title={item.pieceId}>
                      {item.pieceId.slice(0, 8)}
                    </td>
                    <td>{MAIL_CLASSES[item.mailClass].label}</td>
                    <td className="mono">{formatZip(item.destinationZip)}</td>
                    <td className="mono">{item.trackingNumber ?? ''}</td>
                    <td className="num">{formatDollars(item.postageCents)}</td>
                    <td>
                      <span
                        className={`badge ${item.status === 'refunded' ? 'badge-muted' : 'badge-ok'}`}
                      >
                        {item.status === 'refunded' ? 'Refunded' : 'Issued'}
                      </span>
                    </td>
                    <td className="row-actions">
                      {item.status === 'issued' ? (
                        <button
                          type="button"
                          className="button-small"
                          disabled={busy === item.pieceId}
                          aria-label={`Reprint piece ${item.pieceId}`}
                          onClick={() => void reprint(item)}
                        >
                          Reprint
                        </button>
                      ) : null}
                      {item.refundable ? (
                        confirming === item.pieceId ? (
                          <>
                            <button
                              type="button"
                              className="button-small button-danger"
                              aria-label={`Confirm refund of piece ${item.pieceId}`}
                              onClick={() => void refund(item)}
                            >
                              Confirm refund
                            </button>
                            <button
                              type="button"
                              className="button-small"
                              onClick={() => setConfirming(null)}
                            >
                              Cancel
                            </button>
                          </>
                        ) : (
                          <button
                            type="button"
                            className="button-small"
                            disabled={busy === item.pieceId}
                            aria-label={`Refund piece ${item.pieceId}`}
                            onClick={() => setConfirming(item.pieceId)}
                          >
                            Refund
                          </button>
                        )
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <nav className="pager" aria-label="History pages">
          <button
            type="button"
            className="button-small"
            disabled={page === 0}
            onClick={() => setPage((p) => p - 1)}
          >
            Previous page
          </button>
          <span>
            Page {page + 1} of {pages}
            {data ? ` · ${data.total} pieces` : ''}
          </span>
          <button
            type="button"
            className="button-small"
            disabled={page + 1 >= pages}
            onClick={() => setPage((p) => p + 1)}
          >
            Next page
          </button>
        </nav>
      </div>
    </section>
  );
}
