/**
 * The memory backend: a whole filesystem in a Map, for unit and protocol
 * tests only (STYLE.md point 8) — never used by the product. It keeps the
 * backend contract (backend.ts) as a real filesystem would: POSIX
 * permissions for the caller's credentials, sparse files (64 KiB chunks,
 * so a write at 5 GiB costs 64 KiB), atomic rename over an existing name,
 * hard links, and directory cookies that stay valid while entries come and
 * go (each entry gets a sequence number when it is linked in; a cookie is
 * that number).
 */
import { randomBytes } from 'node:crypto';
import {
  ACCESS,
  type Attrs,
  type Backend,
  type CreateHow,
  type Cred,
  type DirEntry,
  type EntryResult,
  type FileType,
  type FsInfo,
  type FsStat,
  type Name,
  type PreOpAttrs,
  type ReadDirResult,
  type SetAttrs,
  type StableHow,
  type Time,
  type Wcc,
} from '../backend.js';
import { BackendError } from '../errors.js';

const CHUNK = 64 * 1024;
const CHUNK_N = BigInt(CHUNK);
const MAX_FILE = 1n << 50n;
const FIRST_COOKIE = 3;

interface Slot {
  seq: number;
  name: string;
  id: bigint;
  dead: boolean;
}

interface DirState {
  byName: Map<string, Slot>;
  /** In seq order; dead slots are compacted away now and then. */
  slots: Slot[];
  nextSeq: number;
  dead: number;
}

interface Inode {
  id: bigint;
  type: FileType;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  atime: Time;
  mtime: Time;
  ctime: Time;
  rdev: { major: number; minor: number };
  size: bigint;
  chunks?: Map<bigint, Buffer>;
  dir?: DirState;
  parent?: bigint;
  target?: string;
  createVerf?: Buffer;
}

function now(): Time {
  const ms = Date.now();
  return { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1e6 + (Number(process.hrtime.bigint() % 1000000n)) };
}

function fail(code: string, msg?: string): never {
  throw new BackendError(code, msg);
}

export interface MemoryBackendOptions {
  /** Owner of the root directory (default root, mode 0777 so tests can write as anyone). */
  rootMode?: number;
}

export class MemoryBackend implements Backend {
  readonly kind = 'memory';
  readonly writeVerifier = randomBytes(8);
  /** Tells handles of another instance apart (they are ESTALE here). */
  private readonly instance = randomBytes(8);
  private readonly inodes = new Map<bigint, Inode>();
  private nextId = 1n;
  private readonly rootId: bigint;
  private readonly fsid = BigInt(`0x${randomBytes(4).toString('hex')}`);

  constructor(opts: MemoryBackendOptions = {}) {
    this.rootId = this.alloc('dir', opts.rootMode ?? 0o777, { uid: 0, gid: 0, gids: [] }).id;
    this.inode(this.rootId).parent = this.rootId;
  }

  private alloc(type: FileType, mode: number, cred: Cred): Inode {
    const t = now();
    const ino: Inode = {
      id: this.nextId++,
      type,
      mode: mode & 0o7777,
      uid: cred.uid,
      gid: cred.gid,
      nlink: type === 'dir' ? 2 : 1,
      atime: t,
      mtime: t,
      ctime: t,
      rdev: { major: 0, minor: 0 },
      size: 0n,
    };
    if (type === 'reg') ino.chunks = new Map();
    if (type === 'dir') ino.dir = { byName: new Map(), slots: [], nextSeq: FIRST_COOKIE, dead: 0 };
    this.inodes.set(ino.id, ino);
    return ino;
  }

  private handleOf(id: bigint): Buffer {
    const h = Buffer.allocUnsafe(16);
    h.writeBigUInt64BE(id, 0);
    this.instance.copy(h, 8);
    return h;
  }

  private inode(id: bigint): Inode {
    const ino = this.inodes.get(id);
    if (!ino) fail('ESTALE');
    return ino;
  }

  private resolve(handle: Buffer): Inode {
    if (handle.length !== 16) fail('EBADHANDLE');
    if (!handle.subarray(8).equals(this.instance)) fail('ESTALE', 'handle of another memory backend instance');
    return this.inode(handle.readBigUInt64BE(0));
  }

