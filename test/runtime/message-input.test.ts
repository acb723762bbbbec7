/**
 * The launcher's other transport (runtime/launch.ts, runtime/child-input.ts): boxes whose input
 * comes as messages on a parent port, as under Electron's utilityProcess.fork, which has no
 * stdin. A ForkFunction shaped like electron/utility-launch.ts (bytes posted as messages, null to
 * end) starts real box processes; they unlock, serve, and exit when their input ends.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { configureLaunch, forkNode, type ForkFunction } from '../../runtime/launch';
import { tokenHashOf } from '../../server-mock/boxes/index';
import { freshBoxes } from '../server-mock/boxes/helpers';

const ENTRY = fileURLToPath(new URL('../helpers/parent-port-main.ts', import.meta.url));

const exits: { code: number | null; signal: NodeJS.Signals | null }[] = [];

const forkWithMessages: ForkFunction = (file, args, options) => {
  const child = fork(file, args, {
    env: options.env,
    execArgv: options.execArgv,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'advanced', // Buffers arrive as Uint8Array, as through Electron's port
  });
  let open = true;
  child.on('exit', (code, signal) => {
    open = false;
    exits.push({ code, signal });
  });
  return {
    get pid() {
      return child.pid;
    },
    stdout: child.stdout!,
    stderr: child.stderr!,
    get writable() {
      return open;
    },
    write: (bytes) => void (open && child.send(bytes)),
    end: () => {
      if (open) child.send({ end: true }); // the entry turns it into Electron's null
      open = false;
    },
    kill: (signal) => void child.kill(signal),
    onExit: (listener) => void child.on('exit', listener),
  };
};

afterAll(() => configureLaunch({ fork: forkNode }));

describe('boxes started with input as messages (the utility process transport)', () => {
  it('unlock, serve and exit when their input ends', async () => {
    configureLaunch({ fork: forkWithMessages });
    const fx = await freshBoxes({ entry: ENTRY });
    const pids = Object.values(fx.boxes.pids());
    try {
      expect(pids).toHaveLength(4);
      const { verifier } = await fx.boxes.auth.enroll({ mailerId: 'm-1', password: 'horse' });
      const grant = await fx.boxes.auth.authenticate({
        mailerId: 'm-1',
        password: 'horse',
        verifier,
        ttlSeconds: 600,
        tokenHash: tokenHashOf('a token'),
      });
      expect(grant.mailerId).toBe('m-1');
    } finally {
      await fx.dispose();
    }
    const alive = pids.filter((pid) => {
      try {
        process.kill(pid as number, 0);
        return true;
      } catch {
        return false;
      }
    });
    expect(alive).toEqual([]);
    // Each ended its input and exited by itself, none was killed.
    expect(exits).toEqual(pids.map(() => ({ code: 0, signal: null })));
    expect(fx.logs.join('\n')).not.toMatch(/killed|SIGKILL/);
  });
});
