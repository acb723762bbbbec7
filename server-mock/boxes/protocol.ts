/**
 * @module boxes/protocol
 * The narrow command protocol between the data center and a box process (patent Fig. 1: the
 * secure boxes hang off the data center's internal network; here, a pipe). Each frame is a
 * 4-byte big-endian length followed by that many bytes of UTF-8 JSON:
 *   request  {v:1, id, cmd, args}
 *   answer   {v:1, id, ok:true, value} | {v:1, id, ok:false, error:{code, message, details?}}
 * A box also sends one unsolicited answer with id 0 when it starts (ready, or why not).
 * Frames larger than MAX_FRAME_BYTES are skipped whole and answered with BAD_REQUEST (id null),
 * which keeps the stream in step.
 */
import type { BoxErrorCode } from './api';

export const PROTOCOL_VERSION = 1;
export const MAX_FRAME_BYTES = 8 * 1024 * 1024;
/** The id of the box's start-up announcement. */
export const HELLO_ID = 0;

export interface RequestFrame {
  v: number;
  id: number;
  cmd: string;
  args: unknown;
}

export interface ErrorBody {
  code: BoxErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export type AnswerFrame =
  | { v: 1; id: number | null; ok: true; value: unknown }
  | { v: 1; id: number | null; ok: false; error: ErrorBody };

/** Encodes one frame. */
export function encodeFrame(message: unknown): Buffer {
  const text = JSON.stringify(message);
  const length = Buffer.byteLength(text, 'utf8');
  if (length > MAX_FRAME_BYTES) throw new RangeError(`frame: ${length} bytes is too large`);
  const frame = Buffer.allocUnsafe(4 + length);
  frame.writeUInt32BE(length, 0);
  frame.write(text, 4, 'utf8');
  return frame;
}

export type FrameEvent = { kind: 'frame'; body: Buffer } | { kind: 'oversized'; length: number };

/** Splits a byte stream into frames; oversized frames are reported and skipped. */
export class FrameReader {
  private buffer: Buffer = Buffer.alloc(0);
  private skip = 0;

  constructor(private readonly maxBytes = MAX_FRAME_BYTES) {}

  push(chunk: Buffer): FrameEvent[] {
    const events: FrameEvent[] = [];
    let data = chunk;
    if (this.skip > 0) {
      const dropped = Math.min(this.skip, data.length);
      this.skip -= dropped;
      data = data.subarray(dropped);
    }
    this.buffer = this.buffer.length === 0 ? data : Buffer.concat([this.buffer, data]);
    for (;;) {
      if (this.skip > 0) {
        const dropped = Math.min(this.skip, this.buffer.length);
        this.skip -= dropped;
        this.buffer = this.buffer.subarray(dropped);
        if (this.skip > 0) break;
      }
      if (this.buffer.length < 4) break;
      const length = this.buffer.readUInt32BE(0);
      if (length > this.maxBytes) {
        events.push({ kind: 'oversized', length });
        this.buffer = this.buffer.subarray(4);
        this.skip = length;
        continue;
      }
      if (this.buffer.length < 4 + length) break;
      events.push({ kind: 'frame', body: this.buffer.subarray(4, 4 + length) });
      this.buffer = this.buffer.subarray(4 + length);
    }
    if (this.buffer.length === 0) this.buffer = Buffer.alloc(0);
    return events;
  }
}
