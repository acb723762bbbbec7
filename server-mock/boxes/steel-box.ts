/**
 * @module boxes/steel-box
 * The steel box of the key management system (patent part 38): creates meter accounts. For each
 * new meter: a unique serial (device ID, "VPM" or demo "VPD" + 9 random digits, so serials do not
 * tell how many meters exist; the serials issued are kept in this box's NVM), an ECDSA P-256 token key pair (pairwise-consistency tested), the private key
 * wrapped for the meter box under HKDF(wrap master, serial), an X.509 certificate for the public
 * key signed by the vendor CA, registers and counter at zero, and the first MACed meter record —
 * the record the meter box accepts as the meter's first use.
 */
import { generateKeyPairSync, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { certificateSerialHex } from '../../shared/indicium/verify';
import { BoxError, type MeterRecord } from './api';
import { command, secret, type BoxContext, type BoxProgram, type BoxType } from './box-program';
import { pairwiseConsistent, randomBytes } from './crypto-kit';
import { macRecord, periodOf, wrapTokenKey } from './record-mac';
import * as v from './validate';

x509.cryptoProvider.set(webcrypto as never);

export const METER_CERT_YEARS = 10;
const ECDSA = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
const MAX_SERIAL_NUMBER = 999_999_999;

async function createSteelBox(ctx: BoxContext): Promise<BoxProgram> {
  const wrapMaster = secret(ctx, 'wrapMaster', 32);
  const recordMaster = secret(ctx, 'recordMaster', 32);
  const caPkcs8 = secret(ctx, 'caPrivateKey');
  const caPem = ctx.nvm.publicData.caCertificatePem ?? '';
  const caCert = new x509.X509Certificate(caPem);
  let caKey: webcrypto.CryptoKey | undefined = await webcrypto.subtle.importKey(
    'pkcs8',
    caPkcs8,
    ECDSA,
    false,
    ['sign'],
  );

  /**
   * A serial no meter had: 9 random digits, never one issued before (kept in the NVM as
   * "serial:<serial>"), nor one below the sequential counter of boxes made before serials were
   * random.
   */
  function newSerial(prefix: 'VPM' | 'VPD'): string {
    const sequentialUpTo = ctx.nvm.get<number>(prefix === 'VPD' ? 'next:demo' : 'next:live') ?? 1;
    for (let attempt = 0; attempt < 1000; attempt++) {
      const draw = randomBytes(4).readUInt32BE(0);
      if (draw >= 4_000_000_000) continue; // keeps the draw uniform over 10^9
      const number = draw % 1_000_000_000;
      if (number < sequentialUpTo || number > MAX_SERIAL_NUMBER) continue;
      const serial = `${prefix}${String(number).padStart(9, '0')}`;
      if (ctx.nvm.get<boolean>(`serial:${serial}`) === undefined) return serial;
    }
    return v.bad('createMeter: no unused serial number found');
  }

  const createMeter = command({
    check(args: unknown) {
      const a = v.object(args, 'createMeter');
      v.exactKeys(a, 'createMeter', ['accountId', 'demo']);
      return { accountId: v.text(a.accountId, 'accountId', 128), demo: v.bool(a.demo, 'demo') };
    },
    async work({ accountId, demo }: { accountId: string; demo: boolean }) {
      if (!caKey) throw new BoxError('TAMPERED', 'steel box: zeroized', 'steel');
      const serial = newSerial(demo ? 'VPD' : 'VPM');
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      if (!pairwiseConsistent(privateKey, publicKey)) {
        throw new BoxError(
          'SELF_TEST_FAILED',
          'steel box: new token key pair failed the pairwise-consistency test',
          'steel',
        );
      }
      const keyVersion = 1;
      const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
      const wrappedKey = wrapTokenKey(wrapMaster, serial, keyVersion, pkcs8);
      pkcs8.fill(0);
      const serialBytes = randomBytes(8);
      serialBytes[0] = serialBytes[0]! & 0x7f || 0x01; // positive, minimal DER INTEGER
      const now = ctx.now();
      const notAfter = new Date(now);
      notAfter.setUTCFullYear(notAfter.getUTCFullYear() + METER_CERT_YEARS);
      const spki = publicKey.export({ format: 'der', type: 'spki' });
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber: serialBytes.toString('hex'),
        subject: `CN=${serial}`,
        issuer: caCert.subject,
        notBefore: now,
        notAfter,
        signingAlgorithm: SIGNING,
        publicKey: await webcrypto.subtle.importKey('spki', spki, ECDSA, true, ['verify']),
        signingKey: caKey,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
        ],
      });
      const record: MeterRecord = macRecord(
        recordMaster,
        {
          serial,
          accountId,
          status: 'active',
          demo,
          ascendingCents: 0,
          descendingCents: 0,
          creditedCents: 0,
          counter: 0,
          wrappedKey,
          certificateSerial: certificateSerialHex(cert),
          keyVersion,
        },
        periodOf(now),
      );
      ctx.nvm.stage(`serial:${serial}`, true);
      return { record, certificatePem: cert.toString('pem') };
    },
  });

  const vendorCa = command({
    check(args: unknown) {
      if (args !== undefined && args !== null)
        v.exactKeys(v.object(args, 'vendorCa'), 'vendorCa', []);
      return null;
    },
    work() {
      return { certificatePem: caPem };
    },
  });

  return {
    commands: { createMeter, vendorCa },
    zeroize() {
      caKey = undefined;
      wrapMaster.fill(0);
      recordMaster.fill(0);
      caPkcs8.fill(0);
    },
  };
}

export const steelBox: BoxType = {
  selfTests: ['sha256', 'hmac-sha256', 'aes-256-gcm', 'hkdf-sha256', 'ecdsa-p256', 'random'],
  create: createSteelBox,
};