  private dirOf(handle: Buffer): Inode & { dir: DirState } {
    const ino = this.resolve(handle);
    if (!ino.dir) fail('ENOTDIR');
    return ino as Inode & { dir: DirState };
  }

  private attrs(ino: Inode): Attrs {
    let used = 0n;
    if (ino.chunks) used = BigInt(ino.chunks.size) * CHUNK_N;
    return {
      type: ino.type,
      mode: ino.mode,
      nlink: ino.nlink,
      uid: ino.uid,
      gid: ino.gid,
      size: ino.dir ? BigInt(4096 + ino.dir.byName.size * 32) : ino.size,
      used,
      rdev: ino.rdev,
      fsid: this.fsid,
      fileid: ino.id,
      atime: ino.atime,
      mtime: ino.mtime,
      ctime: ino.ctime,
    };
  }

  private pre(ino: Inode): PreOpAttrs {
    const a = this.attrs(ino);
    return { size: a.size, mtime: a.mtime, ctime: a.ctime };
  }

  /** POSIX permission check: `want` is a mask of 4 (r), 2 (w), 1 (x). */
  private allowed(cred: Cred, ino: Inode, want: number): boolean {
    if (cred.uid === 0) return want & 1 && ino.type !== 'dir' ? (ino.mode & 0o111) !== 0 : true;
    let bits: number;
    if (cred.uid === ino.uid) bits = (ino.mode >> 6) & 7;
    else if (cred.gid === ino.gid || cred.gids.includes(ino.gid)) bits = (ino.mode >> 3) & 7;
    else bits = ino.mode & 7;
    return (bits & want) === want;
  }

  private need(cred: Cred, ino: Inode, want: number): void {
    if (!this.allowed(cred, ino, want)) fail('EACCES');
  }

  private touch(ino: Inode, data = true): void {
    const t = now();
    if (data) ino.mtime = t;
    ino.ctime = t;
  }

  private link_(dir: Inode & { dir: DirState }, name: string, id: bigint): void {
    const slot: Slot = { seq: dir.dir.nextSeq++, name, id, dead: false };
    dir.dir.byName.set(name, slot);
    dir.dir.slots.push(slot);
  }

  private unlink_(dir: Inode & { dir: DirState }, name: string): void {
    const slot = dir.dir.byName.get(name)!;
    dir.dir.byName.delete(name);
    slot.dead = true;
    dir.dir.dead++;
    if (dir.dir.dead > 64 && dir.dir.dead * 2 > dir.dir.slots.length) {
      dir.dir.slots = dir.dir.slots.filter((s) => !s.dead);
      dir.dir.dead = 0;
    }
  }

  private drop(ino: Inode): void {
    ino.nlink--;
    if (ino.type === 'dir' || ino.nlink <= 0) this.inodes.delete(ino.id);
    else this.touch(ino, false);
  }

  private apply(cred: Cred, ino: Inode, set: SetAttrs): void {
    const owner = cred.uid === 0 || cred.uid === ino.uid;
    if (set.mode !== undefined) {
      if (!owner) fail('EPERM');
      ino.mode = set.mode & 0o7777;
    }
    if (set.uid !== undefined && set.uid !== ino.uid) {
      if (cred.uid !== 0) fail('EPERM');
      ino.uid = set.uid;
    }
    if (set.gid !== undefined && set.gid !== ino.gid) {
      if (!(cred.uid === 0 || (owner && (cred.gid === set.gid || cred.gids.includes(set.gid))))) fail('EPERM');
      ino.gid = set.gid;
    }
    if (set.size !== undefined) {
      if (ino.type === 'dir') fail('EISDIR');
      if (ino.type !== 'reg') fail('EINVAL');
      // The owner may always set the size (knfsd's owner override): a file created 0444 stays writable by its creator.
      if (!owner) this.need(cred, ino, 2);
      if (set.size > MAX_FILE) fail('EFBIG');
      this.truncate(ino, set.size);
    }
    // Times the client sets win over the mtime a truncation gives (as in utimensat after ftruncate).
    this.touch(ino, set.size !== undefined);
    for (const key of ['atime', 'mtime'] as const) {
      const v = set[key];
      if (v === undefined) continue;
      if (v === 'server') {
        if (!owner && !this.allowed(cred, ino, 2)) fail('EACCES');
        ino[key] = now();
      } else {
        if (!owner) fail('EPERM');
        ino[key] = v;
      }
    }
  }

