/**
 * @module communication/tls
 * The data center's own TLS: at init a data-center CA (ECDSA P-256) and a server certificate for
 * localhost, 127.0.0.1 and ::1 signed by it. Clients pin the CA (`DIR/tls/ca.pem`).
 *
 * The server's private key is kept sealed (`DIR/tls/server-key.sealed`, AES-256-GCM under a key
 * derived from the domain key, DESIGN.md "Custody"), and opened in the data center's memory at a
 * start with a quorum of shares: the data directory alone, or a backup of it, cannot impersonate
 * the server. A plaintext key left by an older init is sealed at the next start and removed.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { aesGcmOpen, aesGcmSeal, hkdf } from '../boxes/crypto-kit';

x509.cryptoProvider.set(globalThis.crypto);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

function serial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  bytes[0] = (bytes[0] as number) & 0x7f;
  return Buffer.from(bytes).toString('hex');
}

async function pkcs8Pem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await crypto.subtle.exportKey('pkcs8', key)).toString('base64');
  return `-----BEGIN PRIVATE KEY-----\n${der.match(/.{1,64}/g)?.join('\n')}\n-----END PRIVATE KEY-----\n`;
}

export interface TlsFiles {
  caPath: string;
  certPath: string;
  /** The server key in plaintext PEM: only where createTls was given no key to seal it with. */
  keyPath: string;
  /** The server key sealed under the domain key (a data center's). */
  sealedKeyPath: string;
}

export function tlsPaths(dataDir: string): TlsFiles {
  const dir = join(dataDir, 'tls');
  return {
    caPath: join(dir, 'ca.pem'),
    certPath: join(dir, 'server.pem'),
    keyPath: join(dir, 'server-key.pem'),
    sealedKeyPath: join(dir, 'server-key.sealed'),
  };
}

const SEAL_AAD = 'vpm-tls-server-key-v1';

/** The key that seals the TLS server key, from the domain key. */
export function tlsSealKey(domainKey: Uint8Array): Buffer {
  return hkdf(domainKey, 'vpm-tls-server-key-v1', 'datacenter');
}

/**
 * The TLS server key, opened with the seal key (tlsSealKey of the combined shares). A plaintext
 * key from an older init is sealed now and removed.
 */
export async function openTlsKey(dataDir: string, sealKey: Uint8Array): Promise<string> {
  const paths = tlsPaths(dataDir);
  if (!existsSync(paths.sealedKeyPath) && existsSync(paths.keyPath)) {
    const pem = await readFile(paths.keyPath, 'utf8');
    await writeFile(paths.sealedKeyPath, aesGcmSeal(sealKey, Buffer.from(pem), SEAL_AAD), {
      mode: 0o600,
    });
    await rm(paths.keyPath);
    return pem;
  }
  let sealed: Buffer;
  try {
    sealed = await readFile(paths.sealedKeyPath);
  } catch {
    throw new Error(
      `data center: ${paths.sealedKeyPath} is missing; the TLS server key cannot be opened (restore DIR/tls from a backup)`,
    );
  }
  const pem = aesGcmOpen(sealKey, sealed, SEAL_AAD);
  if (!pem)
    throw new Error(
      `data center: ${paths.sealedKeyPath} does not open with this data center's domain key: it was altered or comes from another data center (restore DIR/tls from a backup)`,
    );
  return pem.toString('utf8');
}

/**
 * Creates the data-center CA and the server certificate. The server key is sealed with `sealWith`
 * (tlsSealKey of the domain key) when given, else written in plaintext, mode 0600 (tests, bench).
 */
export async function createTls(
  dataDir: string,
  options: { sealWith?: Uint8Array; hostnames?: string[] } = {},
): Promise<TlsFiles> {
  const hostnames = options.hostnames ?? ['localhost'];
  const paths = tlsPaths(dataDir);
  await mkdir(join(dataDir, 'tls'), { recursive: true, mode: 0o700 });
  const now = new Date(Date.now() - 60_000);
  const caKeys = (await crypto.subtle.generateKey(ALG, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=Virtual Postage Meter Data Center CA',
    notBefore: now,
    notAfter: new Date(now.getTime() + 10 * 365 * 86_400_000),
    keys: caKeys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
    ],
  });
  const serverKeys = (await crypto.subtle.generateKey(ALG, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: 'CN=localhost',
    issuer: ca.subject,
    notBefore: now,
    notAfter: new Date(now.getTime() + 2 * 365 * 86_400_000),
    publicKey: serverKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...hostnames.map((value) => ({ type: 'dns' as const, value })),
        { type: 'ip', value: '127.0.0.1' },
        { type: 'ip', value: '::1' },
      ]),
    ],
  });
  await writeFile(paths.caPath, ca.toString('pem') + '\n', { mode: 0o644 });
  await writeFile(paths.certPath, cert.toString('pem') + '\n' + ca.toString('pem') + '\n', {
    mode: 0o644,
  });
  const keyPem = await pkcs8Pem(serverKeys.privateKey);
  if (options.sealWith)
    await writeFile(
      paths.sealedKeyPath,
      aesGcmSeal(options.sealWith, Buffer.from(keyPem), SEAL_AAD),
      {
        mode: 0o600,
      },
    );
  else await writeFile(paths.keyPath, keyPem, { mode: 0o600 });
  return paths;
}
