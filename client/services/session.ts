/**
 * @module services/session
 * Sign-up, sign-on, sign-out and session renewal for the client. With an OS keychain the
 * password and the session token are kept there, so another process (or the next run) signs in
 * from the keychain and an expired session is renewed without asking. Without one, only the
 * session token is kept, in `session.json` (mode 0600). The password never touches the disk.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as Api from '../../shared/api/schemas';
import { ConfigStore, readJson, resolveServer, writePrivate, type SavedConfig } from './config';
import { DataCenterClient, DataCenterError } from './datacenter-client';
import type { Keychain } from './keychain';

interface StoredSession {
  serverUrl: string;
  username: string;
  token: string;
  expiresAt: string;
}

export class NotSignedInError extends Error {
  readonly code = 'NOT_SIGNED_IN';
  constructor(message = 'not signed in: run vpm login --user NAME (or sign in in the app)') {
    super(message);
    this.name = 'NotSignedInError';
  }
}

const passwordAccount = (serverUrl: string, username: string) =>
  `password:${username}@${serverUrl}`;
const tokenAccount = (serverUrl: string, username: string) => `session:${username}@${serverUrl}`;

export class SessionManager {
  private client: DataCenterClient | undefined;
  readonly config: ConfigStore;

  constructor(
    readonly home: string,
    readonly keychain: Keychain,
    private readonly flags: { server?: string; ca?: string } = {},
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.config = new ConfigStore(home);
  }

  private get sessionFile(): string {
    return join(this.home, 'session.json');
  }

  /** The data center to talk to, with its pinned CA. */
  async server(saved?: SavedConfig): Promise<{ serverUrl: string; caPem: string; caPath: string }> {
    const { serverUrl, caPath } = resolveServer(
      this.flags,
      this.env,
      saved ?? (await this.config.load()),
    );
    if (!serverUrl)
      throw new NotSignedInError(
        'no data center configured: pass --server URL --ca FILE (or set VPM_SERVER and VPM_CA)',
      );
    if (!caPath)
      throw new NotSignedInError(
        `no CA for ${serverUrl}: pass --ca FILE (the data center prints its CA path at start)`,
      );
    let caPem: string;
    try {
      caPem = await readFile(caPath, 'utf8');
    } catch {
      throw new NotSignedInError(
        `CA file ${caPath}: cannot be read; pass --ca with the data center's ca.pem`,
      );
    }
    return { serverUrl, caPem, caPath };
  }

  private async newClient(token?: string): Promise<DataCenterClient> {
    const { serverUrl, caPem } = await this.server();
    await this.client?.close();
    this.client = new DataCenterClient({ serverUrl, caPem, token });
    return this.client;
  }

  async signUp(request: Api.SignUpRequest): Promise<Api.Account> {
    const client = await this.newClient();
    return client.signUp(request);
  }

  /** Signs in; saves the server, CA and user name, and the credentials in the keychain. */
  async signIn(username: string, password: string, remember = true): Promise<Api.SignInResponse> {
    const { serverUrl, caPath } = await this.server();
    const client = await this.newClient();
    const response = await client.signIn({ username, password });
    await this.config.save({ ...(await this.config.load()), serverUrl, caPath, username });
    const stored: StoredSession = {
      serverUrl,
      username,
      token: response.session.token,
      expiresAt: response.session.expiresAt,
    };
    if (this.keychain.kind === 'os') {
      if (remember) await this.keychain.set(passwordAccount(serverUrl, username), password);
      await this.keychain.set(tokenAccount(serverUrl, username), JSON.stringify(stored));
    } else {
      await writePrivate(this.sessionFile, JSON.stringify(stored, null, 2) + '\n');
    }
    return response;
  }

  private async storedSession(): Promise<StoredSession | undefined> {
    const saved = await this.config.load();
    const { serverUrl } = resolveServer(this.flags, this.env, saved);
    if (!saved.username || !serverUrl) return undefined;
    if (this.keychain.kind === 'os') {
      const text = await this.keychain.get(tokenAccount(serverUrl, saved.username));
      return text ? (JSON.parse(text) as StoredSession) : undefined;
    }
    const file = await readJson<StoredSession>(this.sessionFile);
    return file && file.serverUrl === serverUrl ? file : undefined;
  }

  /** Signs in again with the keychain's password; false if there is none. */
  async renew(): Promise<boolean> {
    const saved = await this.config.load();
    const { serverUrl } = resolveServer(this.flags, this.env, saved);
    if (this.keychain.kind !== 'os' || !saved.username || !serverUrl) return false;
    const password = await this.keychain.get(passwordAccount(serverUrl, saved.username));
    if (!password) return false;
    await this.signIn(saved.username, password, true);
    return true;
  }

  /** A client with a live session: the stored one, or a renewal from the keychain. */
  async connect(): Promise<DataCenterClient> {
    if (this.client?.token) return this.client;
    const stored = await this.storedSession();
    if (stored && Date.parse(stored.expiresAt) > Date.now() + 60_000)
      return this.newClient(stored.token);
    if (await this.renew()) return this.client as DataCenterClient;
    throw new NotSignedInError(stored ? 'session expired: run vpm login again' : undefined);
  }

  /** Runs a call; if the session ended meanwhile (a long batch), renews once and runs it again. */
  async call<T>(work: (client: DataCenterClient) => Promise<T>): Promise<T> {
    const client = await this.connect();
    try {
      return await work(client);
    } catch (error) {
      if (
        error instanceof DataCenterError &&
        (error.code === 'SESSION_EXPIRED' || error.code === 'UNAUTHENTICATED')
      ) {
        this.client = undefined;
        if (await this.renew()) return work(this.client as unknown as DataCenterClient);
        throw new NotSignedInError('session ended: run vpm login again');
      }
      throw error;
    }
  }

  /** Signs out at the data center and removes the keychain items and the session file. */
  async signOut(): Promise<void> {
    const saved = await this.config.load();
    const { serverUrl } = resolveServer(this.flags, this.env, saved);
    try {
      const stored = await this.storedSession();
      if (stored) await (await this.newClient(stored.token)).signOut();
    } catch (error) {
      if (!(error instanceof DataCenterError)) throw error; // signed out locally even if the server is gone
    }
    if (saved.username && serverUrl) {
      await this.keychain.delete(passwordAccount(serverUrl, saved.username));
      await this.keychain.delete(tokenAccount(serverUrl, saved.username));
    }
    await writePrivate(this.sessionFile, '{}\n').catch(() => undefined);
    const { rm } = await import('node:fs/promises');
    await rm(this.sessionFile, { force: true });
    this.client = undefined;
  }

  async close(): Promise<void> {
    await this.client?.close();
    this.client = undefined;
  }
}
