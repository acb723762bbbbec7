/**
 * @module renderer/screens/batch
 * A batch from a CSV address list: check it (rows, per-line errors, total postage, no charge),
 * then print every valid row into one PDF with a progress bar. A batch is known by its rows:
 * running the same list after a failure resumes it, so finished rows are not charged twice, and
 * a list printed in full before is printed again only after the mailer confirms "print again".
 */
import { useEffect, useState, type ChangeEvent } from 'react';
import { BATCH_CSV_COLUMNS, type IpcValue } from '../../shared/ipc';
import { MAIL_CLASSES } from '../../shared/mail-class';
import { formatDollars } from '../../shared/money';
import { Notice } from '../components/fields';
import { outputPlace, thermalRequest, toPrinter } from '../options';
import { PrintSetupFields } from '../components/print-setup-fields';
import { usePrintSetup } from '../use-print-setup';
import { call, newKey } from '../vpm';

type Checked = IpcValue<'batch:validate'>;
const MAX_FILE_BYTES = 20_000_000;

export function Batch(props: { onBalance: (cents: number) => void }) {
  const [file, setFile] = useState<{ name: string; csv: string; batchId: string } | null>(null);
  const [checked, setChecked] = useState<Checked | null>(null);
  const [fileError, setFileError] = useState<string | null>(null);
  const [progress, setProgress] = useState<{ done: number; total: number } | null>(null);
  const [notice, setNotice] = useState<{ kind: 'error' | 'success'; text: string } | null>(null);
  const [running, setRunning] = useState(false);
  const [printed, setPrinted] = useState(false);
  /** The data center side said this list was printed before: ask before charging it again. */
  const [askAgain, setAskAgain] = useState<string | null>(null);
  const setup = usePrintSetup();

  useEffect(() => {
    if (file === null) return;
    return window.vpm.onBatchProgress((p) => {
      if (p.batchId === file.batchId) setProgress({ done: p.done, total: p.total });
    });
  }, [file]);

  const choose = async (event: ChangeEvent<HTMLInputElement>) => {
    const chosen = event.target.files?.[0];
    setChecked(null);
    setNotice(null);
    setProgress(null);
    setFileError(null);
    setFile(null);
    setPrinted(false);
    setAskAgain(null);
    if (chosen === undefined) return;
    if (chosen.size > MAX_FILE_BYTES) {
      setFileError('This file is larger than 20 MB; split it into smaller batches.');
      return;
    }
    const csv = await chosen.text();
    if (csv.trim() === '') {
      setFileError('This file is empty.');
      return;
    }
    setFile({ name: chosen.name, csv, batchId: newKey() });
    const result = await call('batch:validate', { csv });
    if (result.ok) setChecked(result.value);
    else setFileError(result.error.message);
  };

  const validRows =
    checked === null ? 0 : checked.rows - new Set(checked.errors.map((e) => e.line)).size;

  const run = async (again = false) => {
    if (file === null || checked === null) return;
    setRunning(true);
    setNotice(null);
    setAskAgain(null);
    setProgress({ done: 0, total: validRows });
    const result = await call('batch:run', {
      csv: file.csv,
      media: setup.media,
      printer: toPrinter(setup.printer),
      ...thermalRequest(setup),
      batchId: file.batchId,
      ...(again ? { again: true } : {}),
    });
    setRunning(false);
    if (!result.ok && result.error.code === 'BATCH_ALREADY_PRINTED') {
      setProgress(null);
      setAskAgain(result.error.message);
      return;
    }
    if (result.ok) {
      props.onBalance(result.value.balanceCents);
      setPrinted(true);
      setProgress({ done: result.value.pieces, total: result.value.pieces });
      setNotice({
        kind: 'success',
        text:
          `Printed ${result.value.pieces} pieces in one job: ` +
          `${outputPlace(setup.format, result.value.pdfPath, result.value.jobId)}.` +
          ` Balance ${formatDollars(result.value.balanceCents)}.`,
      });
    } else {
      setNotice({
        kind: 'error',
        text: `${result.error.message} Run the batch again to resume; finished pieces are not charged twice.`,
      });
    }
  };

  const errorsByLine = new Map<number, string[]>();
  for (const e of checked?.errors ?? []) {
    errorsByLine.set(e.line, [...(errorsByLine.get(e.line) ?? []), e.message]);
  }
  const itemLines = new Set(checked?.items.map((i) => i.line));
  const orphanErrors = checked?.errors.filter((e) => !itemLines.has(e.line)) ?? [];

  return (
    <section aria-labelledby="batch-title">
      <h1 id="batch-title" tabIndex={-1}>
        Batch
      </h1>
      <div className="card">
        <div className="field">
          <label htmlFor="batch-file">CSV address list</label>
          <input
            id="batch-file"
            type="file"
            accept=".csv,text/csv"
            onChange={(e) => void choose(e)}
            aria-describedby={`batch-file-hint${fileError ? ' batch-file-error' : ''}`}
            aria-invalid={fileError ? true : undefined}
          />
          <p id="batch-file-hint" className="hint">
            One row per piece with a header row: <code>{BATCH_CSV_COLUMNS.join(',')}</code>. Postage
            is quoted from the weight when the postage column is empty. Every address is checked
            against its ZIP first; set <code>accept_address</code> to yes to keep one as written.
          </p>
          {fileError ? (
            <p id="batch-file-error" className="field-error">
              {fileError}
            </p>
          ) : null}
        </div>
      </div>

      {checked && file ? (
        <div className="card">
          <h2>{file.name}</h2>
          <p className="summary" role="status">
            {checked.rows} rows,{' '}
            {checked.errors.length === 0 ? 'no errors' : `${checked.errors.length} with errors`},
            total postage {formatDollars(checked.totalCents)}.
          </p>
          {orphanErrors.length > 0 ? (
            <Notice kind="error">
              <ul>
                {orphanErrors.map((e) => (
                  <li key={`${e.line}-${e.message}`}>
                    Line {e.line}: {e.message}
                  </li>
                ))}
              </ul>
            </Notice>
          ) : null}
          <div className="table-wrap">
            <table>
              <caption className="visually-hidden">Rows of the batch</caption>
              <thead>
                <tr>
                  <th scope="col">Line</th>
                  <th scope="col">Name</th>
                  <th scope="col">City</th>
                  <th scope="col">State</th>
                  <th scope="col">ZIP</th>
                  <th scope="col">Class</th>
                  <th scope="col" className="num">
                    Postage
                  </th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                {checked.items.map((row) => {
                  const rowErrors = errorsByLine.get(row.line);
                  return (
                    <tr key={row.line} className={rowErrors ? 'row-error' : undefined}>
                      <td>{row.line}</td>
                      <td>{row.name}</td>
                      <td>{row.city}</td>
                      <td>{row.state}</td>
                      <td className="mono">{row.zip}</td>
                      <td>{row.mailClass === null ? '—' : MAIL_CLASSES[row.mailClass].label}</td>
                      <td className="num">
                        {row.postageCents === null ? '—' : formatDollars(row.postageCents)}
                      </td>
                      <td>
                        {rowErrors ? (
                          <span className="badge badge-error">Error: {rowErrors.join('; ')}</span>
                        ) : (
                          <span className="badge badge-ok">OK</span>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          {checked.items.length < checked.rows ? (
            <p className="hint">Showing the first {checked.items.length} rows.</p>
          ) : null}
          <div className="row">
            <PrintSetupFields idPrefix="batch" setup={setup} className="grow" />
          </div>
          {progress ? (
            <div className="field">
              <label htmlFor="batch-progress">Batch progress</label>
              <progress
                id="batch-progress"
                max={Math.max(progress.total, 1)}
                value={progress.done}
              />
              <p className="hint" aria-live="polite">
                {progress.done} of {progress.total} pieces
              </p>
            </div>
          ) : null}
          {notice ? <Notice kind={notice.kind}>{notice.text}</Notice> : null}
          {askAgain ? (
            <Notice kind="warning">
              <p>
                This list was printed in full before. Printing it again buys new postage for every
                row and charges {formatDollars(checked.totalCents)} again. To print a piece again
                for free, reprint it from the history.
              </p>
              <div className="actions">
                <button type="button" className="button-primary" onClick={() => void run(true)}>
                  Print again and charge {formatDollars(checked.totalCents)}
                </button>
                <button type="button" onClick={() => setAskAgain(null)}>
                  Cancel
                </button>
              </div>
            </Notice>
          ) : null}
          <div className="actions">
            <button
              type="button"
              className="button-primary"
              disabled={
                running ||
                printed ||
                askAgain !== null ||
                validRows === 0 ||
                checked.errors.length > 0
              }
              onClick={() => void run()}
            >
              {running
                ? 'Printing…'
                : printed
                  ? 'Batch printed'
                  : `Print ${validRows} ${validRows === 1 ? 'piece' : 'pieces'}`}
            </button>
          </div>
          {checked.errors.length > 0 ? (
            <p className="hint">
              Nothing is printed while a row has an error: fix the file, then choose it again.
            </p>
          ) : null}
        </div>
      ) : null}
    </section>
  );
}
