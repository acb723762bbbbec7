/**
 * @module boxes/ceremony
 * The key ceremony of the manufacturing box (patent part 38, key management system): run once
 * by `vpm datacenter init`. It creates the top-level keys — token-key wrap master, record MAC
 * master, the authentication box's verifier key and grant signing key (ECDSA P-256; its public
 * key goes to the meter box, which checks grants but cannot make them), the transaction box's
 * signing key, the vendor CA (ECDSA P-256, self-signed), the meter box's report key for the
 * postal authority (certified by the vendor CA, `CN=VPM meter box <id>`), the transaction box's
 * certificate (`CN=VPM transaction box <id>`, so clients check what it signs, such as rate
 * tables, against the vendor CA) — and seeds each box's
 * NVM with only the secrets that box needs. Custody (custody.ts): a fresh random domain key
 * seals every box's NVM (each box under its own key HKDF(domain key, box)); it is split k-of-n
 * into custodian shares, the ceremony's only output that can unlock anything, which it never
 * writes under DIR.
 * DIR/boxes/custody.json keeps the data center id, k, n and the key check value. The secrets
 * exist in this process only for the ceremony and are overwritten afterwards; the running data
 * center never sees them. DIR/boxes/vendor-ca.pem is the public CA certificate.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync, webcrypto } from 'node:crypto';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { REPORT_CERT_PREFIX } from '../../shared/postal/wire';
import { TXN_CERT_PREFIX } from '../../shared/rates/rate-signature';
import type { BoxName } from './box-types';
import { randomBytes } from './crypto-kit';
import {
  CUSTODY_FILE,
  DEFAULT_CUSTODIANS,
  DEFAULT_QUORUM,
  DOMAIN_KEY_BYTES,
  checkQuorum,
  keyCheckValue,
  shareCheckValue,
  splitDomainKey,
  type CustodyInfo,
} from './custody';
import { boxFileKey, createNvm, type KeyFileBody } from './nvm';

x509.cryptoProvider.set(webcrypto as never);

export const VENDOR_CA_YEARS = 20;
export const VENDOR_CA_FILE = 'vendor-ca.pem';

export interface InitOptions {
  /** Subject of the vendor CA. */
  vendorName?: string;
  /** Time of the ceremony (tests). */
  now?: Date;
  /** Custodians n and quorum k (defaults 3 and 2). */
  custodians?: number;
  quorum?: number;
}

