/**
 * Reader of the packed result records the native posix backend returns
 * (layout documented on `Out` in native/src/posix_backend.rs). One Buffer
 * per call is cheaper than building JS objects field by field in Node-API.
 */
import { fileTypeOfMode, type Attrs, type PreOpAttrs, type Time, type Wcc } from '../backend.js';


export class ResultRecord {
  private at = 0;
  constructor(private readonly buf: Buffer) {}

  u8(): number {
    return this.buf[this.at++]!;
  }
  u32(): number {
    const v = this.buf.readUInt32LE(this.at);
    this.at += 4;
    return v;
  }
  u64(): bigint {
    const v = this.buf.readBigUInt64LE(this.at);
    this.at += 8;
    return v;
  }
  bytes(n: number): Buffer {
    const v = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
  time(): Time {
    const sec = this.u32();
    return { sec, nsec: this.u32() };
  }
  /** A handle: a copy, since callers keep handles and the record is transient. */
  handle(): Buffer {
    return Buffer.from(this.bytes(this.u8()));
  }
  str(): string {
    return this.bytes(this.u32()).toString('utf8');
  }
  attrs(): Attrs {
    const mode = this.u32();
    const nlink = this.u32();
    const uid = this.u32();
    const gid = this.u32();
    const size = this.u64();
    const used = this.u64();
    const major = this.u32();
    const minor = this.u32();
    const fsid = this.u64();
    const fileid = this.u64();
    const atime = this.time();
    const mtime = this.time();
    const ctime = this.time();
    return {
      type: fileTypeOfMode(mode),
      mode: mode & 0o7777,
      nlink,
      uid,
      gid,
      size,
      used,
      rdev: { major, minor },
      fsid,
      fileid,
      atime,
      mtime,
      ctime,
    };
  }
  optAttrs(): Attrs | undefined {
    return this.u8() === 1 ? this.attrs() : undefined;
  }
  pre(): PreOpAttrs {
    const size = this.u64();
    const mtime = this.time();
    return { size, mtime, ctime: this.time() };
  }
  wcc(): Wcc {
    const before = this.u8() === 1 ? this.pre() : undefined;
    return { before, after: this.optAttrs() };
  }
}