  private truncate(ino: Inode, size: bigint): void {
    if (size < ino.size) {
      for (const k of [...ino.chunks!.keys()]) {
        const start = k * CHUNK_N;
        if (start >= size) ino.chunks!.delete(k);
        else if (start + CHUNK_N > size) ino.chunks!.get(k)!.fill(0, Number(size - start));
      }
    }
    ino.size = size;
  }

  async root(): Promise<Buffer> {
    return this.handleOf(this.rootId);
  }

  async getattr(handle: Buffer): Promise<Attrs> {
    return this.attrs(this.resolve(handle));
  }

  async setattr(cred: Cred, handle: Buffer, set: SetAttrs, guardCtime?: Time): Promise<Wcc> {
    const ino = this.resolve(handle);
    const before = this.pre(ino);
    if (guardCtime && (guardCtime.sec !== ino.ctime.sec || guardCtime.nsec !== ino.ctime.nsec)) fail('ENOT_SYNC');
    this.apply(cred, ino, set);
    return { before, after: this.attrs(ino) };
  }

  async lookup(cred: Cred, dirHandle: Buffer, name: string): Promise<EntryResult> {
    const dir = this.dirOf(dirHandle);
    this.need(cred, dir, 1);
    let id: bigint;
    if (name === '.') id = dir.id;
    else if (name === '..') id = dir.parent ?? this.rootId;
    else {
      const slot = dir.dir.byName.get(name);
      if (!slot) fail('ENOENT');
      id = slot.id;
    }
    const ino = this.inode(id);
    return { handle: this.handleOf(id), attrs: this.attrs(ino), dir: { after: this.attrs(dir) } };
  }

  async access(cred: Cred, handle: Buffer, mask: number): Promise<{ granted: number; attrs: Attrs }> {
    const ino = this.resolve(handle);
    let granted = 0;
    if (mask & ACCESS.READ && this.allowed(cred, ino, 4)) granted |= ACCESS.READ;
    if (ino.type === 'dir') {
      if (mask & ACCESS.LOOKUP && this.allowed(cred, ino, 1)) granted |= ACCESS.LOOKUP;
      if (this.allowed(cred, ino, 3)) granted |= mask & (ACCESS.MODIFY | ACCESS.EXTEND | ACCESS.DELETE);
    } else {
      if (this.allowed(cred, ino, 2)) granted |= mask & (ACCESS.MODIFY | ACCESS.EXTEND);
      if (mask & ACCESS.EXECUTE && this.allowed(cred, ino, 1)) granted |= ACCESS.EXECUTE;
    }
    return { granted, attrs: this.attrs(ino) };
  }

  async readlink(_cred: Cred, handle: Buffer): Promise<{ target: Name; attrs: Attrs }> {
    const ino = this.resolve(handle);
    if (ino.type !== 'lnk') fail('EINVAL');
    return { target: ino.target!, attrs: this.attrs(ino) };
  }

  async read(cred: Cred, handle: Buffer, offset: bigint, count: number): Promise<{ data: Buffer; eof: boolean; attrs: Attrs }> {
    const ino = this.resolve(handle);
    if (ino.type === 'dir') fail('EISDIR');
    if (ino.type !== 'reg') fail('EINVAL');
    if (cred.uid !== ino.uid) this.need(cred, ino, 4);
    const end = offset + BigInt(count) < ino.size ? offset + BigInt(count) : ino.size;
    const len = end > offset ? Number(end - offset) : 0;
    const data = Buffer.alloc(len);
    let pos = offset;
    while (pos < end) {
      const k = pos / CHUNK_N;
      const within = Number(pos % CHUNK_N);
      const n = Math.min(CHUNK - within, Number(end - pos));
      ino.chunks!.get(k)?.copy(data, Number(pos - offset), within, within + n);
      pos += BigInt(n);
    }
    ino.atime = now();
    return { data, eof: end >= ino.size, attrs: this.attrs(ino) };
  }

