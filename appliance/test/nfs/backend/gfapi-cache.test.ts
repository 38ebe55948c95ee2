// What the gfapi backend keeps between calls (directory objects, open fds
// with their last-seen attributes, directory names, parked READDIR
// streams) against real replica-3 volumes: nothing kept may hide a change
// made through another client of the volume for longer than md-cache's
// 1 s, nor a SETATTR made through this one. Cross-client data checks use
// a volume without sharding: a sharded file's size is cached by the shard
// xlator of each client that holds it open, which no cache of ours adds
// to or removes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { gfapiStats, openGfapiVolume } from '@cairn/native';
import { GlusterLab, replica3 } from '../../pool/gluster/lab.js';
import { openGfapiBackend } from '../../../src/nfs/backend/gfapi/index.js';
import type { Cred } from '../../../src/nfs/backend/backend.js';

const root: Cred = { uid: 0, gid: 0, gids: [] };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type Stats = { ops: Record<string, [number, number]> };

test('gfapi backend caches: coherent with its own SETATTR and with another client', async (t) => {
  const lab = await GlusterLab.start(t);
  await replica3(lab, 'gv');
  await replica3(lab, 'gg', 1 << 30, 'general');
  const vm = await openGfapiBackend({ volume: 'gv', volfileServer: lab.host });
  const b = await openGfapiBackend({ volume: 'gg', volfileServer: lab.host });
  t.after(() => b.close());
  // Another client of the volume: a glfs_t of its own, like another appliance.
  const other = await openGfapiVolume('gg', lab.host, 24007, '/dev/null', 4, []);
  const r = await b.root();
  const rootGfid = r.subarray(17);

  // On the sharded volume: SETATTR of times after writes through a cached
  // fd is what GETATTR shows (a held file inode once kept serving the old
  // times; right after, the client stack may answer with them for up to
  // md-cache's second, as before any caching here).
  const vr = await vm.root();
  const vf = await vm.create(root, vr, 'f', { mode: 'unchecked', attrs: { mode: 0o644, size: 0n } });
  await vm.write(root, vf.handle, 0n, randomBytes(65536), 'unstable');
  await vm.commit(root, vf.handle, 0n, 0);
  const vs = await vm.setattr(root, vf.handle, { atime: { sec: 12345, nsec: 0 }, mtime: { sec: 67890, nsec: 0 } });
  assert.equal(vs.after?.mtime.sec, 67890);
  await sleep(1100);
  for (const a of [await vm.getattr(vf.handle), (await vm.lookup(root, vr, 'f')).attrs]) {
    assert.equal(a.mtime.sec, 67890);
    assert.equal(a.atime.sec, 12345);
  }
  // O_TRUNC of a file with data (SETATTR size 0 skipped only when the size already is 0).
  await vm.write(root, vf.handle, 0n, Buffer.from('unstable data'), 'unstable');
  const again = await vm.create(root, vr, 'f', { mode: 'unchecked', attrs: { size: 0n } });
  assert.ok(again.handle.equals(vf.handle));
  assert.equal(again.attrs.size, 0n);
  assert.equal((await vm.read(root, vf.handle, 0n, 100)).data.length, 0);
  assert.equal((await vm.getattr(vf.handle)).size, 0n);

  // The SETATTR of size 0 that O_TRUNC sends after CREATE is answered on
  // the JS thread (no worker task, no libgfapi call) — for root and the
  // owner only; a size that differs, or another user, goes the long way.
  const owner: Cred = { uid: 4242, gid: 4242, gids: [] };
  const open = await vm.mkdir(root, vr, 'open', { mode: 0o777 });
  const tf = await vm.create(owner, open.handle, 'trunc', { mode: 'guarded', attrs: { mode: 0o666 } });
  gfapiStats(true);
  for (const c of [root, owner]) {
    const s0 = await vm.setattr(c, tf.handle, { size: 0n });
    assert.equal(s0.after?.size, 0n);
    assert.equal(s0.before?.size, 0n);
  }
  assert.equal((JSON.parse(gfapiStats(true)) as Stats).ops.setattr, undefined, 'no-op truncates need no task');
  await vm.setattr({ uid: 4343, gid: 4343, gids: [] }, tf.handle, { size: 0n });
  assert.equal((JSON.parse(gfapiStats(true)) as Stats).ops.setattr?.[0], 1, 'another user is checked by the bricks');
  await vm.write(root, tf.handle, 0n, Buffer.from('twelve bytes'), 'unstable');
  assert.equal((await vm.setattr(owner, tf.handle, { size: 0n })).after?.size, 0n);
  assert.equal((await vm.read(root, tf.handle, 0n, 100)).data.length, 0);
  assert.equal((await vm.setattr(root, tf.handle, { size: 5n })).after?.size, 5n);
  assert.equal((await vm.getattr(tf.handle)).size, 5n);

  // `cp -p` on the sharded volume: CREATE, WRITE, SETATTR of the times,
  // then the COMMIT of close. The times stay, as this client and a fresh
  // one see them (an fsync right after the SETATTR once put the brick
  // file's own mtime into md-cache: lost in 5 of 8 files).
  const otherVm = await openGfapiVolume('gv', lab.host, 24007, '/dev/null', 4, []);
  const copies = [];
  for (let i = 0; i < 4; i++) {
    const cp = await vm.create(root, vr, `cp-p-${i}`, { mode: 'guarded', attrs: { mode: 0o644 } });
    await vm.write(root, cp.handle, 0n, randomBytes(70000), 'unstable');
    await vm.setattr(root, cp.handle, { atime: { sec: 2222, nsec: 0 }, mtime: { sec: 3333 + i, nsec: 7 } });
    await vm.commit(root, cp.handle, 0n, 0);
    copies.push(cp);
  }
  await sleep(1100);
  for (const [i, cp] of copies.entries()) {
    const fresh = await otherVm.stat(cp.handle.subarray(17));
    const seen = [(await vm.getattr(cp.handle)).mtime, (await vm.lookup(root, vr, `cp-p-${i}`)).attrs.mtime, { sec: fresh.mtimeSec, nsec: fresh.mtimeNsec }];
    for (const mtime of seen) assert.deepEqual(mtime, { sec: 3333 + i, nsec: 7 }, `times of cp -p kept (file ${i})`);
  }

  // WRITE post-op attributes follow the writes; SETATTR of times after
  // writes is what GETATTR then shows (a held, sharded inode once kept
  // serving the old times).
  const f = await b.create(root, r, 'f', { mode: 'unchecked', attrs: { mode: 0o644, size: 0n } });
  assert.equal(f.attrs.size, 0n);
  const data = randomBytes(3 * 65536);
  let lastMtime = 0;
  for (let i = 0; i < 3; i++) {
    const w = await b.write(root, f.handle, BigInt(i * 65536), data.subarray(i * 65536, (i + 1) * 65536), 'unstable');
    assert.equal(w.file.after?.size, BigInt((i + 1) * 65536));
    assert.ok(w.file.after!.mtime.sec >= lastMtime);
    lastMtime = w.file.after!.mtime.sec;
  }
  await b.commit(root, f.handle, 0n, 0);
  const s = await b.setattr(root, f.handle, { atime: { sec: 12345, nsec: 0 }, mtime: { sec: 67890, nsec: 0 } });
  assert.equal(s.before?.size, BigInt(data.length));
  assert.equal(s.after?.mtime.sec, 67890);
  await sleep(1100);
  for (const a of [await b.getattr(f.handle), (await b.lookup(root, r, 'f')).attrs]) {
    assert.equal(a.mtime.sec, 67890);
    assert.equal(a.atime.sec, 12345);
  }
  const rd = await b.read(root, f.handle, 0n, data.length, Buffer.alloc(1 << 20));
  assert.ok(rd.data.equals(data));
  assert.equal(rd.eof, true);

  // The file grows through the other client: after md-cache's second, a
  // READ at our old end of file returns the new data, not EOF.
  const more = randomBytes(65536);
  await other.write({ uid: 0, gid: 0, gids: [] }, (await other.lookup(root, rootGfid, 'f')).gfid, data.length, more, 2);
  await sleep(1100);
  const tail = await b.read(root, f.handle, BigInt(data.length), 65536);
  assert.ok(tail.data.equals(more));
  assert.equal((await b.getattr(f.handle)).size, BigInt(data.length + more.length));

  // A directory renamed through the other client: our cached name goes
  // within a second.
  const d = await b.mkdir(root, r, 'd1', { mode: 0o755 });
  assert.ok((await b.lookup(root, r, 'd1')).handle.equals(d.handle));
  await other.rename({ uid: 0, gid: 0, gids: [] }, rootGfid, 'd1', rootGfid, 'd2');
  await sleep(1100);
  await assert.rejects(b.lookup(root, r, 'd1'), { code: 'ENOENT' });
  assert.ok((await b.lookup(root, r, 'd2')).handle.equals(d.handle));
  // … and through us at once.
  await b.rename(root, r, 'd2', r, 'd3');
  await assert.rejects(b.lookup(root, r, 'd2'), { code: 'ENOENT' });
  assert.ok((await b.lookup(root, r, 'd3')).handle.equals(d.handle));

  // A file we hold open, removed through the other client, is stale to us.
  await other.remove({ uid: 0, gid: 0, gids: [] }, rootGfid, 'f', false);
  await sleep(1100);
  await assert.rejects(b.getattr(f.handle), { code: 'ESTALE' });

  // statCached, GETATTR's answer without a worker thread: a LOOKUP's
  // attributes for a second, then nothing (the volume is asked again);
  // nothing for a GFID never seen, nor for one removed through us.
  const c = await b.create(root, r, 'cached', { mode: 'guarded', attrs: { mode: 0o600 } });
  const cg = c.handle.subarray(17);
  await sleep(1100);
  assert.equal(other.statCached(cg), null, 'nothing seen by that client');
  const looked = await other.lookup(root, rootGfid, 'cached');
  assert.equal(other.statCached(cg)?.mode, looked.stat.mode);
  assert.equal(other.statCached(randomBytes(16)), null);
  await sleep(1100);
  assert.equal(other.statCached(cg), null, 'older than a second');
  const g2 = await other.stat(cg);
  assert.equal(other.statCached(cg)?.ino, g2.ino);
  // accessCached: root and the owner decided from those attributes; anyone else asks the bricks.
  assert.equal(other.accessCached(root, cg)?.granted, 6, 'root: rw, no x on a 0600 file');
  assert.equal(other.accessCached({ uid: 4242, gid: 4242, gids: [] }, cg), null, 'not the owner');
  await other.remove(root, rootGfid, 'cached', false);
  assert.equal(other.statCached(cg), null, 'removed through this client');
  assert.equal(other.accessCached(root, cg), null);
  await assert.rejects(other.stat(cg), { code: 'ESTALE' });

  // lookupCached, LOOKUP without a worker: a directory name resolved, or
  // a file made, less than a second ago, only for a caller who may search
  // its parent.
  const user = { uid: 1000, gid: 1000, gids: [] };
  const top = await other.mkdir(root, rootGfid, 'lc', 0o700);
  await other.mkdir(root, top.gfid, 'sub', 0o755);
  const made = await other.create(root, top.gfid, 'file', 0o644, true, true);
  const madeHit = other.lookupCached(root, top.gfid, 'file');
  assert.ok(madeHit?.gfid.equals(made.gfid), 'the LOOKUP that follows a CREATE');
  assert.equal(madeHit?.stat.ino, made.stat.ino);
  assert.equal(other.lookupCached({ uid: 0, gid: 5, gids: [] }, top.gfid, 'file')?.gfid.equals(made.gfid), true, 'per uid');
  assert.equal(other.lookupCached(user, top.gfid, 'file'), null, 'not for another uid');
  assert.ok((await other.lookup(root, top.gfid, 'file')).gfid.equals(made.gfid), 'LOOKUP on a worker: the same answer');
  await other.remove(root, top.gfid, 'file', false);
  assert.equal(other.lookupCached(root, top.gfid, 'file'), null, 'removed through this client');
  await assert.rejects(other.lookup(root, top.gfid, 'file'), { code: 'ENOENT' });
  await other.create(root, top.gfid, 'file', 0o644, true, true);
  await sleep(1100);
  assert.equal(other.lookupCached(root, top.gfid, 'file'), null, 'a file made more than a second ago');
  await b.create(root, (await b.lookup(root, r, 'lc')).handle, 'theirs', { mode: 'guarded', attrs: {} });
  await other.lookup(root, top.gfid, 'theirs');
  assert.equal(other.lookupCached(root, top.gfid, 'theirs'), null, 'a file found, not made here, is not kept');
  assert.equal(other.lookupCached(root, top.gfid, 'sub'), null, 'not yet looked up');
  const sub = await other.lookup(root, top.gfid, 'sub');
  const hit = other.lookupCached(root, top.gfid, 'sub');
  assert.ok(hit?.gfid.equals(sub.gfid));
  assert.equal(hit?.stat.ino, sub.stat.ino);
  assert.equal(other.lookupCached(root, top.gfid, '..'), null);
  await assert.rejects(other.lookup(user, top.gfid, 'sub'), { code: 'EACCES' });
  assert.equal(other.lookupCached(user, top.gfid, 'sub'), null, 'no search permission');
  await other.rename(root, top.gfid, 'sub', top.gfid, 'moved');
  assert.equal(other.lookupCached(root, top.gfid, 'sub'), null, 'renamed through this client');
  await other.lookup(root, top.gfid, 'moved');
  assert.ok(other.lookupCached(root, top.gfid, 'moved'));
  await sleep(1100);
  assert.equal(other.lookupCached(root, top.gfid, 'moved'), null, 'older than a second');

  // READDIRPLUS in small pages of two directories at once (parked streams
  // keyed by directory and cookie): every name exactly once in each.
  const dirs = [await b.mkdir(root, r, 'la', { mode: 0o755 }), await b.mkdir(root, r, 'lb', { mode: 0o755 })];
  const want: string[] = [];
  for (let i = 0; i < 40; i++) want.push(`n${i}`);
  for (const dd of dirs) for (const n of want) await b.create(root, dd.handle, n, { mode: 'guarded', attrs: {} });
  const seen = dirs.map(() => new Set<string>());
  const cookies = dirs.map(() => 0n);
  const verfs: Buffer[] = dirs.map(() => Buffer.alloc(8));
  const done = dirs.map(() => false);
  while (done.includes(false)) {
    for (let i = 0; i < dirs.length; i++) {
      if (done[i]) continue;
      const page = await b.readdir(root, dirs[i]!.handle, cookies[i]!, verfs[i]!, 7, true);
      for (const e of page.entries) {
        assert.ok(!seen[i]!.has(e.name), `${e.name} listed twice`);
        seen[i]!.add(e.name);
        if (e.name !== '.' && e.name !== '..') assert.ok(e.handle && e.attrs);
        cookies[i] = e.cookie;
      }
      verfs[i] = page.verifier;
      done[i] = page.eof;
      assert.ok(page.dirAttrs);
    }
  }
  for (const sset of seen) assert.deepEqual([...sset].sort(), ['.', '..', ...want].sort());
});
