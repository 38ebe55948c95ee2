// Failure and heal on a real replica-3 volume, driven through the gfapi NFS
// backend and watched through the pool driver:
//  1. a brick process dies during a 256 MiB write: no error, checksum right;
//     the brick returns, the driver reports heal progress until heal is done
//     and the returned brick holds the same bytes;
//  2. quorum loss (2 of 3 bricks down): writes (and, in Gluster 10, reads)
//     fail promptly with an NFS error, nothing is corrupted when the bricks return;
//  3. a brick whose disk is gone is replaced: data re-replicates onto the
//     new brick and the volume returns to healthy.
// The 1 GiB run over NFS is scripts/gluster-failure-1g.sh (not in CI).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GlusterLab, killAndWait, replica3, type LabBrick } from './lab.js';
import { openGfapiBackend } from '../../../src/nfs/backend/gfapi/index.js';
import type { Backend, Cred } from '../../../src/nfs/backend/backend.js';
import { toNfsStat, nfsstat3 } from '../../../src/nfs/backend/errors.js';
import type { GlusterVolumes, HealState } from '../../../src/pool/gluster/volumes.js';

const root: Cred = { uid: 0, gid: 0, gids: [] };
const MiB = 1 << 20;
const SHARD = 64 * MiB; // features.shard-block-size default, with the virt group

const FILE_MiB = Number(process.env.CAIRN_GLUSTER_FAILURE_MIB ?? 256);

