/**
 * The postal authority (postal/) over real HTTPS with its own directory, fed by a meter box of a
 * vendor it approved and attacked as a dishonest data center or an outsider would: a report that
 * reuses an ascending register, one sequence number signed for two reports, a start challenge
 * older than what it holds, reports from a vendor it never approved, altered signatures.
 */
import { generateKeyPairSync, sign, webcrypto, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  approveVendor,
  initPostal,
  postalAlerts,
  startPostal,
  type RunningPostal,
} from '../../postal/index';
import { isLowS } from '../../shared/indicium/low-s';
import type { Signed, WitnessReceipt, WitnessReport } from '../../shared/postal/wire';

x509.cryptoProvider.set(webcrypto as never);
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

interface Vendor {
  caPem: string;
  certificatePem: string;
  key: KeyObject;
  boxId: string;
}

/** A vendor CA and one meter box report key it certified (what the key ceremony makes). */
async function vendor(boxId: string): Promise<Vendor> {
  const caKeys = (await webcrypto.subtle.generateKey(ALG, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const now = new Date(Date.now() - 60_000);
  const later = new Date(Date.now() + 86_400_000);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=Test Vendor CA',
    notBefore: now,
    notAfter: later,
    keys: caKeys,
    signingAlgorithm: ALG,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true)],
  });
  const box = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '02',
    subject: `CN=VPM meter box ${boxId}`,
    issuer: ca.subject,
    notBefore: now,
    notAfter: later,
    signingAlgorithm: ALG,
    publicKey: await webcrypto.subtle.importKey(
      'spki',
      box.publicKey.export({ format: 'der', type: 'spki' }),
      { name: 'ECDSA', namedCurve: 'P-256' },
      true,
      ['verify'],
    ),
    signingKey: caKeys.privateKey,
  });
  return {
    caPem: ca.toString('pem'),
    certificatePem: cert.toString('pem'),
    key: box.privateKey,
    boxId,
  };
}

const signed = (key: KeyObject, body: object): Signed => {
  const text = JSON.stringify(body);
  return {
    body: text,
    signature: sign('sha256', Buffer.from(text), { key, dsaEncoding: 'ieee-p1363' }).toString(
      'base64',
    ),
  };
};

const digest = (n: number) => n.toString(16).padStart(64, '0');

function report(v: Vendor, seq: number, total: number, ascending: number[], d = 1): Signed {
  const body: WitnessReport = {
    v: 1,
    kind: 'report',
    boxId: v.boxId,
    seq,
    totalPieces: total,
    serial: 'VPM000000001',
    counter: seq + 1,
    pieces: ascending.map((a, i) => ({
      pieceId: `piece-${seq}-${i}`,
      ascendingCents: a,
      digest: digest(a * 10 + d),
    })),
  };
  return signed(v.key, body);
}

let pdir: string;
let postal: RunningPostal;
let agent: Agent;
let approved: Vendor;
let stranger: Vendor;

