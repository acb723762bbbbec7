/**
 * The `vpm` CLI end to end, as a mailer uses it: `vpm` command lines against a real data center
 * process (HTTPS, boxes, SQLite), printing to a file and to the cups-pdf queue, verifying,
 * history, refund; and batches that are refused whole, then interrupted and resumed. The command
 * lines run in this process (vpmInProcess, each with its own output, input and environment); a
 * real `vpm` process where only a process will do: the batch killed mid-way, and the smoke test
 * of the program's own exit code and output.
 */
import { execFile } from 'node:child_process';
import { spawn } from 'node:child_process';
import { readdir, readFile, stat, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  VPM_ARGS,
  startDataCenterProcess,
  vpm as vpmProcess,
  vpmInProcess as vpm,
  type DataCenterProcess,
} from '../helpers/cli';

const run = promisify(execFile);
let dc: DataCenterProcess;
let home: string;
let env: NodeJS.ProcessEnv;

const balance = async (): Promise<{
  balanceCents: number;
  ascendingCents: number;
  creditedCents: number;
}> => {
  const r = await vpm(['balance', '--json'], { env });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout);
};

async function newestSpoolPdf(jobNumber: string, since: number): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const found: string[] = [];
    for (const dir of await readdir('/var/spool/cups-pdf').catch(() => [] as string[])) {
      const full = join('/var/spool/cups-pdf', dir);
      for (const f of await readdir(full).catch(() => [] as string[])) {
        const path = join(full, f);
        if (
          f.endsWith('.pdf') &&
          (await stat(path)).mtimeMs >= since &&
          (f.includes(`job_${jobNumber}`) || f.includes(`-${jobNumber}`))
        )
          found.push(path);
      }
    }
    // cups-pdf creates the file first and fills it after: wait until it reads as a whole PDF.
    if (
      found[0] &&
      (await run('pdfinfo', [found[0]]).then(
        () => true,
        () => false,
      ))
    )
      return found[0];
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`cups-pdf wrote no PDF for job ${jobNumber}`);
}

beforeAll(async () => {
  dc = await startDataCenterProcess();
  home = await mkdtemp(join(tmpdir(), 'vpm-home-'));
  env = { VPM_HOME: home, VPM_KEYCHAIN: 'none', VPM_SERVER: dc.url, VPM_CA: dc.caPath };
  const up = await vpm(
    ['signup', '--user', 'office1', '--zip', '30301', '--name', 'Office One', '--password-stdin'],
    { env, input: 'a long office password\n' },
  );
  expect(up.code, up.stderr).toBe(0);
  const login = await vpm(['login', '--user', 'office1', '--password-stdin'], {
    env,
    input: 'a long office password\n',
  });
  expect(login.code, login.stderr).toBe(0);
  expect(login.stdout).toContain('No OS keychain here');
}, 120_000);

afterAll(async () => {
  await dc?.stop();
});