function uuid(gfid: Buffer): string {
  const h = gfid.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** sha256 of each 64 MiB shard of what was written. */
type ShardHashes = string[];

async function writeFile(b: Backend, fh: Buffer, mib: number, during?: (mibDone: number) => Promise<void>): Promise<ShardHashes> {
  const hashes: ShardHashes = [];
  let h = createHash('sha256');
  for (let i = 0; i < mib; i++) {
    const chunk = randomBytes(MiB);
    const w = await b.write(root, fh, BigInt(i * MiB), chunk, 'unstable');
    assert.equal(w.count, MiB);
    h.update(chunk);
    if (((i + 1) * MiB) % SHARD === 0 || i === mib - 1) {
      hashes.push(h.digest('hex'));
      h = createHash('sha256');
    }
    if (during) await during(i + 1);
  }
  await b.commit(root, fh, 0n, 0);
  return hashes;
}

async function readHashes(b: Backend, fh: Buffer): Promise<ShardHashes> {
  const hashes: ShardHashes = [];
  let h = createHash('sha256');
  let off = 0;
  for (;;) {
    const r = await b.read(root, fh, BigInt(off), MiB);
    h.update(r.data);
    off += r.data.length;
    if (off % SHARD === 0 || r.eof) {
      hashes.push(h.digest('hex'));
      h = createHash('sha256');
    }
    if (r.eof) return hashes;
  }
}

/** The same bytes, read straight off one brick's disk (base file + .shard/GFID.N). */
async function brickHashes(brick: LabBrick, name: string, gfid: Buffer, shards: number): Promise<ShardHashes> {
  const out: ShardHashes = [];
  for (let i = 0; i < shards; i++) {
    const p = i === 0 ? join(brick.brickDir, name) : join(brick.brickDir, '.shard', `${uuid(gfid)}.${i}`);
    out.push(createHash('sha256').update(await readFile(p)).digest('hex'));
  }
  return out;
}

/**
 * Retries `fn` while it fails with NFS3ERR_JUKEBOX, as an NFS client does:
 * after bricks return, a long-lived libgfapi client reconnects on its own
 * timer (a few seconds), later than a fresh `heal info` client sees them.
 */
async function asClientRetries<T>(fn: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (toNfsStat(err) !== nfsstat3.NFS3ERR_JUKEBOX || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

async function brickPid(v: GlusterVolumes, vol: string, brick: LabBrick): Promise<number> {
  const s = await v.status(vol, { detail: false });
  const b = s.bricks.find((x) => x.brick === brick.name);
  assert.ok(b?.pid, `pid of ${brick.name}`);
  return b.pid;
}

/** Polls heal state until nothing is pending on any connected brick; returns what it saw. */
async function waitHealed(v: GlusterVolumes, vol: string, timeoutMs: number): Promise<HealState[]> {
  const seen: HealState[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const h = await v.heal(vol);
    seen.push(h);
    if (h.pending === 0 && h.unreachable === 0) return seen;
    if (Date.now() > deadline) assert.fail(`heal not done: ${JSON.stringify(h.bricks)}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

test('replica 3: brick failure during a write, heal, quorum loss, replace a dead disk', { timeout: 280_000 }, async (t) => {
  const lab = await GlusterLab.start(t);
  const v = lab.volumes;
  const bricks = await replica3(lab, 'gv');
  const b = await openGfapiBackend({ volume: 'gv', volfileServer: lab.host, logFile: join(lab.dir, 'log', 'gfapi.log') });
  const r = await b.root();

  await t.test(`a brick dies during a ${FILE_MiB} MiB write: no error, right checksum, heal reported and done`, async () => {
    const f = await b.create(root, r, 'big', { mode: 'guarded', attrs: { mode: 0o644 } });
    const victim = bricks[0]!;
    const pid = await brickPid(v, 'gv', victim);
    const written = await writeFile(b, f.handle, FILE_MiB, async (done) => {
      if (done === Math.floor(FILE_MiB / 4)) await killAndWait([pid]);
    });
    assert.deepEqual(await readHashes(b, f.handle), written);

    // Degraded: the driver says so, and heal info counts entries pending on the live bricks.
    assert.equal(await v.health('gv'), 'degraded');
    const during = await v.heal('gv');
    assert.equal(during.unreachable, 1);
    const victimHeal = during.bricks.find((x) => x.brick === victim.name)!;
    assert.equal(victimHeal.connected, false);
    assert.equal(victimHeal.entries, null);
    assert.ok(during.pending > 0, `entries pending while ${victim.name} is down: ${JSON.stringify(during.bricks)}`);

    // The brick returns (volume start force restarts dead brick processes); self-heal runs by itself.
    await v.start('gv', { force: true });
    const progress = await waitHealed(v, 'gv', 120_000);
    t.diagnostic(`heal progress (entries pending per poll): ${progress.map((h) => h.pending).join(' → ')}`);
    assert.equal(await v.health('gv'), 'healthy');
    const shards = written.length;
    for (const brick of bricks) assert.deepEqual(await brickHashes(brick, 'big', f.handle.subarray(17), shards), written, brick.name);
  });

  await t.test('quorum loss: I/O fails promptly with an NFS error, never wrong data; intact when bricks return', async () => {
    const f = await b.create(root, r, 'q', { mode: 'guarded', attrs: {} });
    const data = randomBytes(4 * MiB);
    await b.write(root, f.handle, 0n, data, 'file_sync');
    const pids = [await brickPid(v, 'gv', bricks[1]!), await brickPid(v, 'gv', bricks[2]!)];
    await killAndWait(pids);
    try {
      assert.equal(await v.health('gv'), 'down');
      // Gluster 10's AFR refuses writes *and reads* once client quorum is lost
      // (ENOTCONN, so no stale read can happen): NFS3ERR_JUKEBOX, the client retries.
      const t0 = Date.now();
      const err = await b.write(root, f.handle, 0n, randomBytes(MiB), 'file_sync').then(
        () => assert.fail('write without quorum succeeded'),
        (e: unknown) => e,
      );
      const stat = toNfsStat(err);
      assert.ok(
        [nfsstat3.NFS3ERR_JUKEBOX, nfsstat3.NFS3ERR_ROFS, nfsstat3.NFS3ERR_IO].includes(stat),
        `write error ${String((err as Error).message)} → nfsstat3 ${stat}`,
      );
      assert.ok(Date.now() - t0 < 30_000, `write failed after ${Date.now() - t0} ms`);
      t.diagnostic(`write without quorum: ${(err as Error).message} → nfsstat3 ${stat} after ${Date.now() - t0} ms`);
      const t1 = Date.now();
      const rd = await b.read(root, f.handle, 0n, MiB).then(
        (x) => x.data,
        (e: unknown) => e as Error,
      );
      if (rd instanceof Error) {
        assert.equal(toNfsStat(rd), nfsstat3.NFS3ERR_JUKEBOX, rd.message);
        t.diagnostic(`read without quorum: ${rd.message} after ${Date.now() - t1} ms`);
      } else {
        assert.ok(rd.equals(data.subarray(0, MiB)), 'a read without quorum returns the right data or fails');
      }
      assert.ok(Date.now() - t1 < 30_000);
    } finally {
      await v.start('gv', { force: true });
    }
    await waitHealed(v, 'gv', 120_000);
    await asClientRetries(() => b.getattr(f.handle));
    const back: Buffer[] = [];
    for (let off = 0; off < data.length; off += MiB) back.push((await b.read(root, f.handle, BigInt(off), MiB)).data);
    assert.ok(Buffer.concat(back).equals(data), 'data intact after the bricks return');
    await asClientRetries(() => b.write(root, f.handle, 0n, Buffer.from('writable again'), 'file_sync'));
  });

  await t.test('a brick whose disk is gone is replaced: data re-replicates, volume healthy', async () => {
    const f = await b.create(root, r, 'after', { mode: 'guarded', attrs: {} });
    const lost = bricks[1]!;
    await lab.destroyBrick(lost, await brickPid(v, 'gv', lost));
    // Degraded, still writable.
    const data = randomBytes(8 * MiB);
    await b.write(root, f.handle, 0n, data, 'file_sync');
    assert.equal(await v.health('gv'), 'degraded');

    const fresh = await lab.addBrick('gv-4');
    await v.replaceBrick('gv', lost.name, fresh.name);
    const info = await v.info('gv');
    assert.ok(info.bricks.some((x) => x.name === fresh.name));
    assert.ok(!info.bricks.some((x) => x.name === lost.name));
    bricks[1] = fresh;

    const progress = await waitHealed(v, 'gv', 150_000);
    t.diagnostic(`replace-brick heal progress: ${progress.map((h) => h.pending).join(' → ')}`);
    assert.equal(await v.health('gv'), 'healthy');
    const onDisk = await open(join(fresh.brickDir, 'after'), 'r');
    try {
      const buf = Buffer.alloc(data.length);
      await onDisk.read(buf, 0, buf.length, 0);
      assert.ok(buf.equals(data), 'the new brick holds the file');
    } finally {
      await onDisk.close();
    }
    const big = await b.lookup(root, r, 'big');
    const want = await readHashes(b, big.handle);
    assert.deepEqual(await brickHashes(fresh, 'big', big.handle.subarray(17), want.length), want, 'and the big file, shard by shard');
  });
});
