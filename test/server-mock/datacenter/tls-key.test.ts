/**
 * The data center's TLS server key at rest (communication/tls.ts): sealed under the domain key,
 * so an operator with the data directory, or a backup of it, holds no key that could impersonate
 * the server. Attacked as that operator: looking for a private key in any file, altering the
 * sealed key, and leaving a plaintext key from an older init (sealed and removed at the start).
 */
import { createPublicKey, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDataCenter } from '../../../server-mock/index';
import { openTlsKey, tlsPaths, tlsSealKey } from '../../../server-mock/communication/tls';
import { domainKeyOf } from '../../helpers/boxes';
import { startTestDataCenter, type TestDataCenter } from '../../helpers/datacenter';
import { filesUnder } from '../../helpers/files';

let t: TestDataCenter;
beforeAll(async () => {
  t = await startTestDataCenter();
});
afterAll(async () => {
  await t.close();
});

/** The public key of the certificate the running server presents. */
function presentedKey(url: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: '127.0.0.1', port: Number(port), rejectUnauthorized: false },
      () => {
        const raw = socket.getPeerX509Certificate();
        socket.end();
        if (!raw) reject(new Error('no certificate'));
        else resolve(raw.publicKey.export({ type: 'spki', format: 'pem' }).toString());
      },
    );
    socket.on('error', reject);
  });
}

describe('the TLS server key', () => {
  it('is nowhere in plaintext under DIR, and the key the server uses opens only with the shares', async () => {
    const paths = tlsPaths(t.dir);
    expect(existsSync(paths.keyPath)).toBe(false);
    expect(existsSync(paths.sealedKeyPath)).toBe(true);
    for (const path of filesUnder(t.dir))
      expect(readFileSync(path).includes('PRIVATE KEY'), path).toBe(false);
    const pem = await openTlsKey(t.dir, tlsSealKey(await domainKeyOf(t.dir, t.shares)));
    const cert = new X509Certificate(readFileSync(paths.certPath));
    const ours = createPublicKey(pem).export({ type: 'spki', format: 'pem' }).toString();
    expect(ours).toBe(cert.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    expect(await presentedKey(t.running.url)).toBe(ours);
    // Under another key (another data center's, or a guess), it does not open.
    await expect(openTlsKey(t.dir, Buffer.alloc(32, 1))).rejects.toThrow(
      /does not open with this data center's domain key/,
    );
  });

  it('refuses to start when the sealed key was altered, naming the file; nothing else changes', async () => {
    await t.running.close();
    const { sealedKeyPath } = tlsPaths(t.dir);
    const saved = readFileSync(sealedKeyPath);
    const altered = Buffer.from(saved);
    altered[20] = altered[20]! ^ 1;
    writeFileSync(sealedKeyPath, altered);
    try {
      await expect(startDataCenter({ dataDir: t.dir, port: 0, shares: t.shares })).rejects.toThrow(
        /server-key\.sealed does not open .* altered or comes from another data center/,
      );
      expect(readFileSync(sealedKeyPath)).toEqual(altered);
    } finally {
      writeFileSync(sealedKeyPath, saved);
    }
    t.running = await startDataCenter({ dataDir: t.dir, port: 0, shares: t.shares });
    const c = await t.mailer();
    expect((await c.account()).balanceCents).toBe(0);
  });

  it('seals a plaintext key left by an older init at the next start, and removes it', async () => {
    const paths = tlsPaths(t.dir);
    const pem = await openTlsKey(t.dir, tlsSealKey(await domainKeyOf(t.dir, t.shares)));
    await t.running.close();
    writeFileSync(paths.keyPath, pem, { mode: 0o600 });
    await rm(paths.sealedKeyPath);
    t.running = await startDataCenter({ dataDir: t.dir, port: 0, shares: t.shares });
    expect(existsSync(paths.keyPath)).toBe(false);
    expect(existsSync(paths.sealedKeyPath)).toBe(true);
    const key = createPublicKey(pem).export({ type: 'spki', format: 'pem' }).toString();
    expect(await presentedKey(t.running.url)).toBe(key);
    const c = await t.mailer();
    expect((await c.account()).balanceCents).toBe(0);
  });
});
