/**
 * Reading the XDR that Backend.readdirXdr returns (READDIR3res /
 * READDIRPLUS3res, RFC 1813 §3.3.16–17) back into entries, and listing a
 * whole directory through it: for the backend tests.
 */
import assert from 'node:assert/strict';
import type { Attrs, Backend } from '../../../src/nfs/backend/backend.js';
import { HandleCodec } from '../../../src/nfs/backend/filehandle.js';
import { nfsstat3 } from '../../../src/nfs/nfs3/types.js';
import { XdrReader } from '../../../src/nfs/xdr/reader.js';
import { ROOT } from '../backend/conformance.js';

export const EXPORT_ID = 7;
export const codec = new HandleCodec(Buffer.from('0123456789abcdef0123456789abcdef'));
const FTYPE = ['', 'reg', 'dir', 'blk', 'chr', 'lnk', 'sock', 'fifo'];

export interface Entry {
  fileid: bigint;
  name: Buffer;
  cookie: bigint;
  attrs?: Attrs;
  fh?: Buffer;
}
export interface Parsed {
  status: number;
  dirAttrs?: Attrs;
  verf?: Buffer;
  entries: Entry[];
  eof?: boolean;
}

function fattr3(r: XdrReader): Attrs {
  const type = FTYPE[r.u32()] as Attrs['type'];
  const [mode, nlink, uid, gid] = [r.u32(), r.u32(), r.u32(), r.u32()];
  const [size, used] = [r.u64(), r.u64()];
  const rdev = { major: r.u32(), minor: r.u32() };
  const [fsid, fileid] = [r.u64(), r.u64()];
  const t = () => ({ sec: r.u32(), nsec: r.u32() });
  return { type, mode, nlink, uid, gid, size, used, rdev, fsid, fileid, atime: t(), mtime: t(), ctime: t() };
}

/** READDIR3res / READDIRPLUS3res (RFC 1813 §3.3.16–17). */
export function parse(xdr: Buffer | undefined, plus: boolean): Parsed {
  assert.ok(xdr, 'readdirXdr served the call');
  const r = new XdrReader(xdr);
  const status = r.u32();
  const dirAttrs = r.bool() ? fattr3(r) : undefined;
  if (status !== nfsstat3.NFS3_OK) {
    r.done();
    return { status, dirAttrs, entries: [] };
  }
  const verf = r.fixedOpaque(8);
  const entries: Entry[] = [];
  while (r.bool()) {
    const e: Entry = { fileid: r.u64(), name: r.opaque(255), cookie: r.u64() };
    if (plus) {
      if (r.bool()) e.attrs = fattr3(r);
      if (r.bool()) e.fh = r.opaque(64);
    }
    entries.push(e);
  }
  const eof = r.bool();
  r.done();
  return { status, dirAttrs, verf, entries, eof };
}

/** The READDIR3res / READDIRPLUS3res a reply reader is positioned at (RpcClient.nfs). */
export function parseReply(r: XdrReader, plus: boolean): Parsed {
  return parse(r.buf.subarray(r.offset), plus);
}

export async function listAll(b: Backend, dir: Buffer, plus: boolean, maxcount: number, dircount = 0): Promise<{ pages: Parsed[]; entries: Entry[] }> {
  const pages: Parsed[] = [];
  let cookie = 0n;
  let verifier: Buffer = Buffer.alloc(8);
  for (;;) {
    const xdr = await b.readdirXdr!(ROOT, dir, { cookie, verifier, dircount, maxcount, plus }, codec.wireKey(EXPORT_ID));
    assert.ok(xdr && xdr.length <= maxcount, `reply of ${xdr?.length} bytes over maxcount ${maxcount}`);
    const page = parse(xdr, plus);
    assert.equal(page.status, nfsstat3.NFS3_OK);
    pages.push(page);
    if (page.eof) break;
    assert.ok(page.entries.length > 0, 'a page that is not the last has entries');
    cookie = page.entries.at(-1)!.cookie;
    verifier = page.verf!;
  }
  return { pages, entries: pages.flatMap((p) => p.entries) };
}