  async write(cred: Cred, handle: Buffer, offset: bigint, data: Buffer, stable: StableHow): Promise<{ count: number; committed: StableHow; file: Wcc }> {
    const ino = this.resolve(handle);
    if (ino.type === 'dir') fail('EISDIR');
    if (ino.type !== 'reg') fail('EINVAL');
    if (cred.uid !== ino.uid) this.need(cred, ino, 2);
    const end = offset + BigInt(data.length);
    if (end > MAX_FILE) fail('EFBIG');
    const before = this.pre(ino);
    let pos = offset;
    while (pos < end) {
      const k = pos / CHUNK_N;
      const within = Number(pos % CHUNK_N);
      const n = Math.min(CHUNK - within, Number(end - pos));
      let chunk = ino.chunks!.get(k);
      if (!chunk) ino.chunks!.set(k, (chunk = Buffer.alloc(CHUNK)));
      data.copy(chunk, within, Number(pos - offset), Number(pos - offset) + n);
      pos += BigInt(n);
    }
    if (end > ino.size) ino.size = end;
    this.touch(ino);
    // Memory is as durable as it gets here: every write is FILE_SYNC.
    void stable;
    return { count: data.length, committed: 'file_sync', file: { before, after: this.attrs(ino) } };
  }

  async commit(_cred: Cred, handle: Buffer): Promise<Wcc> {
    const ino = this.resolve(handle);
    return { before: this.pre(ino), after: this.attrs(ino) };
  }

  /** Common start of every creating call: the directory, its pre-op attrs, and the name's absence. */
  private startCreate(cred: Cred, dirHandle: Buffer, name: string) {
    const dir = this.dirOf(dirHandle);
    this.need(cred, dir, 3);
    if (name === '' || name === '.' || name === '..' || name.includes('/')) fail('EINVAL');
    return { dir, before: this.pre(dir), existing: dir.dir.byName.get(name) };
  }

  private finishCreate(dir: Inode & { dir: DirState }, before: PreOpAttrs, name: string, ino: Inode): EntryResult {
    this.link_(dir, name, ino.id);
    if (ino.type === 'dir') {
      ino.parent = dir.id;
      dir.nlink++;
    }
    this.touch(dir);
    return { handle: this.handleOf(ino.id), attrs: this.attrs(ino), dir: { before, after: this.attrs(dir) } };
  }

  async create(cred: Cred, dirHandle: Buffer, name: string, how: CreateHow): Promise<EntryResult> {
    const { dir, before, existing } = this.startCreate(cred, dirHandle, name);
    if (existing) {
      const ino = this.inode(existing.id);
      if (how.mode === 'guarded') fail('EEXIST');
      if (how.mode === 'exclusive') {
        // A retransmitted EXCLUSIVE create finds its own verifier (RFC 1813 §3.3.8).
        if (!ino.createVerf?.equals(how.verifier)) fail('EEXIST');
      } else {
        if (ino.type !== 'reg') fail(ino.type === 'dir' ? 'EISDIR' : 'EEXIST');
        if (how.attrs.size !== undefined) this.apply(cred, ino, { size: how.attrs.size });
      }
      return { handle: this.handleOf(ino.id), attrs: this.attrs(ino), dir: { before, after: this.attrs(dir) } };
    }
    const attrs = how.mode === 'exclusive' ? {} : how.attrs;
    const ino = this.alloc('reg', attrs.mode ?? 0o644, cred);
    if (how.mode === 'exclusive') ino.createVerf = Buffer.from(how.verifier);
    if (attrs.size) ino.size = attrs.size;
    if (attrs.gid !== undefined) ino.gid = attrs.gid;
    if (attrs.uid !== undefined && cred.uid === 0) ino.uid = attrs.uid;
    return this.finishCreate(dir, before, name, ino);
  }

  async mkdir(cred: Cred, dirHandle: Buffer, name: string, attrs: SetAttrs): Promise<EntryResult> {
    const { dir, before, existing } = this.startCreate(cred, dirHandle, name);
    if (existing) fail('EEXIST');
    const ino = this.alloc('dir', attrs.mode ?? 0o755, cred);
    if (attrs.gid !== undefined) ino.gid = attrs.gid;
    return this.finishCreate(dir, before, name, ino);
  }

