/**
 * @module boxes/box-types
 * The box types by name (the folder name under DIR/boxes/): patent parts 38 (steel), 40 (auth),
 * 42 (txn) and 44 (meter). Loaded lazily, so each box process loads only its own code.
 */
import type { BoxType } from './box-program';

export const BOX_NAMES = ['meter', 'steel', 'auth', 'txn'] as const;
export type BoxName = (typeof BOX_NAMES)[number];

export async function loadBoxType(name: BoxName): Promise<BoxType> {
  switch (name) {
    case 'meter':
      return (await import('./meter-box')).meterBox;
    case 'steel':
      return (await import('./steel-box')).steelBox;
    case 'auth':
      return (await import('./auth-box')).authBox;
    case 'txn':
      return (await import('./txn-box')).txnBox;
    default: {
      const missing: never = name;
      throw new Error(`unknown box ${String(missing)}`);
    }
  }
}

export function isBoxName(name: string): name is BoxName {
  return (BOX_NAMES as readonly string[]).includes(name);
}

/** Environment for a box's child process: this process's, plus the given variables. */
export function nodeChildEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...extra };
}
