/**
 * @module services/keychain
 * Credentials in the OS keychain (keytar: Keychain on macOS, Credential Vault on Windows, Secret
 * Service on Linux). Where none is reachable (a headless server) or with `VPM_KEYCHAIN=none`,
 * the keychain is "none" and callers keep only the session token, in a 0600 file.
 */
export const KEYCHAIN_SERVICE = 'virtual-postage-meter';

export interface Keychain {
  readonly kind: 'os' | 'none';
  get(account: string): Promise<string | null>;
  set(account: string, secret: string): Promise<void>;
  delete(account: string): Promise<boolean>;
}

/** No keychain: nothing is stored (headless machines, VPM_KEYCHAIN=none, the demo). */
export const NO_KEYCHAIN: Keychain = {
  kind: 'none',
  get: async () => null,
  set: async () => undefined,
  delete: async () => false,
};

/** The OS keychain if it answers, else the "none" keychain. */
export async function openKeychain(env: NodeJS.ProcessEnv = process.env): Promise<Keychain> {
  if (env.VPM_KEYCHAIN === 'none') return NO_KEYCHAIN;
  try {
    const keytar = (await import('keytar')).default;
    await keytar.findCredentials(KEYCHAIN_SERVICE); // throws when no Secret Service is reachable
    return {
      kind: 'os',
      get: (account) => keytar.getPassword(KEYCHAIN_SERVICE, account),
      set: (account, secret) => keytar.setPassword(KEYCHAIN_SERVICE, account, secret),
      delete: (account) => keytar.deletePassword(KEYCHAIN_SERVICE, account),
    };
  } catch {
    return NO_KEYCHAIN;
  }
}
