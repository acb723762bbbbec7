/**
 * @module boxes/box-types
 * The box types by name (the folder name under DIR/boxes/): patent parts 38 (steel), 40 (auth),
 * 42 (txn) and 44 (meter). Loaded lazily, so each box process loads only its own code.
 */
import { createHash } from 'node:crypto';
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

/** A meter-box shard's process name: "meter" (shard 0) or "meter-N" (N ≥ 1). */
const SHARD_NAME = /^meter(?:-([1-9][0-9]?))?$/;

/** The shard index of a meter-box process name; undefined for any other name. */
export function shardIndexOf(name: string): number | undefined {
  const m = SHARD_NAME.exec(name);
  return m ? Number(m[1] ?? 0) : undefined;
}

/**
 * Which of `count` shards serves a meter that none has served yet: the first 4 bytes of
 * SHA-256(serial), modulo the count. The nodes route by the same rule; a meter a shard already
 * serves stays with it until a hand-over moves it (pool.ts).
 */
export function shardOfSerial(serial: string, count: number): number {
  return createHash('sha256').update(serial).digest().readUInt32BE(0) % count;
}

/** The name of meter shard `index`: the first shard is the single node's own "meter" box. */
export const shardName = (index: number): ProcessName => (index === 0 ? 'meter' : `meter-${index}`);

/** A box process's name: a box, or a meter shard after the first. */
export type ProcessName = BoxName | `meter-${number}`;

/** A name box-main accepts: a box name, or a meter shard's. */
export function isProcessName(name: string): boolean {
  return isBoxName(name) || shardIndexOf(name) !== undefined;
}

/** The box type a process runs: a meter shard runs the meter box. */
export function boxTypeOf(name: string): Promise<BoxType> {
  return loadBoxType(shardIndexOf(name) !== undefined ? 'meter' : (name as BoxName));
}

/** Environment for a box's child process: this process's, plus the given variables. */
export function nodeChildEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...extra };
}
