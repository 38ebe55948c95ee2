/**
 * XDR decoding (RFC 4506). Every read is bounds-checked against the end
 * given at construction; short or malformed input throws XdrDecodeError,
 * which the RPC layer turns into GARBAGE_ARGS (RFC 5531 §9). Variable-length
 * items take a caller-given maximum so a 4-byte length cannot make the
 * server allocate or scan gigabytes. Opaque data is returned as a view into
 * the input (no copy): a WRITE payload stays a slice of its RPC record.
 */

export class XdrDecodeError extends Error {
  readonly code = 'XDR_DECODE';
  constructor(message: string) {
    super(message);
    this.name = 'XdrDecodeError';
  }
}

/** RFC 4506 §4.10: opaque and string data are padded to a multiple of four bytes. */
export function pad4(n: number): number {
  return (4 - (n & 3)) & 3;
}

export class XdrReader {
  private pos: number;
  private readonly end: number;

  constructor(
    readonly buf: Buffer,
    start = 0,
    end = buf.length,
  ) {
    if (start < 0 || end > buf.length || start > end) throw new XdrDecodeError('bad XDR window');
    this.pos = start;
    this.end = end;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string): void {
    if (this.end - this.pos < n) throw new XdrDecodeError(`short input reading ${what}: need ${n} bytes, have ${this.end - this.pos}`);
  }

  u32(): number {
    this.need(4, 'unsigned int');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  i32(): number {
    this.need(4, 'int');
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** unsigned hyper (§4.5), as bigint. */
  u64(): bigint {
    this.need(8, 'unsigned hyper');
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  i64(): bigint {
    this.need(8, 'hyper');
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  /** §4.4: a bool is an enum that must be 0 or 1. */
  bool(): boolean {
    const v = this.u32();
    if (v > 1) throw new XdrDecodeError(`bool must be 0 or 1, got ${v}`);
    return v === 1;
  }

  /** An enum value that must be one of `allowed` (§4.3). */
  enumOf<T extends number>(allowed: readonly T[], what: string): T {
    const v = this.i32();
    if (!(allowed as readonly number[]).includes(v)) throw new XdrDecodeError(`bad ${what} ${v}`);
    return v as T;
  }

  /** Fixed-length opaque (§4.9): a view into the input. */
  fixedOpaque(n: number): Buffer {
    const padded = n + pad4(n);
    this.need(padded, `opaque[${n}]`);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += padded;
    return v;
  }

  /** Variable-length opaque<max> (§4.10): a view into the input. */
  opaque(max: number): Buffer {
    const n = this.u32();
    if (n > max) throw new XdrDecodeError(`opaque length ${n} over its limit ${max}`);
    return this.fixedOpaque(n);
  }

  /** string<max> (§4.11), decoded as UTF-8. */
  string(max: number): string {
    return this.opaque(max).toString('utf8');
  }

  /** optional-data (§4.19): a bool then the item. */
  optional<T>(item: () => T): T | undefined {
    return this.bool() ? item() : undefined;
  }

  /** Variable-length array<max> (§4.13). */
  array<T>(max: number, item: () => T): T[] {
    const n = this.u32();
    if (n > max) throw new XdrDecodeError(`array length ${n} over its limit ${max}`);
    // Each element takes at least 4 bytes: refuse early rather than loop.
    this.need(n * 4, 'array');
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(item());
    return out;
  }

  /** Throws unless the input was consumed exactly. */
  done(): void {
    if (this.pos !== this.end) throw new XdrDecodeError(`${this.end - this.pos} trailing bytes`);
  }
}