async function post(path: string, body: unknown) {
  const res = await request(new URL(path, postal.url), {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

/** The receipt's body; its signature is always low-s (the only form a meter box takes). */
const receiptOf = (answer: { body: Record<string, unknown> }): WitnessReceipt => {
  const receipt = answer.body.receipt as Signed;
  expect(isLowS(Buffer.from(receipt.signature, 'base64'))).toBe(true);
  return JSON.parse(receipt.body) as WitnessReceipt;
};

beforeAll(async () => {
  pdir = await mkdtemp(join(tmpdir(), 'vpm-post-'));
  await initPostal(pdir);
  approved = await vendor('00000000000000a1');
  stranger = await vendor('00000000000000b2');
  await approveVendor(pdir, approved.caPem);
  postal = await startPostal({ dataDir: pdir, port: 0 });
  agent = new Agent({ connect: { ca: await readFile(postal.caPath, 'utf8') } });
});
afterAll(async () => {
  await agent.close();
  await postal.close();
  await rm(pdir, { recursive: true, force: true });
});

describe('postal authority', () => {
  it('keeps its receipt key and database readable by its owner only', async () => {
    for (const file of ['keys/receipt-key.pem', 'tls/server-key.pem', 'postal.db'])
      expect((await stat(join(pdir, file))).mode & 0o077, file).toBe(0);
    expect((await stat(pdir)).mode & 0o077).toBe(0);
  });

  it('takes reports in sequence and signs a receipt for the last one held', async () => {
    const answer = await post('/v1/reports', {
      certificatePem: approved.certificatePem,
      reports: [report(approved, 1, 2, [78, 156]), report(approved, 2, 3, [234])],
    });
    expect(answer.status).toBe(200);
    expect(receiptOf(answer)).toMatchObject({ boxId: approved.boxId, seq: 2, totalPieces: 3 });
    // A gap is not taken: the receipt stays at 2 and asks for 3.
    const gap = await post('/v1/reports', {
      certificatePem: approved.certificatePem,
      reports: [report(approved, 4, 4, [312])],
    });
    expect(receiptOf(gap).seq).toBe(2);
    expect(gap.body.nextSeq).toBe(3);
  });

  it('raises a fraud alert for a report that reuses an ascending register', async () => {
    const answer = await post('/v1/reports', {
      certificatePem: approved.certificatePem,
      reports: [report(approved, 3, 4, [156], 7)],
    });
    expect(answer.status).toBe(200);
    const alerts = postalAlerts(pdir).filter((a) => a.code === 'REGISTER_REUSED');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.reason).toMatch(
      /ascending register 156 .*already reported for piece piece-1-1/,
    );
  });

  it('raises a fraud alert for one sequence number signed for two different reports', async () => {
    await post('/v1/reports', {
      certificatePem: approved.certificatePem,
      reports: [report(approved, 2, 3, [999])],
    });
    expect(postalAlerts(pdir).some((a) => a.code === 'SEQUENCE_REUSED')).toBe(true);
  });

  it('answers a start challenge with its nonce, and alerts when the box state is older than its own', async () => {
    const challenge = (seq: number, total: number) =>
      post('/v1/challenge', {
        certificatePem: approved.certificatePem,
        challenge: signed(approved.key, {
          v: 1,
          kind: 'challenge',
          boxId: approved.boxId,
          nonce: 'ab'.repeat(16),
          seq,
          totalPieces: total,
        }),
      });
    const current = await challenge(3, 4);
    expect(receiptOf(current)).toMatchObject({ seq: 3, nonce: 'ab'.repeat(16) });
    expect(postalAlerts(pdir).some((a) => a.code === 'ROLLBACK')).toBe(false);
    const old = await challenge(1, 2);
    expect(receiptOf(old).seq).toBe(3); // the box compares and refuses; the post records it
    expect(postalAlerts(pdir).filter((a) => a.code === 'ROLLBACK')).toHaveLength(1);
  });

  it('refuses reports from a vendor it never approved, and altered signatures, changing nothing', async () => {
    const before = postalAlerts(pdir).length;
    const foreign = await post('/v1/reports', {
      certificatePem: stranger.certificatePem,
      reports: [report(stranger, 1, 1, [78])],
    });
    expect(foreign.status).toBe(403);
    expect((foreign.body.error as { code: string }).code).toBe('UNKNOWN_VENDOR');
    const r = report(approved, 4, 5, [312]);
    const forged = await post('/v1/reports', {
      certificatePem: approved.certificatePem,
      reports: [{ ...r, body: r.body.replace('312', '313') }],
    });
    expect(forged.status).toBe(400);
    expect((forged.body.error as { code: string }).code).toBe('BAD_SIGNATURE');
    const malformed = await post('/v1/reports', { certificatePem: 'x', reports: 'no' });
    expect(malformed.status).toBe(400);
    const still = await post('/v1/reports', {
      certificatePem: approved.certificatePem,
      reports: [r],
    });
    expect(receiptOf(still).seq).toBe(4);
    expect(postalAlerts(pdir)).toHaveLength(before);
  });
});