export interface InitResult {
  vendorCaPem: string;
  /** A random id of this data center, carried by every share. */
  dataCenterId: string;
  /** The custodian share lines (custodian 1 … n); never written under DIR. */
  shares: string[];
  /** Each share's short check value, in the same order. */
  checkValues: string[];
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

/** Runs the key ceremony into DIR/boxes/. Refuses if the boxes are already initialised. */
export async function initBoxes(dataDir: string, opts: InitOptions = {}): Promise<InitResult> {
  const root = join(dataDir, 'boxes');
  if (existsSync(root))
    throw new Error(`initBoxes: ${root} already exists: the boxes are already initialised`);
  const custodians = opts.custodians ?? DEFAULT_CUSTODIANS;
  const quorum = opts.quorum ?? DEFAULT_QUORUM;
  checkQuorum(custodians, quorum);
  const now = opts.now ?? new Date();
  const domainKey = randomBytes(DOMAIN_KEY_BYTES);
  const dataCenterId = `dc-${randomBytes(8).toString('hex')}`;
  const wrapMaster = randomBytes(32);
  const recordMaster = randomBytes(32);
  const verifierKey = randomBytes(32);
  const grantKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const grantPrivate = grantKey.privateKey.export({ format: 'der', type: 'pkcs8' });
  const grantPublic = grantKey.publicKey.export({ format: 'der', type: 'spki' });

  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const caKeys = (await webcrypto.subtle.generateKey(alg, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const notAfter = new Date(now);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + VENDOR_CA_YEARS);
  const serial = randomBytes(8);
  serial[0] = serial[0]! & 0x7f || 0x01;
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial.toString('hex'),
    name: `CN=${opts.vendorName ?? 'VPM Vendor CA'}`,
    notBefore: now,
    notAfter,
    signingAlgorithm: alg,
    keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const caPem = caCert.toString('pem');
  const caPrivate = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', caKeys.privateKey));
  const report = await reportCertificate(caCert, caKeys.privateKey, now, notAfter);
  const txnKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const txnPrivate = txnKey.privateKey.export({ format: 'der', type: 'pkcs8' });
  const txnCertificatePem = await certifyKey(
    caCert,
    caKeys.privateKey,
    now,
    notAfter,
    `CN=${TXN_CERT_PREFIX}${randomBytes(8).toString('hex')}`,
    txnKey.publicKey.export({ format: 'der', type: 'spki' }),
  );

  const seeds: Record<
    BoxName,
    { keys: Record<string, string>; public: Record<string, string>; state: Record<string, unknown> }
  > = {
    meter: {
      keys: {
        wrapMaster: b64(wrapMaster),
        recordMaster: b64(recordMaster),
        reportKey: b64(report.privateKey),
      },
      public: {
        boxId: report.boxId,
        reportCertificatePem: report.certificatePem,
        grantPublicKey: b64(grantPublic),
      },
      state: {},
    },
    steel: {
      keys: {
        wrapMaster: b64(wrapMaster),
        recordMaster: b64(recordMaster),
        caPrivateKey: b64(caPrivate),
      },
      public: { caCertificatePem: caPem },
      state: { 'next:live': 1, 'next:demo': 1 },
    },
    auth: {
      keys: { verifierKey: b64(verifierKey), grantSigningKey: b64(grantPrivate) },
      public: {},
      state: {},
    },
    txn: {
      keys: { signingKey: b64(txnPrivate) },
      public: {
        publicKeyPem: txnKey.publicKey.export({ format: 'pem', type: 'spki' }).toString(),
        certificatePem: txnCertificatePem,
      },
      state: {},
    },
  };
  const shares = await splitDomainKey(domainKey, { dataCenterId, custodians, quorum });
  mkdirSync(root, { recursive: true, mode: 0o700 });
  for (const [box, seed] of Object.entries(seeds)) {
    const body: KeyFileBody = { v: 1, box, keys: seed.keys, public: seed.public };
    const fileKey = boxFileKey(domainKey, box);
    createNvm(join(root, box), body, seed.state, fileKey);
    fileKey.fill(0);
  }
  const custody: CustodyInfo = {
    v: 1,
    dataCenterId,
    custodians,
    quorum,
    keyCheck: keyCheckValue(domainKey, dataCenterId).toString('base64'),
  };
  writeFileSync(join(root, CUSTODY_FILE), `${JSON.stringify(custody, null, 2)}\n`, {
    mode: 0o644,
  });
  writeFileSync(join(root, VENDOR_CA_FILE), caPem, { mode: 0o644 });
  for (const secret of [
    domainKey,
    wrapMaster,
    recordMaster,
    verifierKey,
    grantPrivate,
    caPrivate,
    txnPrivate,
    report.privateKey,
  ])
    secret.fill(0);
  return { vendorCaPem: caPem, dataCenterId, shares, checkValues: shares.map(shareCheckValue) };
}

/** A vendor CA certificate for a signing key (digital signature only, not a CA). */
async function certifyKey(
  caCert: x509.X509Certificate,
  caKey: webcrypto.CryptoKey,
  now: Date,
  notAfter: Date,
  subject: string,
  spki: Buffer,
): Promise<string> {
  const serial = randomBytes(8);
  serial[0] = serial[0]! & 0x7f || 0x01;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial.toString('hex'),
    subject,
    issuer: caCert.subject,
    notBefore: now,
    notAfter,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    publicKey: await webcrypto.subtle.importKey(
      'spki',
      spki,
      { name: 'ECDSA', namedCurve: 'P-256' },
      true,
      ['verify'],
    ),
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
    ],
  });
  return cert.toString('pem');
}

/**
 * The meter box's report key (ECDSA P-256) and its certificate from the vendor CA: the postal
 * authority accepts a box's reports because the vendor it approved certified this key.
 */
async function reportCertificate(
  caCert: x509.X509Certificate,
  caKey: webcrypto.CryptoKey,
  now: Date,
  notAfter: Date,
): Promise<{ boxId: string; certificatePem: string; privateKey: Buffer }> {
  const boxId = randomBytes(8).toString('hex');
  const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = keys.publicKey.export({ format: 'der', type: 'spki' });
  return {
    boxId,
    certificatePem: await certifyKey(
      caCert,
      caKey,
      now,
      notAfter,
      `CN=${REPORT_CERT_PREFIX}${boxId}`,
      spki,
    ),
    privateKey: keys.privateKey.export({ format: 'der', type: 'pkcs8' }),
  };
}
