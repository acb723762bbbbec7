/**
 * @module rates/rate-signature
 * Checks a rate table the data center served (or this client cached): the transaction box's
 * certificate must be issued by the vendor CA this client pinned (on first use, over the data
 * center's pinned TLS), be current and name a transaction box; its key must have signed this
 * exact table (shared/rates/rate-signature.ts). Anything else is refused with what to do.
 */
import { createHash, verify, X509Certificate } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkRateTable } from '../../shared/rates/rate-table';
import {
  rateTableMessage,
  rateTableText,
  TXN_CERT_PREFIX,
} from '../../shared/rates/rate-signature';
import { writePrivate } from '../services/config';
import type { SignedRateTable } from './rate-store';

export class RateSignatureError extends Error {
  readonly code = 'BAD_RATE_SIGNATURE';
  constructor(message: string) {
    super(message);
    this.name = 'RateSignatureError';
  }
}

export const sha256Hex = (text: string): string =>
  createHash('sha256').update(text, 'utf8').digest('hex');

/** Checks one signed table against the vendor CA (PEM). Throws RateSignatureError. */
export function verifySignedRateTable(
  signed: SignedRateTable,
  vendorCaPem: string,
  now = new Date(),
): void {
  const table = checkRateTable(signed.table);
  let cert: X509Certificate;
  let ca: X509Certificate;
  try {
    cert = new X509Certificate(signed.certificatePem);
    ca = new X509Certificate(vendorCaPem);
  } catch {
    throw new RateSignatureError('rate table: the signer certificate is not a certificate');
  }
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey))
    throw new RateSignatureError(
      'rate table: signed by a certificate the vendor CA did not issue; the table is refused (another data center, or a forged table)',
    );
  if (!cert.subject.includes(`CN=${TXN_CERT_PREFIX}`))
    throw new RateSignatureError('rate table: the signer is not a transaction box');
  if (now < new Date(cert.validFrom) || now > new Date(cert.validTo))
    throw new RateSignatureError('rate table: the signer certificate is not valid today');
  const message = Buffer.from(rateTableMessage(table, sha256Hex(rateTableText(table))), 'utf8');
  const signature = Buffer.from(signed.signature, 'base64');
  const ok =
    signature.length === 64 &&
    verify('sha256', message, { key: cert.publicKey, dsaEncoding: 'ieee-p1363' }, signature);
  if (!ok)
    throw new RateSignatureError(
      'rate table: the signature does not match the table (altered after signing); the table is refused',
    );
}

/**
 * The vendor CA this client trusts for rate tables: pinned in `vendor-ca.pem` the first time a
 * data center (reached over its pinned TLS) presents one; later a different one is refused.
 */
export async function pinnedVendorCa(home: string, offered?: string): Promise<string | undefined> {
  const file = join(home, 'vendor-ca.pem');
  const pinned = await readFile(file, 'utf8').catch(() => undefined);
  if (pinned === undefined) {
    if (offered === undefined) return undefined;
    await mkdir(home, { recursive: true, mode: 0o700 });
    await writePrivate(file, offered, 0o644);
    return offered;
  }
  if (offered !== undefined && offered.trim() !== pinned.trim())
    throw new RateSignatureError(
      `rate table: the data center's vendor CA is not the one this client pinned (${file}); if you moved to another vendor, delete that file and fetch the rates again`,
    );
  return pinned;
}
