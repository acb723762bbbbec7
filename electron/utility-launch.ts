/**
 * @module electron/utility-launch
 * The desktop app's ForkFunction (runtime/launch.ts): Electron's utilityProcess.fork, because
 * the RunAsNode fuse is off and the Electron binary will not run a script as Node. A utility
 * process has no stdin, so the input bytes go as messages on its parentPort
 * (runtime/child-input.ts reads them there); null ends the input.
 */
import { utilityProcess } from 'electron';
import type { ForkFunction, LaunchedChild } from '../runtime/launch';

export const forkUtility: ForkFunction = (file, args, options): LaunchedChild => {
  const child = utilityProcess.fork(file, args, {
    env: options.env,
    execArgv: options.execArgv,
    stdio: 'pipe',
    serviceName: options.name,
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  let open = true;
  child.on('exit', () => (open = false));
  return {
    get pid() {
      return child.pid;
    },
    stdout: child.stdout!,
    stderr: child.stderr!,
    get writable() {
      return open;
    },
    write: (bytes) => {
      if (open) child.postMessage(bytes);
    },
    end: () => {
      if (open) child.postMessage(null);
      open = false;
    },
    kill: () => void child.kill(),
    onExit: (listener) => void child.on('exit', (code) => listener(code, null)),
  };
};
