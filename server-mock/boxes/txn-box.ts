/**
 * @module boxes/txn-box
 * The transaction box (patent part 42): signs user transaction records other than meter records
 * (logins, login history, refill and refund receipts) and later verifies them, with its own
 * ECDSA P-256 key. What is signed is "vpm-txn-v1\n" + canonical JSON of {kind, body}. Its
 * certificate from the vendor CA (made at the key ceremony) lets clients check what it signs for
 * them, such as the rate table (kind "rate-table").
 */
import { createPublicKey } from 'node:crypto';
import { BoxError } from './api';
import { command, secret, type BoxContext, type BoxProgram, type BoxType } from './box-program';
import {
  canonicalJson,
  ecdsaSign,
  ecdsaVerify,
  fromBase64,
  privateKeyFromPkcs8,
} from './crypto-kit';
import * as v from './validate';

const MAX_BODY_BYTES = 64 * 1024;

/** The bytes a transaction record's signature covers. */
export function transactionMessage(kind: string, body: Record<string, unknown>): Buffer {
  return Buffer.from(`vpm-txn-v1\n${canonicalJson({ kind, body })}`, 'utf8');
}

function checkRecord(a: Record<string, unknown>): Buffer {
  const kind = v.text(a.kind, 'kind', 64, /^[a-z][a-z0-9-]*$/);
  const body = v.object(a.body, 'body');
  let message: Buffer;
  try {
    message = transactionMessage(kind, body);
  } catch (error) {
    return v.bad(`body: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (message.length > MAX_BODY_BYTES) v.bad(`body: larger than ${MAX_BODY_BYTES} bytes`);
  return message;
}

function createTxnBox(ctx: BoxContext): BoxProgram {
  const pkcs8 = secret(ctx, 'signingKey');
  let privateKey: ReturnType<typeof privateKeyFromPkcs8> | undefined = privateKeyFromPkcs8(pkcs8);
  const publicKey = createPublicKey(privateKey);

  const sign = command({
    check(args: unknown) {
      const a = v.object(args, 'sign');
      v.exactKeys(a, 'sign', ['kind', 'body']);
      return checkRecord(a);
    },
    work(message: Buffer) {
      if (!privateKey) throw new BoxError('TAMPERED', 'transaction box: zeroized', 'txn');
      return { signature: ecdsaSign(privateKey, message).toString('base64') };
    },
  });

  const verify = command({
    check(args: unknown) {
      const a = v.object(args, 'verify');
      v.exactKeys(a, 'verify', ['kind', 'body', 'signature']);
      const message = checkRecord(a);
      const signature = fromBase64(a.signature);
      if (!signature || signature.length !== 64) {
        throw new BoxError(
          'BAD_SIGNATURE',
          'verify: signature must be 64 bytes of base64 (r || s)',
          'txn',
        );
      }
      return { message, signature };
    },
    work({ message, signature }: { message: Buffer; signature: Buffer }) {
      return { valid: ecdsaVerify(publicKey, message, signature) };
    },
  });

  const certificate = command({
    check(args: unknown) {
      v.exactKeys(v.object(args ?? {}, 'certificate'), 'certificate', []);
      return null;
    },
    work() {
      const pem = ctx.nvm.publicData.certificatePem;
      return { certificatePem: typeof pem === 'string' ? pem : null };
    },
  });

  return {
    commands: { sign, verify, certificate },
    zeroize() {
      privateKey = undefined;
      pkcs8.fill(0);
    },
  };
}

export const txnBox: BoxType = {
  selfTests: ['sha256', 'hmac-sha256', 'hkdf-sha256', 'ecdsa-p256', 'random'],
  create: createTxnBox,
};
