/**
 * @module boxes/channel
 * The mutually authenticated link between an API node and a pooled box (a meter-box shard or the
 * steel box), the way a data center reaches a network HSM (DESIGN.md "Engines, not home-made
 * scale"; patent Fig. 1: the boxes on the data center's internal network). One host: a Unix
 * socket carrying TLS 1.2 with a pre-shared key (RFC 4279/5489, ECDHE-PSK with ChaCha20-Poly1305,
 * OpenSSL through node:tls). The key is the channel key, HKDF(domain key, "vpm-box-channel-v1"):
 * only a process that held a quorum of custodian shares at its start (a pool box, an API node)
 * has it. Both sides prove knowledge of it in the handshake (the TLS Finished messages), every
 * record is sealed with an AEAD under keys from a fresh ECDHE exchange (forward secrecy), and
 * TLS's record sequence numbers make a replayed, reordered or forged frame fail to open: the
 * receiver drops the connection.
 */
import { chmodSync, existsSync, rmSync } from 'node:fs';
import tls from 'node:tls';
import { hkdf } from './crypto-kit';

/** The only cipher suite either side offers: ECDHE-PSK, AEAD. */
export const CHANNEL_CIPHERS = 'ECDHE-PSK-CHACHA20-POLY1305';
const IDENTITY = 'vpm-node-v1';

/** The channel key: one-way from the domain key, so holding it opens no NVM and mints nothing. */
export function channelKey(domainKey: Uint8Array): Buffer {
  return hkdf(domainKey, 'vpm-box-channel-v1', 'psk');
}

/** Where a pooled box listens: SOCKETDIR/<box>.sock. */
export const socketPath = (socketDir: string, box: string): string => `${socketDir}/${box}.sock`;

/** A TLS-PSK server on a Unix socket; `onConnection` gets each authenticated connection. */
export function listenChannel(
  path: string,
  key: Buffer,
  onConnection: (socket: tls.TLSSocket) => void,
  onRefused: (reason: string) => void,
): Promise<tls.Server> {
  const psk = Buffer.from(key);
  const server = tls.createServer(
    {
      ciphers: CHANNEL_CIPHERS,
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      pskCallback: (_socket, identity) => (identity === IDENTITY ? psk : null),
    },
    onConnection,
  );
  server.on('tlsClientError', (error: Error & { code?: string }) =>
    onRefused(`channel: refused a connection (${error.code ?? error.message})`),
  );
  server.on('close', () => psk.fill(0));
  if (existsSync(path)) rmSync(path); // a socket left by a killed box
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      chmodSync(path, 0o600);
      resolve(server);
    });
  });
}

/** Connects to a pooled box; resolves once the handshake proved both sides hold the key. */
export function connectChannel(path: string, key: Buffer): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      path,
      ciphers: CHANNEL_CIPHERS,
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      // PSK authenticates the server; there is no certificate to check.
      checkServerIdentity: () => undefined,
      pskCallback: () => ({ psk: key, identity: IDENTITY }),
    });
    socket.once('secureConnect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}
