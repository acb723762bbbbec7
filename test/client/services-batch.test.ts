/**
 * The batch pipeline of PostageService against a real data center: a CSV batch charged in
 * chunks (the next chunk bought while this one is encoded and drawn) becomes one PDF with every
 * piece charged once; every page carries the symbol bought for its row (dmtxread and zxing read
 * each exactly); a batch whose output fails after the first chunk leaves the purchase in flight
 * finished and recorded, so the resumed run prints all pieces without charging twice.
 */
import { createRequire } from 'node:module';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareZXingModule, readBarcodes } from 'zxing-wasm/reader';
import { layoutPiece, mediumById } from '../../client/print';
import { NO_KEYCHAIN } from '../../client/services/keychain';
import { PostageService, type Progress } from '../../client/services/postage-service';
import { SessionManager } from '../../client/services/session';
import { startTestDataCenter, type TestDataCenter } from '../helpers/datacenter';
import { dmtxHex, pdfInfo, run } from './print/helpers';

let dc: TestDataCenter;
let home: string;
let session: SessionManager;

beforeAll(async () => {
  const wasmPath = createRequire(import.meta.url).resolve('zxing-wasm/reader/zxing_reader.wasm');
  const wasm = await readFile(wasmPath);
  await prepareZXingModule({
    overrides: {
      wasmBinary: wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength),
      locateFile: () => wasmPath,
    },
    fireImmediately: true,
  });
  dc = await startTestDataCenter();
  home = await mkdtemp(join(tmpdir(), 'vpm-batch-'));
  session = new SessionManager(home, NO_KEYCHAIN, {
    server: dc.running.url,
    ca: join(dc.dir, 'tls', 'ca.pem'),
  });
  await session.signUp({
    username: 'batcher',
    password: 'correct horse battery',
    name: 'Batch Mailer',
    originZip: '10001',
  });
  await session.signIn('batcher', 'correct horse battery', false);
  await session.call((c) =>
    c.refill({
      amountCents: 100_000,
      cardNumber: '4242424242424242',
      idempotencyKey: 'batch-test-funds',
    }),
  );
}, 60_000);
afterAll(async () => {
  await session?.close();
  await dc?.close();
  await rm(home, { recursive: true, force: true });
});

function csv(pieces: number, street: string): string {
  const rows = Array.from(
    { length: pieces },
    (_, i) =>
      `Person ${i},${i + 1} ${street},Springfield,IL,627${String((i % 8) + 1).padStart(2, '0')},0.78,first-class`,
  );
  return ['name,street,city,state,zip,postage,class', ...rows].join('\n');
}

const account = () => session.call((c) => c.account());

describe('PostageService.runBatch()', () => {
  it('charges a 250-piece batch in chunks, each piece once, into one 250-page PDF', async () => {
    const before = await account();
    const progress: Progress[] = [];
    const out = join(home, 'batch.pdf');
    const result = await new PostageService(session, home).runBatch(
      csv(250, 'Main St'),
      { out, media: 'env10' },
      { onProgress: (p) => progress.push(p) },
    );
    expect(result).toMatchObject({ pieces: 250, charged: 250, pages: 250, pdfPath: out });
    const after = await account();
    expect(after.ascendingCents - before.ascendingCents).toBe(250 * 78);
    expect(result.balanceCents).toBe(after.balanceCents);
    const charging = progress.filter((p) => p.phase === 'charging').map((p) => p.done);
    const rendering = progress.filter((p) => p.phase === 'rendering').map((p) => p.done);
    expect(charging).toEqual([100, 200, 250]);
    expect(rendering).toEqual([100, 200, 250]);
    expect((await pdfInfo(out)).pages).toBe(250);
  }, 120_000);

  it('prints on every page the symbol bought for its row: dmtxread and zxing read each exactly', async () => {
    // 30 rows at two postage amounts (two shared templates, each a Form XObject after its first
    // page), each row its own recipient.
    const rows = 30;
    const text = [
      'name,street,city,state,zip,postage,class',
      ...Array.from(
        { length: rows },
        (_, i) =>
          `Reader ${i},${i + 1} Oak St,Springfield,IL,627${String((i % 8) + 1).padStart(2, '0')},${i % 3 ? '0.78' : '1.05'},first-class`,
      ),
    ].join('\n');
    const out = join(home, 'decode.pdf');
    const service = new PostageService(session, home);
    expect(await service.runBatch(text, { out, media: 'env10' })).toMatchObject({
      pieces: rows,
      pages: rows,
    });
    // The piece the journal recorded for each recipient, and the indicium the data center issued.
    const bought = new Map<string, string>();
    for (const [pieceId, line] of await service.journal()) bought.set(line.recipient.name, pieceId);
    const texts = (await run('pdftotext', ['-layout', out, '-'])).stdout.toString().split('\f');
    // Every page's symbol with its quiet zone and some margin, at 150 dpi, in one pdftoppm run.
    const medium = mediumById('env10');
    const box = layoutPiece(medium, medium.slots[0] as (typeof medium.slots)[number]).symbol;
    const px = (pt: number) => String(Math.round((pt * 150) / 72));
    const dir = await mkdtemp(join(tmpdir(), 'vpm-batch-decode-'));
    try {
      await run('pdftoppm', [
        ...['-r', '150', '-gray', '-png'],
        ...['-x', px(box.x - 18), '-y', px(box.y - 18), '-W', px(box.width + 36)],
        ...['-H', px(box.height + 36), out, join(dir, 'page')],
      ]);
      const pngs = (await readdir(dir)).filter((f) => f.endsWith('.png')).sort();
      expect(pngs.length).toBe(rows);
      for (let i = 0; i < rows; i++) {
        const name = `READER ${i}`;
        expect(texts[i], `page ${i + 1}`).toContain(name); // row i is page i + 1
        const pieceId = bought.get(name) as string;
        const { items } = await session.call((c) => c.history({ q: pieceId, pageSize: 5 }));
        const issued = items.find((item) => item.pieceId === pieceId);
        const want = Buffer.from(issued?.indicium ?? '', 'base64').toString('hex');
        expect(want.length).toBe(146 * 2);
        const png = join(dir, pngs[i] as string);
        expect(await dmtxHex(png), `dmtxread, page ${i + 1}`).toBe(want);
        const [zxing] = await readBarcodes(new Uint8Array(await readFile(png)), {
          formats: ['DataMatrix'],
        });
        expect(zxing?.isValid ? Buffer.from(zxing.bytes).toString('hex') : undefined).toBe(want);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('finishes the purchase in flight when the output fails, and the resumed run charges nothing twice', async () => {
    const before = await account();
    const text = csv(250, 'Elm St');
    const service = new PostageService(session, home);
    // The output path is a directory: the PDF cannot be written, after the first chunk is bought.
    await expect(service.runBatch(text, { out: home, media: 'env10' })).rejects.toThrow();
    const partial = await account();
    const paid = (partial.ascendingCents - before.ascendingCents) / 78;
    expect(paid).toBeGreaterThan(0);
    expect(paid).toBeLessThanOrEqual(200); // the chunk being drawn and at most the one bought ahead
    expect(paid % 100).toBe(0);

    const out = join(home, 'resumed.pdf');
    const resumed = await service.runBatch(text, { out, media: 'env10' }, { resume: true });
    expect(resumed).toMatchObject({ pieces: 250, charged: 250 - paid, pages: 250 });
    const after = await account();
    expect(after.ascendingCents - before.ascendingCents).toBe(250 * 78);
    expect((await pdfInfo(out)).pages).toBe(250);
  }, 120_000);
});