  async symlink(cred: Cred, dirHandle: Buffer, name: string, target: string, _attrs: SetAttrs): Promise<EntryResult> {
    const { dir, before, existing } = this.startCreate(cred, dirHandle, name);
    if (existing) fail('EEXIST');
    if (target.length === 0) fail('ENOENT');
    const ino = this.alloc('lnk', 0o777, cred);
    ino.target = target;
    ino.size = BigInt(Buffer.byteLength(target));
    return this.finishCreate(dir, before, name, ino);
  }

  async mknod(
    cred: Cred,
    dirHandle: Buffer,
    name: string,
    type: 'blk' | 'chr' | 'sock' | 'fifo',
    attrs: SetAttrs,
    rdev?: { major: number; minor: number },
  ): Promise<EntryResult> {
    const { dir, before, existing } = this.startCreate(cred, dirHandle, name);
    if (existing) fail('EEXIST');
    if ((type === 'blk' || type === 'chr') && cred.uid !== 0) fail('EPERM');
    const ino = this.alloc(type, attrs.mode ?? 0o644, cred);
    if (rdev) ino.rdev = rdev;
    return this.finishCreate(dir, before, name, ino);
  }

  private sticky(cred: Cred, dir: Inode, victim: Inode): void {
    if (dir.mode & 0o1000 && cred.uid !== 0 && cred.uid !== dir.uid && cred.uid !== victim.uid) fail('EACCES');
  }

  async remove(cred: Cred, dirHandle: Buffer, name: string): Promise<Wcc> {
    const dir = this.dirOf(dirHandle);
    this.need(cred, dir, 3);
    const slot = dir.dir.byName.get(name);
    if (!slot) fail('ENOENT');
    const ino = this.inode(slot.id);
    if (ino.type === 'dir') fail('EISDIR');
    this.sticky(cred, dir, ino);
    const before = this.pre(dir);
    this.unlink_(dir, name);
    this.drop(ino);
    this.touch(dir);
    return { before, after: this.attrs(dir) };
  }

  async rmdir(cred: Cred, dirHandle: Buffer, name: string): Promise<Wcc> {
    const dir = this.dirOf(dirHandle);
    this.need(cred, dir, 3);
    const slot = dir.dir.byName.get(name);
    if (!slot) fail('ENOENT');
    const ino = this.inode(slot.id);
    if (!ino.dir) fail('ENOTDIR');
    if (ino.dir.byName.size > 0) fail('ENOTEMPTY');
    this.sticky(cred, dir, ino);
    const before = this.pre(dir);
    this.unlink_(dir, name);
    this.drop(ino);
    dir.nlink--;
    this.touch(dir);
    return { before, after: this.attrs(dir) };
  }

  async rename(cred: Cred, fromHandle: Buffer, fromName: string, toHandle: Buffer, toName: string): Promise<{ from: Wcc; to: Wcc }> {
    const from = this.dirOf(fromHandle);
    const to = this.dirOf(toHandle);
    this.need(cred, from, 3);
    this.need(cred, to, 3);
    const slot = from.dir.byName.get(fromName);
    if (!slot) fail('ENOENT');
    const ino = this.inode(slot.id);
    this.sticky(cred, from, ino);
    const fromBefore = this.pre(from);
    const toBefore = this.pre(to);
    const target = to.dir.byName.get(toName);
    if (target && target.id === ino.id) {
      return { from: { before: fromBefore, after: this.attrs(from) }, to: { before: toBefore, after: this.attrs(to) } };
    }
    if (ino.dir) {
      // A directory cannot move into itself or below itself.
      for (let p: bigint = to.id; ; p = this.inode(p).parent!) {
        if (p === ino.id) fail('EINVAL');
        if (p === this.rootId) break;
      }
    }
    if (target) {
      const victim = this.inode(target.id);
      this.sticky(cred, to, victim);
      if (victim.dir && !ino.dir) fail('EISDIR');
      if (!victim.dir && ino.dir) fail('ENOTDIR');
      if (victim.dir && victim.dir.byName.size > 0) fail('ENOTEMPTY');
      this.unlink_(to, toName);
      this.drop(victim);
      if (victim.dir) to.nlink--;
    }
    this.unlink_(from, fromName);
    this.link_(to, toName, ino.id);
    if (ino.dir && from !== to) {
      ino.parent = to.id;
      from.nlink--;
      to.nlink++;
    }
    this.touch(from);
    this.touch(to);
    this.touch(ino, false);
    return { from: { before: fromBefore, after: this.attrs(from) }, to: { before: toBefore, after: this.attrs(to) } };
  }

