/**
 * @module print/pdf-file
 * The PDF file the renderer writes, object by object, in the order they are made: a header, the
 * objects as they come (each page's content stream, then its page dictionary), and at the end
 * the objects that list what came before (the page tree, the shared resources, the catalogue,
 * the document information), the cross-reference table and the trailer. What it keeps per page
 * is two numbers (the page's object number and where each object starts), so memory stays flat
 * in the length of a batch. The bytes wait in `take()` for the caller to write them out.
 */
import { randomBytes } from 'node:crypto';

/** PDF 1.4 (image masks, Form XObjects; nothing newer), and a comment of high bytes: binary. */
const HEADER = Buffer.from('%PDF-1.4\n%\xff\xff\xff\xff\n', 'latin1');

/** A text string for the document information: ASCII as a literal, else UTF-16BE in hex. */
export function pdfString(text: string): string {
  if (/^[\x20-\x7e]*$/.test(text)) return `(${text.replace(/[\\()]/g, (c) => `\\${c}`)})`;
  return `<FEFF${Buffer.from(text, 'utf16le').swap16().toString('hex').toUpperCase()}>`;
}

/** A date as the document information writes it: D:YYYYMMDDHHmmssZ. */
function pdfDate(date: Date): string {
  return `D:${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

export class PdfFile {
  /** Where each object starts in the file, by object number (0 is the free list's head). */
  private readonly offsets: number[] = [0];
  private written = 0;
  private chunks: Buffer[] = [HEADER];
  private bytes = HEADER.length;

  /** Bytes made and not yet taken. */
  get pendingBytes(): number {
    return this.bytes;
  }

  /** An object number, for an object written now or later (the page tree is written last). */
  reserve(): number {
    this.offsets.push(-1);
    return this.offsets.length - 1;
  }

  private push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
  }

  /** Object `id`: the dictionary's entries (`/Key value` lines), and its stream when given. */
  add(id: number, entries: string, stream?: Buffer): void {
    this.offsets[id] = this.written + this.bytes;
    if (stream === undefined) {
      this.push(Buffer.from(`${id} 0 obj\n<<\n${entries}>>\nendobj\n`, 'latin1'));
      return;
    }
    this.push(
      Buffer.from(`${id} 0 obj\n<<\n${entries}/Length ${stream.length}\n>>\nstream\n`, 'latin1'),
    );
    this.push(stream);
    this.push(STREAM_END);
  }

  /** The bytes made since the last call, in one buffer. */
  take(): Buffer {
    const out = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
    this.written += out.length;
    this.chunks = [];
    this.bytes = 0;
    return out;
  }

  /**
   * Ends the file: the document information, the cross-reference table and the trailer. Every
   * reserved object must have been added.
   */
  end(root: number, info: { title: string; producer: string; created?: Date }): void {
    const infoId = this.reserve();
    this.add(
      infoId,
      `/Title ${pdfString(info.title)}\n/Producer ${pdfString(info.producer)}\n` +
        `/CreationDate (${pdfDate(info.created ?? new Date())})\n`,
    );
    const missing = this.offsets.findIndex((o, i) => i > 0 && o < 0);
    if (missing > 0) throw new Error(`pdf: object ${missing} was reserved and never written`);
    const xrefAt = this.written + this.bytes;
    let xref = `xref\n0 ${this.offsets.length}\n0000000000 65535 f \n`;
    for (let i = 1; i < this.offsets.length; i++) {
      xref += `${String(this.offsets[i]).padStart(10, '0')} 00000 n \n`;
    }
    const id = randomBytes(16).toString('hex');
    this.push(
      Buffer.from(
        `${xref}trailer\n<<\n/Size ${this.offsets.length}\n/Root ${root} 0 R\n/Info ${infoId} 0 R\n` +
          `/ID [<${id}> <${id}>]\n>>\nstartxref\n${xrefAt}\n%%EOF\n`,
        'latin1',
      ),
    );
  }
}

const STREAM_END = Buffer.from('\nendstream\nendobj\n', 'latin1');
