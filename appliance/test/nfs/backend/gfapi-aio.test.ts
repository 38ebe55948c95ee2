// READ into a caller's buffer and UNSTABLE WRITE as async libgfapi calls
// (native/src/gfapi_aio.rs) against a real replica-3 volume: many started
// at once, async while the file has an idle fd, blocking (opening more)
// beyond; one at a time always async; data intact, and the blocking fallbacks (another user,
// stable writes, a file without a cached fd) still right.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { gfapiStats } from '@cairn/native';
import { GlusterLab, replica3 } from '../../pool/gluster/lab.js';
import { openGfapiBackend } from '../../../src/nfs/backend/gfapi/index.js';
import type { Cred } from '../../../src/nfs/backend/backend.js';

const root: Cred = { uid: 0, gid: 0, gids: [] };
const user: Cred = { uid: 1000, gid: 1000, gids: [1000] };
const BLOCK = 64 << 10;
const BLOCKS = 64;
type Stats = { maxInFlight: number; ops: Record<string, [number, number]>; calls: Record<string, [number, number]> };

// Async calls are opt-in (see native/src/gfapi_aio.rs); read once, at the first READ or WRITE.
process.env.CAIRN_GFAPI_ASYNC = '1';

test('gfapi backend: async READ and WRITE, many in flight, data intact; blocking fallbacks', async (t) => {
  const lab = await GlusterLab.start(t);
  await replica3(lab, 'gv');
  const b = await openGfapiBackend({ volume: 'gv', volfileServer: lab.host, logFile: `${lab.dir}/log/gfapi.log` });
  t.after(() => b.close());
  const r = await b.root();
  const f = await b.create(root, r, 'aio', { mode: 'guarded', attrs: { mode: 0o644 } });

  // Every block written at once, then every block read at once into its own buffer.
  const data = randomBytes(BLOCK * BLOCKS);
  gfapiStats(true);
  const writes = await Promise.all(
    Array.from({ length: BLOCKS }, (_, i) => b.write(root, f.handle, BigInt(i * BLOCK), data.subarray(i * BLOCK, (i + 1) * BLOCK), 'unstable')),
  );
  assert.ok(writes.every((w) => w.count === BLOCK && w.committed === 'unstable'));
  assert.equal(writes.reduce((m, w) => (w.file.after!.size > m ? w.file.after!.size : m), 0n), BigInt(data.length), 'the largest size seen is the end of the last block');
  const writeStats = JSON.parse(gfapiStats(true)) as Stats;
  const commit = await b.commit(root, f.handle, 0n, 0);
  assert.equal(commit.after?.size, BigInt(data.length));
  // COMMIT fsyncs what was written UNSTABLE; a second one has nothing to do.
  const fsyncs = () => (JSON.parse(gfapiStats(true)) as { calls: Record<string, [number, number]> }).calls.fsync?.[0] ?? 0;
  assert.equal(fsyncs(), 1, 'the COMMIT after the writes is one fsync');
  const recommit = await b.commit(root, f.handle, 0n, 0);
  assert.equal(recommit.after?.size, BigInt(data.length));
  assert.equal(fsyncs(), 0, 'nothing written since: no fsync');

  const bufs = Array.from({ length: BLOCKS }, () => Buffer.alloc(BLOCK));
  const reads = await Promise.all(bufs.map((into, i) => b.read(root, f.handle, BigInt(i * BLOCK), BLOCK, into)));
  const readStats = JSON.parse(gfapiStats(true)) as Stats;
  reads.forEach((rd, i) => {
    assert.equal(rd.data.length, BLOCK, `block ${i}`);
    assert.ok(rd.data.equals(data.subarray(i * BLOCK, (i + 1) * BLOCK)), `block ${i} read back`);
    assert.equal(rd.eof, i === BLOCKS - 1, `eof only on the last block (${i})`);
    assert.equal(rd.attrs.size, BigInt(data.length));
  });
  assert.equal(writeStats.ops.write?.[0], BLOCKS);
  assert.equal(readStats.ops.read?.[0], BLOCKS);
  // A call goes async while the file has an idle fd (each async call holds
  // one of its own until its callback: native/src/gfapi.rs OpenFile says
  // why); the others block, on workers that open more fds, kept idle after:
  // the pool grows to the load. How many fds a burst needs depends on
  // timing: write-behind often answers an UNSTABLE write at once, on the
  // submitting thread (client io-threads are passed through), so its fd
  // is free again for the next one.
  const calls = (st: Stats, k: string) => st.calls[k]?.[0] ?? 0;
  assert.equal(calls(writeStats, 'pwrite_async') + calls(writeStats, 'pwrite'), BLOCKS, 'every WRITE made one libgfapi write');
  assert.ok(calls(writeStats, 'pwrite_async') >= 1, 'the burst of WRITEs started async');
  assert.equal(calls(readStats, 'pread_async') + calls(readStats, 'pread'), BLOCKS, 'every READ made one libgfapi read');
  assert.ok(calls(readStats, 'pread_async') >= 1, `the burst of READs started async: ${JSON.stringify(readStats.calls)}`);
  t.diagnostic(`async: ${calls(writeStats, 'pwrite_async')} of ${BLOCKS} writes, ${calls(readStats, 'pread_async')} of ${BLOCKS} reads; in flight at most: writes ${writeStats.maxInFlight}, reads ${readStats.maxInFlight} (libuv workers ${process.env.UV_THREADPOOL_SIZE ?? 4})`);
  // One at a time, every READ and WRITE finds an idle fd: all async.
  for (let i = 0; i < 8; i++) {
    const into = Buffer.alloc(BLOCK);
    assert.ok((await b.read(root, f.handle, BigInt(i * BLOCK), BLOCK, into)).data.equals(data.subarray(i * BLOCK, (i + 1) * BLOCK)));
    await b.write(root, f.handle, BigInt(i * BLOCK), data.subarray(i * BLOCK, (i + 1) * BLOCK), 'unstable');
  }
  const oneByOne = JSON.parse(gfapiStats(true)) as Stats;
  assert.deepEqual([calls(oneByOne, 'pread_async'), calls(oneByOne, 'pwrite_async'), calls(oneByOne, 'pread'), calls(oneByOne, 'pwrite')], [8, 8, 0, 0], 'one at a time: all async');

  // Past the end: nothing, eof.
  const past = await b.read(root, f.handle, BigInt(data.length + 10), BLOCK, Buffer.alloc(BLOCK));
  assert.equal(past.data.length, 0);
  assert.equal(past.eof, true);
  const tail = await b.read(root, f.handle, BigInt(data.length - 10), BLOCK, Buffer.alloc(BLOCK));
  assert.ok(tail.data.equals(data.subarray(data.length - 10)));
  assert.equal(tail.eof, true);

  // Another user on root's 0644 file: access is asked of the bricks (blocking path).
  const ur = await b.read(user, f.handle, 0n, 16, Buffer.alloc(16));
  assert.ok(ur.data.equals(data.subarray(0, 16)));
  await assert.rejects(b.write(user, f.handle, 0n, Buffer.from('no'), 'unstable'), { code: 'EACCES' });

  // A stable write (blocking path) and an async one next to it land in order of offsets.
  await b.write(root, f.handle, 0n, Buffer.from('STABLE'), 'file_sync');
  await b.write(root, f.handle, 6n, Buffer.from('-async'), 'unstable');
  const head = await b.read(root, f.handle, 0n, 12, Buffer.alloc(12));
  assert.equal(head.data.toString(), 'STABLE-async');

  // The handle a LOOKUP gives reads through the same cached fd.
  const lk = await b.lookup(root, r, 'aio');
  const again = await b.read(root, lk.handle, 0n, 12, Buffer.alloc(12));
  assert.equal(again.data.toString(), 'STABLE-async');

  // A removed file is ESTALE on both paths.
  await b.remove(root, r, 'aio');
  await assert.rejects(b.read(root, f.handle, 0n, 16, Buffer.alloc(16)), { code: 'ESTALE' });
  await assert.rejects(b.write(root, f.handle, 0n, Buffer.from('x'), 'unstable'), { code: 'ESTALE' });
});
