/**
 * Test entry: a box process whose input arrives as messages, as in Electron's utility process
 * (no stdin; `process.parentPort` emits `{ data }`, null ends the input). Node's IPC channel
 * stands in for the parent port; then the real box-main runs.
 */
Object.assign(process, {
  parentPort: {
    on(_event: 'message', listener: (event: { data: unknown }) => void) {
      // Node's IPC cannot send null: the test's parent sends { end: true } for it.
      process.on('message', (data) =>
        listener({ data: (data as { end?: boolean }).end === true ? null : data }),
      );
    },
  },
});

await import('../../server-mock/boxes/box-main');

export {};
