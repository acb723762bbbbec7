/**
 * Online verification asks the postal authority (client/verify/postal-check.ts, what `vpm verify
 * --postal URL --postal-ca FILE` runs): a validly signed indicium its meter box never reported is
 * not accepted and is a fraud alert at the post; a reported one is accepted. Real processes.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { postalAlerts } from '../../postal/index';
import {
  bundleSource,
  checkWithPostal,
  verifySymbol,
  type ScanReport,
} from '../../client/verify/index';
import type { DataCenterClient } from '../../client/services/datacenter-client';
import { eventually, setUpPostal, startListening, type PostalSetup } from '../helpers/postal';

let s: PostalSetup | undefined;
afterAll(async () => {
  await s?.stop();
});

async function scanOf(
  client: DataCenterClient,
): Promise<{ report: ScanReport; certs: ReturnType<typeof bundleSource> }> {
  const issued = await client.dispense({
    pieces: [
      {
        idempotencyKey: `k-${randomUUID()}`,
        postageCents: 78,
        mailClass: 'first-class',
        destinationZip: '10001',
      },
    ],
  });
  const bytes = new Uint8Array(Buffer.from(issued.pieces[0]?.indicium ?? '', 'base64'));
  const certs = bundleSource(await client.certificates());
  const piece = await verifySymbol(bytes, { certificates: certs });
  expect(piece.verdict).toBe('valid');
  return {
    report: { verdict: piece.verdict, line: piece.line, pieces: [piece], unchecked: [] },
    certs,
  };
}

describe('verify with the postal authority', () => {
  it('refuses an indicium never reported (fraud alert at the post) and accepts a reported one', async () => {
    s = await setUpPostal();
    const postal = await s.startPostal();
    const link = { url: postal.url, caPem: await readFile(s.postalCa, 'utf8') };
    // A data center of an approved vendor that does not report (no --postal).
    s.dc = await startListening([
      'datacenter',
      'start',
      '--data',
      s.dir,
      '--port',
      '0',
      '--share',
      s.sharesFile,
    ]);
    const client = await s.fundedMailer('bob', 1000);
    const unreported = await scanOf(client);
    const first = await checkWithPostal(unreported.report, unreported.certs, link);
    expect(first.accepted).toBe(false);
    expect(first.findings[0]?.finding).toBe('unreported');
    expect(first.findings[0]?.line).toMatch(/NEVER REPORTED/);
    expect(postalAlerts(s.pdir).map((a) => a.code)).toEqual(['UNREPORTED_INDICIUM']);

    // The same data center, now reporting: its next piece is reported and accepted.
    await s.dc.stop();
    await s.startDataCenter();
    const token = client.token;
    const reporting = s.client(token);
    const reported = await scanOf(reporting);
    await eventually(() => s?.postalPieces() === 1, 'the report reaches the post');
    const second = await checkWithPostal(reported.report, reported.certs, link);
    expect(second).toMatchObject({ accepted: true, findings: [{ finding: 'reported' }] });
    expect(postalAlerts(s.pdir)).toHaveLength(1);
  }, 240_000);
});
