/**
 * The box protocol: framing, versions, unknown commands, frame size limit, a dying box, and
 * the documentation of every error code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOX_ERROR_CODES, BOX_ERROR_DOCS, BoxError } from '../../../server-mock/boxes/index';
import { FrameReader, MAX_FRAME_BYTES, encodeFrame } from '../../../server-mock/boxes/protocol';
import { expectBoxError, freshBoxes, type Fixture } from './helpers';

describe('FrameReader', () => {
  it('reassembles frames split across chunks and several frames in one chunk', () => {
    const reader = new FrameReader();
    const bytes = Buffer.concat([encodeFrame({ a: 1 }), encodeFrame({ b: 2 })]);
    const events = [...reader.push(bytes.subarray(0, 5)), ...reader.push(bytes.subarray(5))];
    expect(events.map((e) => (e.kind === 'frame' ? JSON.parse(e.body.toString()) : e))).toEqual([
      { a: 1 },
      { b: 2 },
    ]);
  });

  it('skips an oversized frame whole and stays in step', () => {
    const reader = new FrameReader(16);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(40);
    const events = reader.push(
      Buffer.concat([head, Buffer.alloc(40, 0x41), encodeFrame({ c: 3 })]),
    );
    expect(events[0]).toEqual({ kind: 'oversized', length: 40 });
    expect(events[1]?.kind === 'frame' && JSON.parse(events[1].body.toString())).toEqual({ c: 3 });
  });
});

describe('Box protocol', () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await freshBoxes();
  });
  afterAll(async () => {
    await fx.dispose();
  });

  it('answers BAD_REQUEST to an unknown protocol version', async () => {
    await expectBoxError(
      fx.boxes.process('txn').rawRequest({ v: 2, id: 9001, cmd: 'sign', args: {} }),
      'BAD_REQUEST',
    );
  });

  it('answers BAD_REQUEST to an unknown command', async () => {
    await expectBoxError(fx.boxes.process('meter').call('format', {}), 'BAD_REQUEST');
    await expectBoxError(fx.boxes.process('meter').call('__proto__', {}), 'BAD_REQUEST');
  });

  it('refuses a frame larger than the maximum and keeps serving', async () => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(MAX_FRAME_BYTES + 1);
    const box = fx.boxes.process('txn');
    box.writeRaw(head);
    box.writeRaw(Buffer.alloc(MAX_FRAME_BYTES + 1, 0x20));
    expect(await fx.boxes.txn.sign({ kind: 'login', body: {} })).toHaveProperty('signature');
    expect(
      fx.logs.some(
        (l) => l.includes('[box txn] protocol error') && l.includes('exceeds the maximum'),
      ),
    ).toBe(true);
  });

  it('fails pending calls with BOX_UNAVAILABLE when the box dies, and serves again after restart', async () => {
    const pending = fx.boxes.auth.enroll({ mailerId: 'm', password: 'pw' });
    fx.boxes.process('auth').kill('SIGKILL');
    await expectBoxError(pending, 'BOX_UNAVAILABLE');
    await expectBoxError(
      fx.boxes.auth.enroll({ mailerId: 'm', password: 'pw' }),
      'BOX_UNAVAILABLE',
    );
    await fx.boxes.restart('auth');
    expect(await fx.boxes.auth.enroll({ mailerId: 'm', password: 'pw' })).toHaveProperty(
      'verifier',
    );
  });

  it('exposes the box process ids', () => {
    const pids = fx.boxes.pids();
    expect(Object.keys(pids).sort()).toEqual(['auth', 'meter', 'steel', 'txn']);
    expect(Object.values(pids).every((pid) => typeof pid === 'number' && pid !== process.pid)).toBe(
      true,
    );
  });
});

describe('BOX_ERROR_CODES', () => {
  it('documents every error code', () => {
    for (const code of BOX_ERROR_CODES)
      expect(BOX_ERROR_DOCS[code]?.length ?? 0).toBeGreaterThan(10);
    expect(Object.keys(BOX_ERROR_DOCS).sort()).toEqual([...BOX_ERROR_CODES].sort());
    expect(new BoxError('TAMPERED', 'x', 'meter').box).toBe('meter');
  });
});
