/**
 * @module communication/tls
 * The data center's own TLS: at init a data-center CA (ECDSA P-256) and a server certificate for
 * localhost, 127.0.0.1 and ::1 signed by it. Clients pin the CA (`DIR/tls/ca.pem`).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

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
  keyPath: string;
}

export function tlsPaths(dataDir: string): TlsFiles {
  const dir = join(dataDir, 'tls');
  return {
    caPath: join(dir, 'ca.pem'),
    certPath: join(dir, 'server.pem'),
    keyPath: join(dir, 'server-key.pem'),
  };
}

/** Creates the data-center CA and the server certificate; the server key is written mode 0600. */
export async function createTls(
  dataDir: string,
  hostnames: string[] = ['localhost'],
): Promise<TlsFiles> {
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
  await writeFile(paths.keyPath, await pkcs8Pem(serverKeys.privateKey), { mode: 0o600 });
  return paths;
}
