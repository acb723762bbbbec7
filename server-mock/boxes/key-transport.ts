/**
 * @module boxes/key-transport
 * How the domain key travels to a box (DESIGN.md "Custody"): sealed to the box's ephemeral X25519
 * public key, which the box announces in its start-up frame and whose private half never leaves
 * its memory. The sender makes its own ephemeral X25519 pair, derives an AES-256-GCM key with
 * HKDF from the shared secret and both public keys, and seals the domain key with the box name as
 * associated data. At a start the data center seals the key it combined from the custodians'
 * shares; when supervision restarts a killed box, a running sibling box seals its copy, so the key
 * lives only in box memory.
 */
import { createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { aesGcmOpen, aesGcmSeal, fromBase64, hkdf } from './crypto-kit';

export interface SealedKey {
  /** base64 SPKI DER of the sender's ephemeral X25519 key. */
  ephemeralPublicKey: string;
  /** base64 iv || ciphertext || tag. */
  sealed: string;
}

export interface TransportKeyPair {
  /** base64 SPKI DER, sent in the box's start-up frame. */
  publicKey: string;
  privateKey: KeyObject;
}

export function transportKeyPair(): TransportKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  return {
    publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
    privateKey,
  };
}

function x25519Public(base64: string): KeyObject | undefined {
  const der = fromBase64(base64);
  if (!der) return undefined;
  try {
    const key = createPublicKey({ key: der, format: 'der', type: 'spki' });
    return key.asymmetricKeyType === 'x25519' ? key : undefined;
  } catch {
    return undefined;
  }
}

const aad = (box: string): string => `vpm-unlock-v1|${box}`;

function wrapKey(shared: Buffer, senderPublic: string, recipientPublic: string): Buffer {
  const key = hkdf(shared, 'vpm-unlock-v1', `${senderPublic}|${recipientPublic}`);
  shared.fill(0);
  return key;
}

/** Seals `secret` to a box's announced public key; undefined if that key is not X25519. */
export function sealToBox(
  recipientPublicKey: string,
  box: string,
  secret: Uint8Array,
): SealedKey | undefined {
  const recipient = x25519Public(recipientPublicKey);
  if (!recipient) return undefined;
  const mine = transportKeyPair();
  const key = wrapKey(
    diffieHellman({ privateKey: mine.privateKey, publicKey: recipient }),
    mine.publicKey,
    recipientPublicKey,
  );
  const sealed = aesGcmSeal(key, secret, aad(box));
  key.fill(0);
  return { ephemeralPublicKey: mine.publicKey, sealed: sealed.toString('base64') };
}

/** Opens what sealToBox made for this box; undefined when it does not open. */
export function openForBox(
  mine: TransportKeyPair,
  box: string,
  message: SealedKey,
): Buffer | undefined {
  const sender = x25519Public(message.ephemeralPublicKey);
  const sealed = fromBase64(message.sealed);
  if (!sender || !sealed) return undefined;
  const key = wrapKey(
    diffieHellman({ privateKey: mine.privateKey, publicKey: sender }),
    message.ephemeralPublicKey,
    mine.publicKey,
  );
  const opened = aesGcmOpen(key, sealed, aad(box));
  key.fill(0);
  return opened;
}
