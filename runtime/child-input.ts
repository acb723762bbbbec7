/**
 * @module runtime/child-input
 * The child's side of LaunchedChild.write/end (launch.ts): bytes from the parent arrive on stdin
 * under Node, or as messages on Electron's parentPort in a utility process (which has no stdin),
 * where a null message ends the input.
 */

interface ParentPort {
  on(event: 'message', listener: (event: { data: unknown }) => void): void;
}

/** Calls onData for every chunk the parent sends, then onEnd once its input ends. */
export function readParentInput(onData: (chunk: Buffer) => void, onEnd: () => void): void {
  const port = (process as { parentPort?: ParentPort }).parentPort;
  if (port) {
    port.on('message', ({ data }) => {
      if (data === null) onEnd();
      else if (data instanceof Uint8Array) onData(Buffer.from(data));
    });
    return;
  }
  process.stdin.on('data', onData);
  process.stdin.on('end', onEnd);
}
