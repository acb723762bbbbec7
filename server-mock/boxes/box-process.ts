/**
 * @module boxes/box-process
 * The data center's side of one box (patent Fig. 1: the function server talks to each secure
 * box over the internal link). Starts box-main with `<box> <dataDir>` (runtime/launch.ts), waits for
 * its start-up announcement (locked, with its transport public key), sends the unlock frame that
 * the `unlock` option seals for it, frames commands, correlates answers by id, and turns error
 * answers into BoxError. If the process dies, every pending call fails with BOX_UNAVAILABLE. The box's
 * stderr (which never carries secrets) goes line by line to the given log.
 */
import { launchProcess, type LaunchedChild } from '../../runtime/launch';
import { BoxError } from './api';
import { nodeChildEnv, type ProcessName } from './box-types';
import type { SealedKey } from './key-transport';
import { FrameReader, HELLO_ID, PROTOCOL_VERSION, encodeFrame, type AnswerFrame } from './protocol';

/** `vpm bench --profile DIR` sets VPM_BOX_CPU_PROF_DIR: each box writes a V8 CPU profile there. */
function profileArgs(): string[] {
  const dir = process.env.VPM_BOX_CPU_PROF_DIR;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

/** What a box announces at start: its transport public key for the unlock frame. */
export interface BoxHello {
  box: string;
  pid: number;
  locked: boolean;
  unlockKey: string;
}

/** Seals the domain key to a starting box (key-transport.ts sealToBox). */
export type Unlocker = (hello: BoxHello) => SealedKey | Promise<SealedKey>;

export interface BoxProcessOptions {
  /** Seals the domain key for this box once it announced itself; without it the box stays locked. */
  unlock?: Unlocker;
  /** The entry's source file; default the built box-main. Only tests pass their harness here. */
  entry?: string;
  /** Extra environment for the box process. */
  env?: Record<string, string | undefined>;
  log?: (line: string) => void;
  readyTimeoutMs?: number;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: BoxError): void;
}

export class BoxProcess {
  private child: LaunchedChild | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Frames of this turn of the event loop, written together (one pipe write for many calls). */
  private outbox: Buffer[] = [];
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly name: ProcessName,
    private readonly dataDir: string,
    private readonly opts: BoxProcessOptions = {},
  ) {}

  /** Resolves when the running process exits (at once if none runs). */
  whenExited(): Promise<void> {
    return this.exited;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Spawns the box, unlocks it, and resolves once it serves; rejects with its reason. */
  async start(): Promise<void> {
    const hello = await this.spawnBox();
    try {
      if (!this.opts.unlock)
        throw new BoxError('BOX_UNAVAILABLE', `box ${this.name}: no key to unlock it`, this.name);
      await this.call('unlock', await this.opts.unlock(hello));
    } catch (error) {
      await this.stop(); // a box that cannot be unlocked is of no use: let it exit
      throw error;
    }
  }

  private spawnBox(): Promise<BoxHello> {
    const log = this.opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    const child = launchProcess(
      this.opts.entry ? { source: this.opts.entry } : 'box-main',
      [this.name, this.dataDir],
      { env: nodeChildEnv(this.opts.env), execArgv: profileArgs() },
    );
    this.child = child;
    const reader = new FrameReader();
    let stderrTail = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      const lines = (stderrTail + text).split('\n');
      stderrTail = lines.pop() ?? '';
      for (const line of lines) if (line) log(`[box ${this.name}] ${line}`);
    });
    return new Promise<BoxHello>((resolve, reject) => {
      let ready = false;
      const timer = setTimeout(() => {
        if (!ready) {
          child.kill('SIGKILL');
          reject(
            new BoxError('BOX_UNAVAILABLE', `box ${this.name}: did not start in time`, this.name),
          );
        }
      }, this.opts.readyTimeoutMs ?? 30_000);
      this.exited = new Promise<void>((done) => {
        child.onExit((code, signal) => {
          clearTimeout(timer);
          if (this.child === child) {
            this.child = undefined;
            this.outbox = []; // their calls fail below; never send them to a restarted box
          }
          const why = `box ${this.name}: process exited (${signal ?? `code ${String(code)}`})`;
          for (const p of this.pending.values())
            p.reject(new BoxError('BOX_UNAVAILABLE', why, this.name));
          this.pending.clear();
          if (!ready)
            reject(new BoxError('BOX_UNAVAILABLE', `${why} before it was ready`, this.name));
          done();
        });
      });
      child.stdout.on('data', (chunk: Buffer) => {
        for (const event of reader.push(chunk)) {
          if (event.kind !== 'frame') continue;
          const answer = JSON.parse(event.body.toString('utf8')) as AnswerFrame;
          if (answer.id === HELLO_ID && !ready) {
            ready = true;
            clearTimeout(timer);
            if (answer.ok) resolve(answer.value as BoxHello);
            else {
              child.end(); // a box that refused to start is of no use: let it exit
              reject(
                new BoxError(
                  answer.error.code,
                  answer.error.message,
                  this.name,
                  answer.error.details,
                ),
              );
            }
            continue;
          }
          if (answer.id === null) {
            log(
              `[box ${this.name}] protocol error: ${answer.ok ? 'unexpected answer' : answer.error.message}`,
            );
            continue;
          }
          const p = this.pending.get(answer.id);
          if (!p) continue;
          this.pending.delete(answer.id);
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
    });
  }

  /** Sends one command; resolves with its value or rejects with a BoxError. */
  call<T>(cmd: string, args: unknown): Promise<T> {
    if (!this.child?.writable) {
      return Promise.reject(
        new BoxError('BOX_UNAVAILABLE', `box ${this.name}: not running`, this.name),
      );
    }
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      try {
        this.outbox.push(encodeFrame({ v: PROTOCOL_VERSION, id, cmd, args }));
        if (this.outbox.length === 1) setImmediate(() => this.flush());
      } catch (error) {
        this.pending.delete(id);
        reject(
          new BoxError(
            'BAD_REQUEST',
            `box ${this.name}: ${error instanceof Error ? error.message : String(error)}`,
            this.name,
          ),
        );
      }
    });
  }

  private flush(): void {
    const frames = this.outbox;
    this.outbox = [];
    if (frames.length > 0)
      this.child?.write(frames.length === 1 ? (frames[0] as Buffer) : Buffer.concat(frames));
  }

  /** Writes raw bytes to the box (protocol tests only). */
  writeRaw(bytes: Buffer): void {
    this.child?.write(bytes);
  }

  /** Sends a raw request frame and waits for the answer with that id (protocol tests only). */
  rawRequest(frame: Record<string, unknown> & { id: number }): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.pending.set(frame.id, { resolve, reject });
      this.writeRaw(encodeFrame(frame));
    });
  }

  /** Kills the process with a signal (tests: SIGKILL mid-command). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child?.kill(signal);
  }

  /** Closes stdin so the box finishes its queue and exits; kills it if it hangs. */
  async stop(timeoutMs = 5000): Promise<void> {
    const child = this.child;
    if (!child) return this.exited;
    child.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}
