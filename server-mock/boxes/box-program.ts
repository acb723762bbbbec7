/**
 * @module boxes/box-program
 * What a box type plugs into the box process (box-main.ts): the self-tests it needs and its
 * commands. Each command is a `check` (validate the arguments, touch nothing) and a `work`
 * (act on checked arguments, staging NVM changes only once nothing can fail any more), after
 * webcrypto-core's checkSign()/onSign() split.
 */
import { TamperError, type Nvm } from './nvm';
import type { SelfTestAlgorithm } from './self-test';

export interface BoxContext {
  nvm: Nvm;
  /** The box's clock (the test harness can pin it; see box-hooks.ts). */
  now(): Date;
  /** A line for the data center's log. Never pass secrets. */
  log(message: string): void;
  /** The process's box name ("meter", "meter-2", "steel", …). */
  name?: string;
  /** A meter shard's place in its pool (a single node's meter box: index 0 of 1). */
  shard?: { index: number; count: number };
  /** Seals a meter's NVM entry for a hand-over between shards (HKDF of the domain key). */
  handoverKey?: Buffer;
  /** Tags the steps of a pool's growth between shards (pool-growth.ts; HKDF of the domain key). */
  poolKey?: Buffer;
}

export interface Command<A = unknown, R = unknown> {
  check(args: unknown): A;
  work(args: A): R | Promise<R>;
}

export interface BoxProgram {
  commands: Record<string, Command<never, unknown>>;
  /** Tamper response: drop every secret the program holds in memory. */
  zeroize(): void;
}

export interface BoxType {
  selfTests: readonly SelfTestAlgorithm[];
  create(ctx: BoxContext): BoxProgram | Promise<BoxProgram>;
}

/** Helps TypeScript infer a command's checked-argument type. */
export function command<A, R>(c: Command<A, R>): Command<never, unknown> {
  return c as unknown as Command<never, unknown>;
}

/** A required secret from the box's key file. */
export function secret(ctx: BoxContext, name: string, length?: number): Buffer {
  const key = ctx.nvm.keys[name];
  if (!key || (length !== undefined && key.length !== length)) {
    throw new TamperError(`keys.json has no valid ${name}`);
  }
  return key;
}
