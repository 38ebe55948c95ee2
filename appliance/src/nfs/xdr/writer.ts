/**
 * XDR encoding (RFC 4506). Small items go into a growing scratch buffer;
 * large opaque payloads (READ data) are appended by reference with
 * `opaqueRef`, so a 1 MiB read is never copied: `chunks()` returns the
 * pieces for one corked socket write (writev).
 */
import type { DirectRead } from '../backend/backend.js';
import { pad4 } from './reader.js';

const ZEROS = Buffer.alloc(4);

/**
 * A piece of a reply that is not in memory: `length` bytes the transport
 * sends straight from a file (a READ's data, Backend.readDirect).
 */
export class FileChunk {
  constructor(
    readonly length: number,
    readonly source: DirectRead,
  ) {}
}

/** One piece of an encoded reply. */
export type Chunk = Buffer | FileChunk;
/** Payloads at least this big are referenced rather than copied. */
const REF_THRESHOLD = 2048;

export class XdrWriter {
  private buf: Buffer;
  private pos = 0;
  private readonly done: Chunk[] = [];
  private doneBytes = 0;

  constructor(initial = 512) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  get length(): number {
    return this.doneBytes + this.pos;
  }

  u32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
    return this;
  }

  i32(v: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(v | 0, this.pos);
    this.pos += 4;
    return this;
  }

  u64(v: bigint): this {
    this.ensure(8);
    this.buf.writeBigUInt64BE(BigInt.asUintN(64, v), this.pos);
    this.pos += 8;
    return this;
  }

  i64(v: bigint): this {
    this.ensure(8);
    this.buf.writeBigInt64BE(BigInt.asIntN(64, v), this.pos);
    this.pos += 8;
    return this;
  }

  bool(v: boolean): this {
    return this.u32(v ? 1 : 0);
  }

  fixedOpaque(data: Buffer): this {
    const p = pad4(data.length);
    this.ensure(data.length + p);
    data.copy(this.buf, this.pos);
    this.pos += data.length;
    this.buf.fill(0, this.pos, this.pos + p);
    this.pos += p;
    return this;
  }

  opaque(data: Buffer): this {
    this.u32(data.length);
    return this.fixedOpaque(data);
  }

  /** A string as UTF-8, or (filename3, path3) bytes already. */
  string(s: string | Buffer): this {
    return this.opaque(typeof s === 'string' ? Buffer.from(s, 'utf8') : s);
  }

  /** opaque<> whose bytes are sent from `data` itself, not copied. */
  opaqueRef(data: Buffer): this {
    if (data.length < REF_THRESHOLD) return this.opaque(data);
    this.u32(data.length);
    this.flush();
    this.done.push(data);
    this.doneBytes += data.length;
    const p = pad4(data.length);
    if (p) {
      this.done.push(ZEROS.subarray(0, p));
      this.doneBytes += p;
    }
    return this;
  }

  /** opaque<> whose bytes the transport sends from a file (FileChunk). */
  opaqueFile(source: DirectRead): this {
    this.u32(source.count);
    this.flush();
    this.done.push(new FileChunk(source.count, source));
    this.doneBytes += source.count;
    const p = pad4(source.count);
    if (p) {
      this.done.push(ZEROS.subarray(0, p));
      this.doneBytes += p;
    }
    return this;
  }

  /**
   * Bytes already XDR-encoded elsewhere (a whole result body), appended as
   * they are: by reference when big, else copied. A multiple of 4 bytes.
   */
  raw(data: Buffer): this {
    if (data.length < REF_THRESHOLD) {
      this.ensure(data.length);
      data.copy(this.buf, this.pos);
      this.pos += data.length;
      return this;
    }
    this.flush();
    this.done.push(data);
    this.doneBytes += data.length;
    return this;
  }

  private flush(): void {
    if (this.pos === 0) return;
    this.done.push(this.buf.subarray(0, this.pos));
    this.doneBytes += this.pos;
    this.buf = this.buf.subarray(this.pos);
    this.pos = 0;
    if (this.buf.length < 64) this.buf = Buffer.allocUnsafe(512);
  }

  /** The encoded bytes, as pieces to write in order. */
  chunks(): Chunk[] {
    this.flush();
    return this.done;
  }

  /** The encoded bytes as one Buffer (copies if there are several pieces); never with a FileChunk. */
  toBuffer(): Buffer {
    const c = this.chunks();
    if (c.some((x) => x instanceof FileChunk)) throw new Error('toBuffer of a reply with file data');
    return c.length === 1 ? (c[0] as Buffer) : Buffer.concat(c as Buffer[]);
  }
}