  async link(cred: Cred, handle: Buffer, dirHandle: Buffer, name: string): Promise<{ attrs: Attrs; dir: Wcc }> {
    const ino = this.resolve(handle);
    const { dir, before, existing } = this.startCreate(cred, dirHandle, name);
    if (existing) fail('EEXIST');
    if (ino.dir) fail('EISDIR');
    ino.nlink++;
    this.touch(ino, false);
    this.link_(dir, name, ino.id);
    this.touch(dir);
    return { attrs: this.attrs(ino), dir: { before, after: this.attrs(dir) } };
  }

  private dirVerifier(dir: Inode): Buffer {
    const v = Buffer.allocUnsafe(8);
    v.writeBigUInt64BE(dir.id ^ this.instance.readBigUInt64BE(0), 0);
    return v;
  }

  async readdir(cred: Cred, dirHandle: Buffer, cookie: bigint, verifier: Buffer, maxEntries: number, plus: boolean): Promise<ReadDirResult> {
    const dir = this.dirOf(dirHandle);
    this.need(cred, dir, 4);
    const verf = this.dirVerifier(dir);
    if (cookie !== 0n && !verifier.equals(verf) && !verifier.equals(Buffer.alloc(8))) fail('EBADCOOKIE');
    const entries: DirEntry[] = [];
    const add = (name: string, id: bigint, c: number) => {
      const e: DirEntry = { name, fileid: id, cookie: BigInt(c) };
      const ino = this.inodes.get(id);
      if (plus && ino) {
        e.handle = this.handleOf(id);
        e.attrs = this.attrs(ino);
      }
      entries.push(e);
    };
    if (cookie < 1n && entries.length < maxEntries) add('.', dir.id, 1);
    if (cookie < 2n && entries.length < maxEntries) add('..', dir.parent ?? this.rootId, 2);
    const slots = dir.dir.slots;
    // First slot with seq > cookie (slots are in seq order).
    let lo = 0;
    let hi = slots.length;
    const after = Number(cookie);
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (slots[mid]!.seq <= after) lo = mid + 1;
      else hi = mid;
    }
    let i = lo;
    for (; i < slots.length && entries.length < maxEntries; i++) {
      const s = slots[i]!;
      if (!s.dead) add(s.name, s.id, s.seq);
    }
    while (i < slots.length && slots[i]!.dead) i++;
    return { entries, eof: i >= slots.length, verifier: verf, dirAttrs: this.attrs(dir) };
  }

  async fsstat(): Promise<FsStat> {
    let used = 0n;
    for (const ino of this.inodes.values()) if (ino.chunks) used += BigInt(ino.chunks.size) * CHUNK_N;
    const total = 1n << 40n;
    const files = 1n << 32n;
    return {
      totalBytes: total,
      freeBytes: total - used,
      availBytes: total - used,
      totalFiles: files,
      freeFiles: files - BigInt(this.inodes.size),
      availFiles: files - BigInt(this.inodes.size),
    };
  }

  async fsinfo(): Promise<FsInfo> {
    return {
      maxRead: 1 << 20,
      maxWrite: 1 << 20,
      maxFileSize: MAX_FILE,
      linkMax: 65000,
      nameMax: 255,
      timeDelta: { sec: 0, nsec: 1 },
      caseInsensitive: false,
      casePreserving: true,
      chownRestricted: true,
      noTrunc: true,
      symlinks: true,
      hardlinks: true,
    };
  }

  async close(): Promise<void> {
    this.inodes.clear();
  }
}

export async function openMemoryBackend(opts: MemoryBackendOptions = {}): Promise<Backend> {
  return new MemoryBackend(opts);
}