describe('vpm CLI', { timeout: 300_000 }, () => {
  it('refills, prints to a file and to the cups-pdf queue, verifies, lists history and refunds', async () => {
    const card = { env, input: '4242 4242 4242 4242\n' };
    expect((await vpm(['refill', '50.00', '--card-stdin'], card)).code).toBe(0);
    expect(await balance()).toMatchObject({
      balanceCents: 5000,
      ascendingCents: 0,
      creditedCents: 5000,
    });

    const pdf = join(home, 'one.pdf');
    const printed = await vpm(
      [
        'print',
        '--to',
        'Ann Lee, 1 Main St, Springfield, IL 62701',
        '--postage',
        '0.78',
        '--media',
        'env10',
        '--out',
        pdf,
      ],
      { env },
    );
    expect(printed.code, printed.stderr).toBe(0);
    const pieceId = /Piece ([0-9a-f-]{36})/.exec(printed.stdout)?.[1] as string;
    expect(pieceId).toBeTruthy();
    expect((await run('pdfinfo', [pdf])).stdout).toMatch(/Page size:\s+684 x 297 pts/);

    const verified = await vpm(['verify', pdf], { env });
    expect(verified.stdout).toMatch(/^valid/);
    expect(verified.code).toBe(0);
    // Verifying changes nothing; the post office's acceptance scan (its own credential) uses it.
    expect((await vpm(['verify', pdf], { env })).stdout).toMatch(/^valid/);
    const issued = await vpm(['datacenter', 'scanner-token', '--data', dc.dir, 'cli-post']);
    expect(issued.code, issued.stderr).toBe(0);
    const scannerToken = /: (\S+)$/m.exec(issued.stdout)?.[1] as string;
    // Without the credential, or offline, --accept refuses and records nothing.
    expect((await vpm(['verify', pdf, '--accept', '--scanner-token-stdin'], { env })).code).toBe(2);
    expect((await vpm(['verify', pdf], { env })).stdout).toMatch(/^valid/);
    const accepted = await vpm(['verify', pdf, '--accept', '--scanner-token-stdin'], {
      env,
      input: `${scannerToken}\n`,
    });
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(accepted.stdout).toContain(`accepted: piece ${pieceId} scanned as used`);
    const scannedAgain = await vpm(['verify', pdf, '--accept', '--scanner-token-stdin'], {
      env,
      input: `${scannerToken}\n`,
    });
    expect(scannedAgain.code).toBe(5);
    const again = await vpm(['verify', pdf], { env });
    expect(again.stdout).toMatch(/^duplicate/);
    expect(again.code).toBe(5);

    const since = Date.now() - 1000;
    const queued = await vpm(
      ['print', '--to', 'Bo Diaz, 9 Elm Rd, Austin, TX 73301', '--weight', '2', '--printer', 'PDF'],
      { env },
    );
    expect(queued.code, queued.stderr).toBe(0);
    const job = /as job (\S+)\./.exec(queued.stdout)?.[1] as string;
    expect(job).toMatch(/^PDF-\d+$/);
    const spooled = await newestSpoolPdf(job.split('-')[1] as string, since);
    expect((await run('pdfinfo', [spooled])).stdout).toMatch(/Pages:\s+1/);

    const { balanceCents, ascendingCents } = await balance();
    expect(ascendingCents).toBe(78 + 107);

    // A reprint gives the same indicium again and charges nothing.
    const reprintPdf = join(home, 'reprint.pdf');
    const reprinted = await vpm(['reprint', pieceId, '--out', reprintPdf], { env });
    expect(reprinted.code, reprinted.stderr).toBe(0);
    const symbol = async (file: string) => {
      await run('pdftoppm', ['-r', '200', '-png', '-singlefile', file, `${file}-page`]);
      return (
        await run('dmtxread', ['-N1', `${file}-page.png`], { encoding: 'buffer' })
      ).stdout.toString('hex');
    };
    expect(await symbol(reprintPdf)).toBe(await symbol(pdf));
    expect((await balance()).ascendingCents).toBe(ascendingCents);
    expect(balanceCents).toBe(5000 - 78 - 107);

    const history = await vpm(['history'], { env });
    expect(history.stdout).toContain(pieceId);
    expect(history.stdout).toContain('(2 pieces)');
    const csv = await vpm(['history', '--csv'], { env });
    expect(csv.stdout.split('\n')[0]).toBe(
      'piece_id,created_at,mailing_date,mail_class,destination_zip,postage,ascending_register,status,tracking_number',
    );

    // The first piece was scanned (verified) already: no refund for used postage.
    const refused = await vpm(['refund', pieceId], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/already scanned/);
    const secondId = / {2}([0-9a-f-]{36}) +\$1\.07/.exec(history.stdout)?.[1] as string;
    const refunded = await vpm(['refund', secondId], { env });
    expect(refunded.code, refunded.stderr).toBe(0);
    expect((await balance()).balanceCents).toBe(5000 - 78);
    const twice = await vpm(['refund', secondId], { env });
    expect(twice.code).toBe(1);
  });

  it('refuses a batch with a bad row by its line number and charges nothing; an interrupted batch resumes charging each piece once', async () => {
    const before = await balance();
    const rows = Array.from(
      { length: 100 },
      (_, i) =>
        `Person ${i},${i + 1} Oak St,Denver,CO,802${String((i % 9) + 1).padStart(2, '0')},0.78,first-class`,
    );
    rows[56] = 'Person 56,57 Oak St,Denver,CO,8020X,0.78,first-class';
    const file = join(home, 'batch.csv');
    await writeFile(file, ['name,street,city,state,zip,postage,class', ...rows].join('\n'));
    const bad = await vpm(['batch', file, '--out', join(home, 'batch.pdf')], { env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('line 58: ZIP "8020X" is not 5 digits or ZIP+4');
    expect(await balance()).toEqual(before);

    rows[56] = 'Person 56,57 Oak St,Denver,CO,80256,0.78,first-class';
    await writeFile(file, ['name,street,city,state,zip,postage,class', ...rows].join('\n'));
    await vpm(['refill', '100', '--card-stdin'], { env, input: '4242424242424242\n' });
    const funded = await balance();

    // Kill the batch after some chunks were paid.
    const child = spawn(
      process.execPath,
      [...VPM_ARGS, 'batch', file, '--out', join(home, 'batch.pdf')],
      {
        env: { ...process.env, ...env, VPM_BATCH_CHUNK: '10' },
      },
    );
    await new Promise<void>((done) => {
      let err = '';
      child.stderr.on('data', (d) => {
        err += d;
        if (/ (3\d|4\d)\/100/.test(err)) {
          child.kill('SIGKILL');
          done();
        }
      });
      child.on('exit', () => done());
    });
    const partial = await balance();
    expect(partial.ascendingCents - funded.ascendingCents).toBeGreaterThan(0);
    expect(partial.ascendingCents - funded.ascendingCents).toBeLessThan(100 * 78);

    const plain = await vpm(['batch', file, '--out', join(home, 'batch.pdf')], { env });
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain('--resume');

    const resumed = await vpm(['batch', file, '--out', join(home, 'batch.pdf'), '--resume'], {
      env: { ...env, VPM_BATCH_CHUNK: '10' },
    });
    expect(resumed.code, resumed.stderr).toBe(0);
    // The command line's own environment sets its chunk, in this process too.
    expect(resumed.stderr).toContain('Buying postage 10/100\n');
    const after = await balance();
    expect(after.ascendingCents - funded.ascendingCents).toBe(100 * 78);
    expect(after.balanceCents).toBe(funded.balanceCents - 100 * 78);
    expect((await run('pdfinfo', [join(home, 'batch.pdf')])).stdout).toMatch(/Pages:\s+100/);
  });

  it('writes the HTML print document with --format html (a reprint gives the same document), and refuses it for a printer queue before charging', async () => {
    const before = await balance();
    const to = ['--to', 'Cy Ames, 4 Pine Rd, Boise, ID 83702', '--postage', '0.78'];
    const queue = await vpm(['print', ...to, '--format', 'html', '--printer', 'PDF'], { env });
    expect(queue.code).toBe(2);
    expect(queue.stderr).toContain('--format html: give --out FILE.html');

    const file = join(home, 'label.html');
    const printed = await vpm(
      ['print', ...to, '--media', 'label4x6', '--format', 'html', '--out', file],
      { env },
    );
    expect(printed.code, printed.stderr).toBe(0);
    expect(printed.stdout).toContain(`HTML written to ${file}.`);
    const html = await readFile(file, 'utf8');
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain('@page{size:288pt 432pt;margin:0}');
    const pieceId = /Piece ([0-9a-f-]{36})/.exec(printed.stdout)?.[1] as string;
    const again = join(home, 'label-reprint.html');
    const reprinted = await vpm(
      ['reprint', pieceId, '--media', 'label4x6', '--format', 'html', '--out', again],
      { env },
    );
    expect(reprinted.code, reprinted.stderr).toBe(0);
    expect(await readFile(again, 'utf8')).toBe(html);
    // One piece charged: the refused command charged nothing, the reprint nothing.
    expect((await balance()).ascendingCents).toBe(before.ascendingCents + 78);
  });

  it('as its own process (the smoke test), tells a signed-out user what to do, with exit code 3', async () => {
    const other = await mkdtemp(join(tmpdir(), 'vpm-empty-'));
    const r = await vpmProcess(['balance'], {
      env: { VPM_HOME: other, VPM_KEYCHAIN: 'none', VPM_SERVER: dc.url, VPM_CA: dc.caPath },
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/vpm login/);
    // Signed in, the process reads the account over HTTPS, prints it and exits by itself.
    const signedIn = await vpmProcess(['balance', '--json'], { env });
    expect(signedIn.code, signedIn.stderr).toBe(0);
    expect(JSON.parse(signedIn.stdout)).toEqual(await balance());
  });

  it('vpm datacenter alerts lists no alerts on a clean data center', async () => {
    const r = await vpm(['datacenter', 'alerts', '--data', dc.dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('No fraud alerts.');
  });

  it('vpm demo makes a SAMPLE PDF that the verifier calls a demo sample', async () => {
    const out = join(home, 'demo.pdf');
    const r = await vpm(['demo', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Verifier: demo sample/);
    expect(r.stderr).toMatch(/Starting a postal authority for the demo/);
    // The boxes' own log lines (the meter box pins the postal CA) stay out of the demo's messages.
    expect(r.stderr).not.toMatch(/\[box /);
    expect((await readFile(out)).subarray(0, 5).toString()).toBe('%PDF-');
  });
});
