/**
 * @module boxes/pool-client
 * An API node's view of the box pool (pool.ts): the steel box and one RemoteBox per meter shard,
 * each reached over the channel. Meter commands go to the shard the serial hashes to under the
 * pool's shard count (SOCKETDIR/pool.json); a shard that answers WRONG_SHARD makes the node
 * re-read the count (the pool grew) and route again, once.
 */
import { decodeIndicium } from '../../shared/indicium/codec';
import { BoxError, type Boxes } from './api';
import { shardName, shardOfSerial } from './box-types';
import { socketPath } from './channel';
import { readPoolInfo } from './pool';
import { RemoteBox } from './remote-box';

type MeterBox = Boxes['meter'];

/** The serial a meter command is about (what the node routes by). */
function serialOf(cmd: string, args: unknown): string {
  const a = (args ?? {}) as { record?: { serial?: unknown }; serial?: unknown; indicium?: unknown };
  if (typeof a.record?.serial === 'string') return a.record.serial;
  if (typeof a.serial === 'string') return a.serial;
  if (cmd === 'verifyIndicium' && typeof a.indicium === 'string') {
    try {
      return decodeIndicium(Buffer.from(a.indicium, 'base64')).fields.deviceId;
    } catch {
      return ''; // any shard refuses it with BAD_REQUEST
    }
  }
  throw new BoxError('BAD_REQUEST', `box pool: ${cmd} names no meter`);
}

export class PoolClient {
  private shards: RemoteBox[] = [];
  readonly steel: RemoteBox;

  constructor(
    private readonly socketDir: string,
    private readonly key: Buffer,
  ) {
    this.steel = new RemoteBox('steel', socketPath(socketDir, 'steel'), key);
    if (!this.reload())
      throw new BoxError(
        'BOX_UNAVAILABLE',
        `box pool: no ${socketDir}/pool.json: start the pool first (vpm datacenter boxes start --data DIR --boxes ${socketDir})`,
      );
  }

  get shardCount(): number {
    return this.shards.length;
  }

  /** Re-reads the pool's shard count; true if it is known. */
  private reload(): boolean {
    const info = readPoolInfo(this.socketDir);
    if (!info) return false;
    if (info.shards !== this.shards.length) {
      for (const shard of this.shards) shard.close();
      this.shards = Array.from(
        { length: info.shards },
        (_, i) => new RemoteBox(shardName(i), socketPath(this.socketDir, shardName(i)), this.key),
      );
    }
    return true;
  }

  /** Sends a meter command to the shard that serves the meter. */
  async meterCall<T>(cmd: string, args: unknown): Promise<T> {
    const serial = serialOf(cmd, args);
    const route = () => this.shards[shardOfSerial(serial, this.shards.length)]!;
    try {
      return await route().call<T>(cmd, args);
    } catch (error) {
      if (!(error instanceof BoxError) || error.code !== 'WRONG_SHARD') throw error;
      const was = this.shards.length;
      this.reload();
      if (this.shards.length === was)
        throw new BoxError(
          'BOX_UNAVAILABLE',
          `box pool: ${error.message}; the pool's shard count (${was}) is being changed: try again shortly`,
          error.box,
        );
      return route().call<T>(cmd, args);
    }
  }

  /** The meter box API, routed by serial. The postal witness needs a node's own meter box. */
  meter(): MeterBox {
    const call =
      <A, R>(cmd: string) =>
      (args: A): Promise<R> =>
        this.meterCall<R>(cmd, args);
    const noWitness = (): never => {
      throw new BoxError(
        'BAD_REQUEST',
        'box pool: the postal witness runs with a node that has its own meter box (no --boxes)',
      );
    };
    return {
      dispense: call('dispense'),
      credit: call('credit'),
      remac: call('remac'),
      reinstate: call('reinstate'),
      suspension: call('suspension'),
      recover: call('recover'),
      verifyIndicium: call('verifyIndicium'),
      witnessChallenge: noWitness,
      witnessReceipt: noWitness,
      witnessStatus: noWitness,
    };
  }

  /** 'up' for each pooled box whose last call got an answer. */
  status(): Record<string, 'up' | 'down'> {
    return Object.fromEntries(
      [this.steel, ...this.shards].map((box) => [box.name, box.up ? 'up' : 'down']),
    );
  }

  close(): void {
    this.steel.close();
    for (const shard of this.shards) shard.close();
    this.key.fill(0);
  }
}
