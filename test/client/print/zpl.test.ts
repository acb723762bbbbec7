/**
 * Tests of the ZPL II output (client/print/zpl.ts) with a ZPL renderer nobody here wrote
 * (zpl-renderer-js, the Zebrash engine compiled to WebAssembly) at 203 and 300 dpi: dmtxread
 * decodes the indicium's exact bytes from the rendered label, zbarimg the IMpb (GS1-128) from the
 * printer's own ^BC; the ^GF symbol is a whole number of dots a module; field data escapes ZPL's
 * command characters; and a batch goes raw through a real CUPS queue to a socket printer (a TCP
 * listener standing in for a Zebra's port 9100), which receives exactly the ZPL bytes.
 */
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  labelZpl,
  printZpl,
  renderZplToFile,
  zplGs1Data,
  type PrintPiece,
} from '../../../client/print';
import { makeTrackingNumber } from '../../../shared/tracking';
import { makePki, type Meter } from '../../fixtures/indicium/meter-pki';
import { RETURN_ADDRESS, dmtxHex, pieceFor, run } from './helpers';

interface ZplApi {
  zplToBase64Async(
    zpl: string,
    widthMm?: number,
    heightMm?: number,
    dpmm?: number,
  ): Promise<string>;
}

let dir: string;
let piece: PrintPiece;
let zebrash: ZplApi;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vpm-zpl-test-'));
  const meter = (await makePki()).meters[0] as Meter;
  piece = {
    ...(await pieceFor(meter, { mailClass: 'priority', destinationZip: '945013301' })),
    tracking: makeTrackingNumber('priority', '901234567', 77),
  };
  // zpl-renderer-js is CommonJS with the WebAssembly inlined; `ready` resolves once Go's runtime
  // has started inside it.
  const mod = createRequire(import.meta.url)('zpl-renderer-js') as {
    ready: Promise<{ api: ZplApi }>;
  };
  zebrash = (await mod.ready).api;
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function renderPng(zpl: string, dpi: 203 | 300, name: string): Promise<string> {
  const png = await zebrash.zplToBase64Async(zpl, 101.6, 152.4, dpi === 203 ? 8 : 12);
  const file = join(dir, `${name}.png`);
  await writeFile(file, Buffer.from(png, 'base64'));
  return file;
}

async function zbarCode128(png: string): Promise<{ data: string; gs1: boolean }> {
  const args = ['-q', '-Sdisable', '-Scode128.enable'];
  const raw = (await run('zbarimg', [...args, '--raw', png])).stdout.toString('latin1').trimEnd();
  const xml = (await run('zbarimg', [...args, '--xml', png])).stdout.toString();
  return { data: raw, gs1: /modifiers='[^']*GS1/.test(xml) };
}

describe('ZPL labels rendered by zpl-renderer-js (Zebrash)', () => {
  for (const [dpi, dots] of [
    [203, 4],
    [300, 6],
  ] as const) {
    it(`at ${dpi} dpi: dmtxread reads the indicium's exact bytes and zbarimg the IMpb`, async () => {
      const zpl = labelZpl(piece, 0, { media: 'label4x6', returnAddress: RETURN_ADDRESS, dpi });
      // The symbol is a ^GF graphic of 48 modules of `dots` dots: rows of ceil(48·dots/8) bytes.
      const gf = /\^GFA,(\d+),(\d+),(\d+),/.exec(zpl);
      expect(Number(gf?.[3])).toBe(Math.ceil((48 * dots) / 8));
      expect(Number(gf?.[1])).toBe(Math.ceil((48 * dots) / 8) * 48 * dots);
      // The IMpb is the printer's own Code 128 in GS1 form: subset C, FNC1, FNC1 between AIs.
      expect(zpl).toContain(`^BCN,`);
      expect(zpl).toContain(`^FD>;>8420945013301>8${piece.tracking}^FS`);
      const png = await renderPng(zpl, dpi, `label${dpi}`);
      expect(await dmtxHex(png)).toBe(hex(piece.indicium));
      const impb = await zbarCode128(png);
      expect(impb.gs1).toBe(true);
      expect(impb.data).toBe(`420945013301\x1d${piece.tracking}`);
    }, 90_000);
  }

  it('escapes ZPL’s command characters in addresses, so a name cannot inject commands', () => {
    const hostile = { ...RETURN_ADDRESS, name: 'Eve^XZ^XA~JR_' };
    const zpl = labelZpl({ ...piece, returnAddress: hostile }, 0, { media: 'label4x6', dpi: 203 });
    expect(zpl).toContain('^FH_^FDEVE_5EXZ_5EXA_7EJR_5F^FS');
    expect(zpl.match(/\^XA/g)).toHaveLength(1);
    expect(zpl.match(/\^XZ/g)).toHaveLength(1);
  });

  it('refuses a medium that is not a label roll, and a resolution it does not know', () => {
    expect(() => labelZpl(piece, 0, { media: 'sheet2x4x6', dpi: 203 })).toThrow(
      expect.objectContaining({ code: 'PRINT_FORMAT_MEDIUM' }),
    );
    expect(() => labelZpl(piece, 0, { media: 'label4x6', dpi: 600 })).toThrow(
      expect.objectContaining({ code: 'PRINT_BAD_DPI' }),
    );
  });

  it('writes GS1 element strings as ^BC subset-C data with FNC1', () => {
    expect(zplGs1Data('(420)94501(94)0012345678901234567895')).toBe(
      '>;>842094501>8940012345678901234567895',
    );
  });
});

describe('ZPL sent raw through CUPS', () => {
  it('reaches a socket printer byte for byte (lp -o raw)', async () => {
    const received: Buffer[] = [];
    const server = createServer((socket) => socket.on('data', (d: Buffer) => received.push(d)));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    const queue = `VpmZplTest${process.pid}`;
    const add = await run('lpadmin', [
      '-p',
      queue,
      '-E',
      '-v',
      `socket://127.0.0.1:${port}`,
      '-m',
      'raw',
    ]);
    expect(add.code, add.stderr).toBe(0);
    try {
      const file = join(dir, 'batch.zpl');
      await renderZplToFile([piece, piece], { media: 'label4x6', dpi: 203 }, file);
      const expected = await readFile(file);
      expect(expected.toString('latin1').match(/\^XA/g)).toHaveLength(2);
      const result = await printZpl([piece, piece], {
        media: 'label4x6',
        dpi: 203,
        printer: queue,
      });
      expect(result.job.id).toMatch(new RegExp(`^${queue}-\\d+$`));
      const deadline = Date.now() + 60_000;
      while (Buffer.concat(received).length < expected.length && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(Buffer.concat(received).equals(expected)).toBe(true);
    } finally {
      await run('lpadmin', ['-x', queue]);
      server.close();
    }
  }, 90_000);
});
