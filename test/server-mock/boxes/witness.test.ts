/**
 * The meter box's side of the postal authority (boxes/witness.ts), attacked as a data-center
 * operator who carries its messages would: another postal authority's CA or receipts, a replayed
 * start receipt, running past the window, and a receipt showing the box's state is a restored copy.
 */
import { X509Certificate, randomUUID, sign, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostalKeys, loadReceiptSigner, type ReceiptSigner } from '../../../postal/keys';
import type { MeterRecord } from '../../../server-mock/boxes/index';
import { toLowS } from '../../../shared/indicium/low-s';
import type { SignedReceipt, WitnessReport } from '../../../shared/postal/wire';
import {
  expectBoxError,
  freshBoxes,
  fundedMeter,
  mailerAuth,
  piece,
  type Fixture,
} from './helpers';

interface Post {
  caPem: string;
  signer: ReceiptSigner;
}

let fx: Fixture;
let base: string;
let post: Post;
let other: Post;
let record: MeterRecord;

async function postal(name: string): Promise<Post> {
  const dir = join(base, name);
  const paths = await createPostalKeys(dir);
  return { caPem: readFileSync(paths.caPath, 'utf8'), signer: await loadReceiptSigner(dir) };
}

function receipt(
  p: Post,
  boxId: string,
  seq: number,
  totalPieces: number,
  nonce?: string,
): SignedReceipt {
  const body = JSON.stringify({
    v: 1,
    kind: 'receipt',
    boxId,
    seq,
    totalPieces,
    ...(nonce ? { nonce } : {}),
    at: new Date().toISOString(),
  });
  return {
    body,
    signature: Buffer.from(
      toLowS(sign('sha256', Buffer.from(body), { key: p.signer.key, dsaEncoding: 'ieee-p1363' })),
    ).toString('base64'),
    signerCertificatePem: p.signer.certificatePem,
  };
}

async function dispenseOne() {
  const result = await fx.boxes.meter.dispense({
    auth: await mailerAuth(fx.boxes),
    requestId: randomUUID(),
    record,
    pieces: [piece()],
  });
  record = result.record;
  return result;
}

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'vpm-witness-'));
  fx = await freshBoxes();
  post = await postal('post');
  other = await postal('other');
  record = await fundedMeter(fx.boxes, 10_000);
});
afterAll(async () => {
  await fx.dispose();
  rmSync(base, { recursive: true, force: true });
});

describe('MeterBox witness', () => {
  it('reports nothing and gates nothing before a postal authority is pinned', async () => {
    const result = await dispenseOne();
    expect(result.report).toBeUndefined();
    expect((await fx.boxes.meter.witnessStatus()).state).toBe('off');
  });

  it('pins the first postal CA, refuses another, and dispenses nothing until its own nonce is answered', async () => {
    const first = await fx.boxes.meter.witnessChallenge({
      postalCaPem: post.caPem,
      windowPieces: 2,
    });
    const challenge = JSON.parse(first.challenge.body) as {
      boxId: string;
      nonce: string;
      seq: number;
    };
    expect(challenge.seq).toBe(0);
    expect(new X509Certificate(first.certificatePem).subject).toBe(
      `CN=VPM meter box ${challenge.boxId}`,
    );
    await expectBoxError(
      fx.boxes.meter.witnessChallenge({ postalCaPem: other.caPem }),
      'WITNESS_MISMATCH',
    );
    await expectBoxError(dispenseOne(), 'WITNESS_UNAVAILABLE');
    // Another post's receipt, a replayed nonce and an altered body are all refused.
    await expectBoxError(
      fx.boxes.meter.witnessReceipt({
        receipt: receipt(other, challenge.boxId, 0, 0, challenge.nonce),
      }),
      'WITNESS_MISMATCH',
    );
    await expectBoxError(
      fx.boxes.meter.witnessReceipt({
        receipt: receipt(post, challenge.boxId, 0, 0, 'ab'.repeat(16)),
      }),
      'WITNESS_MISMATCH',
    );
    const good = receipt(post, challenge.boxId, 0, 0, challenge.nonce);
    await expectBoxError(
      fx.boxes.meter.witnessReceipt({
        receipt: { ...good, body: good.body.replace('"seq":0', '"seq":9') },
      }),
      'WITNESS_MISMATCH',
    );
    await expectBoxError(dispenseOne(), 'WITNESS_UNAVAILABLE');
    expect((await fx.boxes.meter.witnessReceipt({ receipt: good })).state).toBe('confirmed');
    // The same start receipt again: its nonce is spent.
    await expectBoxError(fx.boxes.meter.witnessReceipt({ receipt: good }), 'WITNESS_MISMATCH');
  });

  it('signs a numbered report per dispense and stops a window past its last receipt until one comes', async () => {
    const one = await dispenseOne();
    const two = await dispenseOne();
    const cert = new X509Certificate(
      (await fx.boxes.meter.witnessChallenge({ postalCaPem: post.caPem, windowPieces: 2 }))
        .certificatePem,
    );
    const reports = [one, two].map((r) => {
      expect(
        verify(
          'sha256',
          Buffer.from(r.report!.body),
          { key: cert.publicKey, dsaEncoding: 'ieee-p1363' },
          Buffer.from(r.report!.signature, 'base64'),
        ),
      ).toBe(true);
      return JSON.parse(r.report!.body) as WitnessReport;
    });
    expect(reports.map((r) => [r.seq, r.totalPieces, r.serial])).toEqual([
      [1, 1, record.serial],
      [2, 2, record.serial],
    ]);
    expect(reports[1]?.pieces[0]?.ascendingCents).toBe(two.indicia[0]?.ascendingCents);
    await expectBoxError(dispenseOne(), 'WITNESS_UNAVAILABLE');
    const status = await fx.boxes.meter.witnessReceipt({
      receipt: receipt(post, reports[0]!.boxId, 2, 2),
    });
    expect(status).toMatchObject({ state: 'confirmed', seq: 2, receiptSeq: 2, ahead: 0 });
    expect((await dispenseOne()).report).toBeDefined();
  });

  it('refuses to dispense once a receipt shows later reports than its own state (a restored copy)', async () => {
    const { boxId, seq } = await fx.boxes.meter.witnessStatus();
    const status = await fx.boxes.meter.witnessReceipt({
      receipt: receipt(post, boxId, seq + 5, 99),
    });
    expect(status.state).toBe('rolled-back');
    await expectBoxError(dispenseOne(), 'WITNESS_ROLLBACK');
  });
});
