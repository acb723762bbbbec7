/**
 * @module indicium/verify
 * What the post office does with a scanned indicium: decode it, find the meter's certificate by
 * its serial, check the certificate against the vendor CA and the device ID, and check the
 * ECDSA P-256 signature over the payload. Uses WebCrypto only, so it runs in Node and browsers.
 */
import * as x509 from '@peculiar/x509';
import { decodeIndicium, type DecodedIndicium } from './codec';
import { isLowS } from './low-s';

export type Verdict =
  'valid' | 'demo-sample' | 'bad-signature' | 'unknown-certificate' | 'duplicate' | 'unreadable';

export interface VerifyResult {
  verdict: Verdict;
  /** One line for a person: what was found. */
  reason: string;
  indicium?: DecodedIndicium;
}

/** Where certificates come from: the data center's directory or an offline bundle. */
export interface CertificateSource {
  /** The vendor CA certificate (PEM) that signs meter certificates. */
  vendorCaPem: string;
  /** The meter certificate (PEM) with this serial (16 hex digits), if known. */
  find(serialHex: string): Promise<string | undefined> | string | undefined;
}

const ECDSA = { name: 'ECDSA', namedCurve: 'P-256' } as const;

/** Serial of a certificate as the indicium carries it: 16 lowercase hex digits. */
export function certificateSerialHex(cert: x509.X509Certificate): string {
  return cert.serialNumber.toLowerCase().replace(/^0+/, '').padStart(16, '0');
}

/** Checks an indicium's signature and certificate. Duplicates are the caller's question. */
export async function verifyIndicium(
  bytes: Uint8Array,
  certs: CertificateSource,
): Promise<VerifyResult> {
  let indicium: DecodedIndicium;
  try {
    indicium = decodeIndicium(bytes);
  } catch (error) {
    return {
      verdict: 'unreadable',
      reason: error instanceof Error ? error.message : String(error),
    };
  }
  const { fields } = indicium;
  const pem = await certs.find(fields.certificateSerial);
  if (!pem) {
    return {
      verdict: 'unknown-certificate',
      reason: `no certificate ${fields.certificateSerial} for meter ${fields.deviceId}`,
      indicium,
    };
  }
  let key: Awaited<ReturnType<typeof crypto.subtle.importKey>> | undefined;
  let trusted = false;
  try {
    const cert = new x509.X509Certificate(pem);
    const ca = new x509.X509Certificate(certs.vendorCaPem);
    // The certificate must be valid on the day of mailing (any time that day, in any zone).
    const dayStart = Date.parse(`${fields.mailingDate}T00:00:00Z`) - 14 * 3_600_000;
    const dayEnd = Date.parse(`${fields.mailingDate}T23:59:59Z`) + 12 * 3_600_000;
    trusted =
      certificateSerialHex(cert) === fields.certificateSerial &&
      cert.subject === `CN=${fields.deviceId}` &&
      cert.issuer === ca.subject &&
      cert.notBefore.getTime() <= dayEnd &&
      cert.notAfter.getTime() >= dayStart &&
      (await cert.verify({ publicKey: ca.publicKey, signatureOnly: true }));
    if (trusted) {
      key = await crypto.subtle.importKey('spki', cert.publicKey.rawData, ECDSA, false, ['verify']);
    }
  } catch {
    // A certificate that does not parse, verify or carry a P-256 key is not a meter certificate.
    trusted = false;
  }
  if (!trusted || !key) {
    return {
      verdict: 'unknown-certificate',
      reason: `certificate ${fields.certificateSerial} is not a vendor certificate for meter ${fields.deviceId} on ${fields.mailingDate}`,
      indicium,
    };
  }
  // The high-s twin of a valid signature verifies too; it is a copy made from a printed piece.
  if (!isLowS(indicium.signature))
    return {
      verdict: 'bad-signature',
      reason: `signature is not in the form meter ${fields.deviceId} signs (high s): an altered copy`,
      indicium,
    };
  const ok = await crypto.subtle.verify(
    { name: 'ECDSA', hash: 'SHA-256' },
    key,
    indicium.signature,
    indicium.payload,
  );
  if (!ok)
    return {
      verdict: 'bad-signature',
      reason: `signature does not match meter ${fields.deviceId}`,
      indicium,
    };
  if (fields.demo)
    return {
      verdict: 'demo-sample',
      reason: `demo sample from meter ${fields.deviceId}: not valid postage`,
      indicium,
    };
  return {
    verdict: 'valid',
    reason: `valid postage ${fields.postageCents} cents from meter ${fields.deviceId}, mailed ${fields.mailingDate}`,
    indicium,
  };
}
