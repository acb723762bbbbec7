/**
 * @module postal/keys
 * The postal authority's keys, made once by `vpm postal init`: its own CA (ECDSA P-256), which
 * certifies the HTTPS server key and the receipt key; the CA's private key is used for those two
 * certificates and then dropped, so PDIR holds no key that could certify another receipt signer.
 *   PDIR/tls/ca.pem            the CA certificate: data centers pin it (--postal-ca), and their
 *                              meter boxes pin it for receipts
 *   PDIR/tls/server.pem        server certificate (+ CA), PDIR/tls/server-key.pem (0600)
 *   PDIR/keys/receipt.pem      receipt certificate, PDIR/keys/receipt-key.pem (0600, never logged)
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createPrivateKey, webcrypto, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as never);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface PostalPaths {
  caPath: string;
  certPath: string;
  keyPath: string;
  receiptCertPath: string;
  receiptKeyPath: string;
}

export function postalPaths(dir: string): PostalPaths {
  return {
    caPath: join(dir, 'tls', 'ca.pem'),
    certPath: join(dir, 'tls', 'server.pem'),
    keyPath: join(dir, 'tls', 'server-key.pem'),
    receiptCertPath: join(dir, 'keys', 'receipt.pem'),
    receiptKeyPath: join(dir, 'keys', 'receipt-key.pem'),
  };
}

function serial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(8));
  bytes[0] = (bytes[0] as number) & 0x7f || 0x01;
  return Buffer.from(bytes).toString('hex');
}

async function pkcs8Pem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key)).toString('base64');
  return `-----BEGIN PRIVATE KEY-----\n${der.match(/.{1,64}/g)?.join('\n')}\n-----END PRIVATE KEY-----\n`;
}

const newKeys = async (): Promise<webcrypto.CryptoKeyPair> =>
  (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;

/** Creates the CA, the server certificate and the receipt key under `dir`. */
export async function createPostalKeys(dir: string): Promise<PostalPaths> {
  const paths = postalPaths(dir);
  await mkdir(join(dir, 'tls'), { recursive: true, mode: 0o700 });
  await mkdir(join(dir, 'keys'), { recursive: true, mode: 0o700 });
  const now = new Date(Date.now() - 60_000);
  const years = (n: number) => new Date(now.getTime() + n * 365 * 86_400_000);
  const caKeys = await newKeys();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=VPM Postal Authority CA',
    notBefore: now,
    notAfter: years(20),
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
  const leaf = async (
    subject: string,
    keys: webcrypto.CryptoKeyPair,
    extra: x509.Extension[],
    notAfter: Date,
  ) =>
    x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject,
      issuer: ca.subject,
      notBefore: now,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        ...extra,
      ],
    });
  const serverKeys = await newKeys();
  const server = await leaf(
    'CN=localhost',
    serverKeys,
    [
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'dns', value: 'localhost' },
        { type: 'ip', value: '127.0.0.1' },
        { type: 'ip', value: '::1' },
      ]),
    ],
    years(2),
  );
  const receiptKeys = await newKeys();
  const receipt = await leaf('CN=VPM Postal Authority receipts', receiptKeys, [], years(10));
  const caPem = ca.toString('pem') + '\n';
  await writeFile(paths.caPath, caPem, { mode: 0o644 });
  await writeFile(paths.certPath, server.toString('pem') + '\n' + caPem, { mode: 0o644 });
  await writeFile(paths.keyPath, await pkcs8Pem(serverKeys.privateKey), { mode: 0o600 });
  await writeFile(paths.receiptCertPath, receipt.toString('pem') + '\n', { mode: 0o644 });
  await writeFile(paths.receiptKeyPath, await pkcs8Pem(receiptKeys.privateKey), { mode: 0o600 });
  return paths;
}

export interface ReceiptSigner {
  key: KeyObject;
  certificatePem: string;
}

/** The receipt key and its certificate, read at start. */
export async function loadReceiptSigner(dir: string): Promise<ReceiptSigner> {
  const paths = postalPaths(dir);
  return {
    key: createPrivateKey(await readFile(paths.receiptKeyPath, 'utf8')),
    certificatePem: await readFile(paths.receiptCertPath, 'utf8'),
  };
}
