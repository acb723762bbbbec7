/**
 * @module boxes/pool-growth
 * The pool's shard count, kept in each meter shard's NVM rather than taken from the pool process
 * (DESIGN.md "Engines, not home-made scale"). A shard serves a meter no shard has served yet only
 * when the routing rule, with the count in its own NVM, gives it that serial. If the count came
 * from the pool process, an insider driving it could start two shards with different counts, so
 * that both take the same unused meter, and fund both copies with one credit.
 *
 * Growth from N to N′ shards is a two-phase change the shards agree on, with tags under a key
 * only boxes hold (HKDF of the domain key), so the pool process carries them but cannot make them:
 *   1. `poolPrepare` (first shard): it stops taking unused meters and tags "prepare N′";
 *   2. `poolAck` (every other old shard): on the prepare tag, it stops taking unused meters and
 *      tags "ack <shard> N′";
 *   3. `poolCommit` (first shard): with an ack from every old shard, its count becomes N′ and it
 *      tags "commit N′" (from now on it provisions new shards with N′);
 *   4. `poolJoin` (every other shard): on the commit tag, its count becomes N′.
 * A shard between 1 and 4 takes no unused meter (the meters it holds go on), so at no point do
 * two shards apply different counts to an unused meter. A pool stopped half-way finishes at its
 * next start with the same N′; a shard that never hears the commit stays closed to new meters.
 * NVM key "p:pool" → PoolState.
 */
import { BoxError } from './api';
import { command, type BoxContext, type Command } from './box-program';
import { shardName } from './box-types';
import { hmacSha256, sameBytes } from './crypto-kit';
import * as v from './validate';

export interface PoolState {
  /** The shards of the pool; 0 on a shard provisioned before counts were kept (unknown). */
  count: number;
  /** Set from prepare (or ack) to commit (or join): the count the pool is growing to. */
  pending?: number;
}

export const POOL_STATE_KEY = 'p:pool';
const MAX_SHARDS = 64;

/** The shard's pool state: its NVM's, else one shard for the first and unknown for the others. */
export function poolState(ctx: BoxContext): PoolState {
  const held = ctx.nvm.get<PoolState>(POOL_STATE_KEY);
  if (held) return held;
  return { count: (ctx.shard?.index ?? 0) === 0 ? 1 : 0 };
}

/**
 * The count the routing rule uses for a meter no shard has served yet, or undefined when this
 * shard takes none now: while the pool grows, or on a shard whose count is unknown.
 */
export function firstUseCount(ctx: BoxContext): number | undefined {
  const state = poolState(ctx);
  if (state.pending !== undefined || state.count === 0) return undefined;
  return state.count;
}

function fail(message: string): never {
  throw new BoxError('BAD_REQUEST', message, 'meter');
}

const tagOf = (key: Buffer, text: string): string =>
  hmacSha256(key, `vpm-pool-v1|${text}`).toString('base64');

function tagHolds(key: Buffer, text: string, tag: string): boolean {
  const expected = hmacSha256(key, `vpm-pool-v1|${text}`);
  const given = Buffer.from(tag, 'base64');
  return given.length === expected.length && sameBytes(given, expected);
}

