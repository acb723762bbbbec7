/**
 * @module boxes/remote-box
 * An API node's side of one pooled box (a meter-box shard or the steel box) over the channel
 * (channel.ts): connects on first use, frames commands as box-process.ts does over a pipe,
 * correlates answers by id. When the box is down (killed, restarting) a call fails at once with
 * BOX_UNAVAILABLE, and so does every call pending on a connection that drops; the next call
 * connects again. A command cut off that way may have run: the data center's recovery path
 * (FRESHNESS_MISMATCH → recover) settles it, as after a box restart on one node.
 */
import type { TLSSocket } from 'node:tls';
import { BoxError } from './api';
import { connectChannel } from './channel';
import { FrameReader, PROTOCOL_VERSION, encodeFrame, type AnswerFrame } from './protocol';

interface Pending {
  resolve(value: unknown): void;
  reject(error: BoxError): void;
}

export class RemoteBox {
  private socket: TLSSocket | undefined;
  private connecting: Promise<TLSSocket> | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Frames of this turn of the event loop, written together (one TLS record for many calls). */
  private outbox: Buffer[] = [];
  /** True while connected (health: a pooled box is up). */
  up = false;

  constructor(
    readonly name: string,
    private readonly path: string,
    private readonly key: Buffer,
  ) {}

  private unavailable(why: string): BoxError {
    return new BoxError(
      'BOX_UNAVAILABLE',
      `box ${this.name}: unavailable (${why}); it is restarting or stopped: try again shortly`,
      this.name,
    );
  }

  private connect(): Promise<TLSSocket> {
    if (this.socket && !this.socket.destroyed) return Promise.resolve(this.socket);
    this.connecting ??= connectChannel(this.path, this.key)
      .then((socket) => {
        const reader = new FrameReader();
        socket.on('data', (chunk: Buffer) => {
          for (const event of reader.push(chunk)) {
            if (event.kind !== 'frame') continue;
            const answer = JSON.parse(event.body.toString('utf8')) as AnswerFrame;
            const p = answer.id === null ? undefined : this.pending.get(answer.id);
            if (!p) continue;
            this.pending.delete(answer.id as number);
            if (answer.ok) p.resolve(answer.value);
            else
              p.reject(
                new BoxError(
                  answer.error.code,
                  answer.error.message,
                  this.name,
                  answer.error.details,
                ),
              );
          }
        });
        const drop = (why: string) => {
          if (this.socket === socket) {
            this.socket = undefined;
            this.up = false;
            this.outbox = []; // their calls fail below; never send them on a new connection
          }
          const pending = [...this.pending.values()];
          this.pending.clear();
          for (const p of pending) p.reject(this.unavailable(why));
        };
        socket.on('error', (error: Error & { code?: string }) => drop(error.code ?? error.message));
        socket.on('close', () => drop('connection closed'));
        this.socket = socket;
        this.up = true;
        return socket;
      })
      .finally(() => {
        this.connecting = undefined;
      });
    return this.connecting;
  }

  /** Sends one command; resolves with its value or rejects with a BoxError. */
  async call<T>(cmd: string, args: unknown): Promise<T> {
    try {
      await this.connect();
    } catch (error) {
      const e = error as Error & { code?: string };
      throw this.unavailable(e.code ?? e.message);
    }
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.outbox.push(encodeFrame({ v: PROTOCOL_VERSION, id, cmd, args }));
      if (this.outbox.length === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const frames = this.outbox;
    this.outbox = [];
    if (this.socket && frames.length > 0)
      this.socket.write(frames.length === 1 ? (frames[0] as Buffer) : Buffer.concat(frames));
  }

  /** Closes the connection (pending calls fail with BOX_UNAVAILABLE). */
  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }
}
