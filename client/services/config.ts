/**
 * @module services/config
 * Where the client keeps its files and which data center it talks to. The server and CA come from
 * `--server URL --ca FILE`, else `VPM_SERVER` / `VPM_CA`, else what the last sign-on saved. A
 * data center with several API nodes is a comma-separated list of their URLs (`--server` given
 * once per node), kept as one string: the client fails over between them in that order.
 * The config directory is `VPM_HOME`, else the platform's config directory.
 */
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** An address as kept in the config (the print driver's Address shape). */
export interface SavedAddress {
  name: string;
  company?: string;
  street: string;
  street2?: string;
  city: string;
  state: string;
  zip: string;
}

export interface SavedConfig {
  serverUrl?: string;
  caPath?: string;
  username?: string;
  /** Printed on every envelope and label (`vpm settings --return-address`); `--from` overrides it. */
  returnAddress?: SavedAddress;
  /** Envelopes carry the Intelligent Mail barcode (`vpm settings --imb on`); `--imb` per command. */
  imb?: boolean;
}

export function configHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VPM_HOME) return env.VPM_HOME;
  switch (process.platform) {
    case 'win32':
      return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'vpm');
    case 'darwin':
      return join(homedir(), 'Library', 'Application Support', 'vpm');
    default:
      return join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'vpm');
  }
}

/** Writes a file atomically (temp + rename) with the given mode. */
export async function writePrivate(file: string, text: string, mode = 0o600): Promise<void> {
  // Unique per write: two writes of one file in one process never share a temp file.
  const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(tmp, text, { mode });
  await chmod(tmp, mode);
  await rename(tmp, file);
}

export async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(
      `${file}: cannot be read (${(error as Error).message}); delete it and sign in again`,
    );
  }
}

export class ConfigStore {
  constructor(readonly home: string) {}

  async ensure(): Promise<void> {
    await mkdir(this.home, { recursive: true, mode: 0o700 });
  }

  async load(): Promise<SavedConfig> {
    return (await readJson<SavedConfig>(join(this.home, 'config.json'))) ?? {};
  }

  async save(config: SavedConfig): Promise<void> {
    await this.ensure();
    await writePrivate(join(this.home, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  }
}

/** Resolves the data center to use: flags, then environment, then the saved config. */
export function resolveServer(
  flags: { server?: string; ca?: string },
  env: NodeJS.ProcessEnv,
  saved: SavedConfig,
): { serverUrl?: string; caPath?: string } {
  return {
    serverUrl: flags.server ?? env.VPM_SERVER ?? saved.serverUrl,
    caPath: flags.ca ?? env.VPM_CA ?? saved.caPath,
  };
}
