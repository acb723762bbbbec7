/**
 * Test helpers for the print driver: running poppler and libdmtx tools, pieces with real signed
 * indicia, and finding the output file of a cups-pdf job.
 */
import { execFile } from 'node:child_process';
import { readFile, readdir, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { Address, PrintPiece } from '../../../client/print';
import type { IndiciumFields } from '../../../shared/indicium';
import { fieldsFor, signIndicium, type Meter } from '../../fixtures/indicium/meter-pki';

export function run(
  file: string,
  args: string[],
  opts: { encoding?: 'buffer' | 'utf8'; timeout?: number } = {},
): Promise<{ stdout: Buffer; stderr: string; code: number }> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { encoding: 'buffer', timeout: opts.timeout ?? 120_000, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ stdout, stderr: stderr.toString('utf8'), code });
      },
    );
  });
}

/** pdfinfo's page count and the size of every page, in points. */
export async function pdfInfo(
  file: string,
): Promise<{ pages: number; sizes: Array<[number, number]> }> {
  const info = (await run('pdfinfo', ['-f', '1', '-l', '1000000', file])).stdout.toString();
  const pages = Number(/^Pages:\s+(\d+)/m.exec(info)?.[1]);
  const sizes = [...info.matchAll(/^Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts/gm)].map(
    (m) => [Number(m[1]), Number(m[2])] as [number, number],
  );
  return { pages, sizes };
}

/** Decodes the first Data Matrix in an image with dmtxread; the bytes as hex (binary safe). */
export async function dmtxHex(png: string): Promise<string | undefined> {
  // No -n: dmtxread then prints the decoded bytes exactly, with nothing appended.
  const out = await run('dmtxread', ['-N', '1', '-m', '60000', png], { timeout: 90_000 });
  return out.stdout.length ? out.stdout.toString('hex') : undefined;
}

/** Rasterizes one page of a PDF to PNG at 200 dpi, optionally cropped (pixels). */
export async function rasterize(
  pdf: string,
  outPrefix: string,
  opts: { page?: number; crop?: { x: number; y: number; w: number; h: number } } = {},
): Promise<string> {
  const page = String(opts.page ?? 1);
  const args = ['-r', '200', '-png', '-singlefile', '-f', page, '-l', page];
  if (opts.crop) {
    const c = opts.crop;
    args.push('-x', String(c.x), '-y', String(c.y), '-W', String(c.w), '-H', String(c.h));
  }
  const result = await run('pdftoppm', [...args, pdf, outPrefix]);
  if (result.code !== 0) throw new Error(`pdftoppm failed: ${result.stderr}`);
  return `${outPrefix}.png`;
}

export const RECIPIENT: Address = {
  name: 'Ada Lovelace',
  street: '12 Analytical Way',
  city: 'Alameda',
  state: 'CA',
  zip: '94501-3301',
};

export const RETURN_ADDRESS: Address = {
  name: 'Charles Babbage',
  company: 'Difference Engines Ltd',
  street: '1 Engine St',
  city: 'Washington',
  state: 'DC',
  zip: '20260',
};

export async function pieceFor(
  meter: Meter,
  overrides: Partial<IndiciumFields> = {},
): Promise<PrintPiece> {
  return {
    indicium: await signIndicium(fieldsFor(meter, overrides), meter.keys.privateKey),
    recipient: RECIPIENT,
  };
}

/** Where cups-pdf writes this user's jobs (from /etc/cups/cups-pdf.conf), plus the anonymous dir. */
export async function cupsPdfDirs(): Promise<string[]> {
  const conf = await readFile('/etc/cups/cups-pdf.conf', 'utf8').catch(() => '');
  const value = (key: string, fallback: string): string =>
    new RegExp(`^${key}\\s+(\\S+)`, 'm').exec(conf)?.[1] ?? fallback;
  const user = userInfo().username;
  const out = value('Out', '/var/spool/cups-pdf/${USER}')
    .replace('${USER}', user)
    .replace('${HOME}', userInfo().homedir);
  return [out, value('AnonDirName', '/var/spool/cups-pdf/ANONYMOUS')];
}

/** Waits for cups-pdf's output file of a job (named ...-job_<N>.pdf) to appear and settle. */
export async function waitForCupsPdf(jobId: string, timeoutMs = 60_000): Promise<string> {
  const n = jobId.slice(jobId.lastIndexOf('-') + 1);
  const suffix = `job_${n}.pdf`;
  const deadline = Date.now() + timeoutMs;
  let lastSize = -1;
  while (Date.now() < deadline) {
    for (const dir of await cupsPdfDirs()) {
      const files = await readdir(dir).catch(() => [] as string[]);
      const hit = files.find((f) => f.endsWith(`-${suffix}`) || f === suffix);
      if (hit) {
        const path = join(dir, hit);
        const size = (await stat(path)).size;
        if (size > 0 && size === lastSize) return path;
        lastSize = size;
      }
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`cups-pdf wrote no file for job ${jobId} within ${timeoutMs} ms`);
}