/** The growth commands (control pipe only; box-main.ts lists them as such). */
export function poolCommands(ctx: BoxContext): Record<string, Command<never, unknown>> {
  const index = ctx.shard?.index ?? 0;
  const key = (): Buffer => {
    if (!ctx.poolKey) fail('pool: this box is not a meter shard');
    return ctx.poolKey;
  };
  const target = (args: unknown, what: string, extra: readonly string[] = []) => {
    const a = v.object(args, what);
    v.exactKeys(a, what, ['to', ...extra]);
    return { a, to: v.integer(a.to, `${what}.to`, 2, MAX_SHARDS) };
  };
  const firstOnly = (what: string) => {
    if (index !== 0) fail(`${what}: only the first meter shard leads a growth`);
  };
  const othersOnly = (what: string) => {
    if (index === 0) fail(`${what}: the first meter shard leads the growth; it takes no ${what}`);
  };

  const poolPrepare = command({
    check(args: unknown) {
      firstOnly('poolPrepare');
      return target(args, 'poolPrepare').to;
    },
    work(to: number) {
      const state = poolState(ctx);
      if (state.pending !== undefined && state.pending !== to)
        fail(
          `poolPrepare: the pool is growing to ${state.pending} shards; start it with --shards ${state.pending} to finish that first`,
        );
      if (state.pending === undefined) {
        if (to <= state.count)
          fail(`poolPrepare: the pool has ${state.count} shards already; it only grows`);
        ctx.nvm.stage(POOL_STATE_KEY, { count: state.count, pending: to } satisfies PoolState);
      }
      return { from: state.count, to, prepared: tagOf(key(), `prepare|${to}`) };
    },
  });

  const poolAck = command({
    check(args: unknown) {
      othersOnly('poolAck');
      const { a, to } = target(args, 'poolAck', ['prepared']);
      return { to, prepared: v.text(a.prepared, 'poolAck.prepared', 100) };
    },
    work({ to, prepared }: { to: number; prepared: string }) {
      if (!tagHolds(key(), `prepare|${to}`, prepared))
        fail('poolAck: the prepare tag is not the first shard’s');
      const state = poolState(ctx);
      if (state.pending !== undefined && state.pending !== to)
        fail(`poolAck: this shard is growing to ${state.pending} shards, not ${to}`);
      if (to <= state.count) fail(`poolAck: this shard counts ${state.count} shards already`);
      if (state.pending === undefined)
        ctx.nvm.stage(POOL_STATE_KEY, { count: state.count, pending: to } satisfies PoolState);
      return { shard: index, ack: tagOf(key(), `ack|${shardName(index)}|${to}`) };
    },
  });

  const poolCommit = command({
    check(args: unknown) {
      firstOnly('poolCommit');
      const { a, to } = target(args, 'poolCommit', ['acks']);
      const acks = v.object(a.acks, 'poolCommit.acks');
      const byShard = new Map<string, string>();
      for (const [name, tag] of Object.entries(acks))
        byShard.set(name, v.text(tag, `poolCommit.acks.${name}`, 100));
      return { to, acks: byShard };
    },
    work({ to, acks }: { to: number; acks: Map<string, string> }) {
      const state = poolState(ctx);
      const committed = tagOf(key(), `commit|${to}`);
      if (state.pending === undefined && state.count === to) return { count: to, committed };
      if (state.pending !== to)
        fail(`poolCommit: the pool was not prepared to grow to ${to} shards (poolPrepare first)`);
      // Every shard that could take unused meters under the old count has stopped doing so.
      for (let i = 1; i < state.count; i++) {
        const name = shardName(i);
        const tag = acks.get(name);
        if (!tag || !tagHolds(key(), `ack|${name}|${to}`, tag))
          fail(`poolCommit: no valid ack from shard ${name}; it may still take unused meters`);
      }
      ctx.nvm.stage(POOL_STATE_KEY, { count: to } satisfies PoolState);
      return { count: to, committed };
    },
  });

  const poolJoin = command({
    check(args: unknown) {
      othersOnly('poolJoin');
      const { a, to } = target(args, 'poolJoin', ['committed']);
      return { to, committed: v.text(a.committed, 'poolJoin.committed', 100) };
    },
    work({ to, committed }: { to: number; committed: string }) {
      if (!tagHolds(key(), `commit|${to}`, committed))
        fail('poolJoin: the commit tag is not the first shard’s');
      if (index >= to) fail(`poolJoin: shard ${shardName(index)} is outside a pool of ${to}`);
      const state = poolState(ctx);
      if (state.pending !== undefined && state.pending !== to)
        fail(`poolJoin: this shard is growing to ${state.pending} shards, not ${to}`);
      if (state.count > to) fail(`poolJoin: this shard counts ${state.count} shards already`);
      if (state.count !== to || state.pending !== undefined)
        ctx.nvm.stage(POOL_STATE_KEY, { count: to } satisfies PoolState);
      return { shard: index, count: to };
    },
  });

  const poolStatus = command({
    check: (args: unknown) => {
      v.exactKeys(v.object(args, 'poolStatus'), 'poolStatus', []);
    },
    work: () => poolState(ctx),
  });

  return { poolPrepare, poolAck, poolCommit, poolJoin, poolStatus };
}

/** The names of the growth commands, served on the pool's control pipe only. */
export const POOL_COMMANDS = ['poolPrepare', 'poolAck', 'poolCommit', 'poolJoin', 'poolStatus'];
