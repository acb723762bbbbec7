/**
 * @module verify/cert-bundle
 * The offline certificate bundle (`vpm verify --certs FILE`), for verifying without the data
 * center: the vendor CA and the meter certificates keyed by serial. Format in
 * docs/indicium-format.md:
 *
 *   { "vendorCaPem": "-----BEGIN CERTIFICATE-----...", "certificates": { "<16 hex>": "<PEM>" } }
 */
import { readFile } from 'node:fs/promises';
import type { CertificateSource } from '../../shared/indicium';
import { VerifyError } from './errors';

export interface CertificateBundle {
  vendorCaPem: string;
  certificates: Record<string, string>;
}

const SERIAL = /^[0-9a-f]{16}$/;
const PEM = /-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/;

function bad(where: string, problem: string): never {
  throw new VerifyError(
    'VERIFY_BAD_BUNDLE',
    `${where}: ${problem}; the bundle is JSON {"vendorCaPem": PEM, "certificates": {"<16 hex serial>": PEM}}`,
  );
}

/** Checks a parsed bundle's shape. */
export function parseBundle(value: unknown, where = 'certificate bundle'): CertificateBundle {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    bad(where, 'not a JSON object');
  }
  const { vendorCaPem, certificates } = value as Record<string, unknown>;
  if (typeof vendorCaPem !== 'string' || !PEM.test(vendorCaPem)) {
    bad(where, '"vendorCaPem" is not a PEM certificate');
  }
  if (typeof certificates !== 'object' || certificates === null || Array.isArray(certificates)) {
    bad(where, '"certificates" is not an object');
  }
  const out: Record<string, string> = {};
  for (const [serial, pem] of Object.entries(certificates)) {
    if (!SERIAL.test(serial)) bad(where, `serial "${serial}" is not 16 lowercase hex digits`);
    if (typeof pem !== 'string' || !PEM.test(pem)) {
      bad(where, `certificate ${serial} is not a PEM certificate`);
    }
    out[serial] = pem;
  }
  return { vendorCaPem, certificates: out };
}

/** A certificate source over a bundle. */
export function bundleSource(bundle: CertificateBundle): CertificateSource {
  return {
    vendorCaPem: bundle.vendorCaPem,
    find: (serial) =>
      Object.hasOwn(bundle.certificates, serial) ? bundle.certificates[serial] : undefined,
  };
}

/** Reads and checks a bundle file. */
export async function loadBundle(path: string): Promise<CertificateSource> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const why =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'cannot read it';
    bad(`certificate bundle ${path}`, why);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    bad(`certificate bundle ${path}`, 'not valid JSON');
  }
  return bundleSource(parseBundle(json, `certificate bundle ${path}`));
}
