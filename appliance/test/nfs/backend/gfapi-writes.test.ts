// UNSTABLE writes of one file go through its queue (native/src/write_queue.rs):
// a stream of 1 MiB writes reaches libgfapi one at a time, back to back,
// contiguous ones joined up to 2 MiB; every write still gets its own
// answer, in any mix of success and failure, and nothing queued behind a
// failure waits forever. COMMIT fsyncs only what no finished fsync covered
// (native/src/dirty.rs), and a FILE_SYNC write is one write with O_SYNC.
// Against a real replica-3 volume with the VM profile (sharded), through
// the native volume itself: no sweeper or other call runs beside the
// writes, so the counters are the calls' own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gfapiStats, openGfapiVolume } from '@cairn/native';
import { GlusterLab, replica3 } from '../../pool/gluster/lab.js';

const root = { uid: 0, gid: 0, gids: [] as number[] };
const MIB = 1 << 20;
type Stats = { ops: Record<string, [number, number]>; calls: Record<string, [number, number]>; maxInFlight: number };
const stats = (): Stats => JSON.parse(gfapiStats(true)) as Stats;
const UNSTABLE = 0;
const FILE_SYNC = 2;

test('gfapi writes: one file’s 1 MiB UNSTABLE writes run one at a time; each answered', async (t) => {
  const lab = await GlusterLab.start(t);
  await replica3(lab, 'gv');
  const v = await openGfapiVolume('gv', lab.host, 24007, '/dev/null', 4, []);
  const dir = (await v.root()).gfid;
  const file = async (name: string) => (await v.create(root, dir, name, 0o644, false, true)).gfid;

  // Eight 1 MiB writes at once, as a client streaming with a queue depth of 8.
  const big = await file('big');
  const chunks = Array.from({ length: 8 }, () => randomBytes(MIB));
  stats();
  const answers = await Promise.all(chunks.map((c, i) => v.write(root, big, i * MIB, c, UNSTABLE)));
  let s = stats();
  // Contiguous writes waiting together go as one call of up to 2 MiB.
  const calls = s.calls.pwrite?.[0] ?? 0;
  assert.ok(calls >= 4 && calls <= 8, `4 to 8 libgfapi writes for 8 MiB (saw ${calls})`);
  assert.equal(s.ops.write?.[0], calls, 'one operation per libgfapi write');
  assert.equal(s.maxInFlight, 1, 'one at a time');
  assert.equal(answers.at(-1)!.after.size, 8 * MIB, 'the last write to run saw every earlier one');
  await v.commit(big);
  for (const [i, c] of chunks.entries()) {
    const r = await v.read(root, big, i * MIB, MIB);
    assert.ok(r.data.equals(c), `MiB ${i} reads back`);
  }

  // Two files: each streams on its own (never more than one write of a file at once).
  const [a, b] = [await file('a'), await file('b')];
  const both = [a, b].flatMap((g) => chunks.slice(0, 4).map((c, i) => v.write(root, g, i * MIB, c, UNSTABLE)));
  stats();
  await Promise.all(both);
  s = stats();
  assert.ok(s.maxInFlight <= 2, `at most one write per file at once (saw ${s.maxInFlight})`);
  for (const g of [a, b]) assert.ok((await v.read(root, g, 3 * MIB, MIB)).data.equals(chunks[3]!));

  // A refused write among queued ones: only it fails, and the rest land.
  const mixed = await file('mixed');
  const stranger = { uid: 4242, gid: 4242, gids: [] as number[] };
  const results = await Promise.allSettled([
    v.write(root, mixed, 0, chunks[0]!, UNSTABLE),
    v.write(stranger, mixed, MIB, chunks[1]!, UNSTABLE),
    v.write(root, mixed, 2 * MIB, chunks[2]!, UNSTABLE),
  ]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  assert.equal(((results[1] as PromiseRejectedResult).reason as { code?: string }).code, 'EACCES');
  assert.ok((await v.read(root, mixed, 2 * MIB, MIB)).data.equals(chunks[2]!));
  assert.ok((await v.read(root, mixed, MIB, MIB)).data.equals(Buffer.alloc(MIB)), 'the refused write left a hole');

  // A file that is not there: every queued write fails, none hangs, and
  // the next write to it is answered too (its queue did not stay behind).
  const gone = randomBytes(16);
  const lost = await Promise.allSettled(chunks.slice(0, 3).map((c, i) => v.write(root, gone, i * MIB, c, UNSTABLE)));
  assert.deepEqual(
    lost.map((r) => r.status),
    ['rejected', 'rejected', 'rejected'],
  );
  await assert.rejects(v.write(root, gone, 0, chunks[0]!, UNSTABLE), (e: { code?: string }) => e.code === 'ESTALE' || e.code === 'ENOENT');
});

test('gfapi COMMIT and FILE_SYNC writes: no "stable" before an fsync has worked; a stable write is one call', async (t) => {
  const lab = await GlusterLab.start(t);
  const bricks = await replica3(lab, 'gv');
  const v = await openGfapiVolume('gv', lab.host, 24007, '/dev/null', 4, []);
  const dir = (await v.root()).gfid;
  const chunks = Array.from({ length: 3 }, () => randomBytes(MIB));

  // COMMIT (native/src/dirty.rs): a second COMMIT that arrives while the
  // first one's fsync runs makes its own fsync rather than answering
  // "stable" before the first is known to have worked; once one has
  // succeeded with no write since, the next has nothing to do.
  const c = (await v.create(root, dir, 'commit', 0o644, false, true)).gfid;
  await v.write(root, c, 0, chunks[0]!, UNSTABLE);
  stats();
  await Promise.all([v.commit(c), v.commit(c)]);
  assert.equal(stats().calls.fsync?.[0], 2, 'two COMMITs at once: two fsyncs');
  await v.commit(c);
  assert.equal(stats().calls.fsync?.[0] ?? 0, 0, 'a COMMIT after a successful one: no fsync');

  // A FILE_SYNC write is one libgfapi write with O_SYNC: on every brick
  // when answered, with no fsync of its own and the bricks' pre-op
  // attributes. It does not make the file's earlier UNSTABLE writes
  // stable (write-behind may still hold them): COMMIT still fsyncs.
  await v.write(root, c, MIB, chunks[1]!, UNSTABLE);
  const sizeBefore = (await v.stat(c)).size;
  stats();
  const small = chunks[2]!.subarray(0, 4096);
  const w = await v.write(root, c, 2 * MIB, small, FILE_SYNC);
  const s = stats();
  assert.equal(s.calls.pwrite?.[0], 1, 'one libgfapi write');
  assert.equal(s.calls.fsync?.[0] ?? 0, 0, 'no fsync of its own');
  assert.equal(w.before?.size, sizeBefore, 'pre-op attributes: the size before the write');
  assert.equal(w.after.size, 2 * MIB + 4096);
  for (const b of bricks) {
    const onBrick = await readFile(join(b.brickDir, 'commit'));
    assert.ok(onBrick.subarray(2 * MIB, 2 * MIB + 4096).equals(small), `on ${b.name} when answered`);
  }
  stats();
  await v.commit(c);
  assert.equal(stats().calls.fsync?.[0], 1, 'COMMIT still fsyncs the UNSTABLE write before it');
});
