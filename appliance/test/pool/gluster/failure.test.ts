// Failure and heal on a real replica-3 volume, driven through the gfapi NFS
// backend and watched through the pool driver:
//  1. a brick process dies during a 256 MiB write: no error, checksum right;
//     the brick returns, the driver reports heal progress until heal is done
//     and the returned brick holds the same bytes;
//  2. quorum loss (2 of 3 bricks down): writes and (in Gluster 10, by design:
//     see the evidence in the test) reads fail promptly with NFS3ERR_JUKEBOX,
//     nothing is corrupted when the bricks return;
//  3. a brick whose disk is gone is replaced: data re-replicates onto the
//     new brick and the volume returns to healthy;
//  4. why reads without quorum stay refused: the one option set that would
//     allow them (quorum-count 1 + read-only) serves stale bytes.
// The 1 GiB run over NFS is scripts/gluster-failure-1g.sh (not in CI).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { GlusterLab, killAndWait, replica3, type LabBrick } from './lab.js';
import { openGfapiBackend } from '../../../src/nfs/backend/gfapi/index.js';
import type { Backend, Cred } from '../../../src/nfs/backend/backend.js';
import { toNfsStat, nfsstat3 } from '../../../src/nfs/backend/errors.js';
import type { GlusterVolumes, HealState } from '../../../src/pool/gluster/volumes.js';

const runFile = promisify(execFile);
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

/**
 * Reads `name` (at the volume root) through a libgfapi client of its own: a
 * child process (one glfs_t per volume and process, so this process's
 * client would answer from what it already knows). Returns the text or the error.
 */
async function freshClientRead(host: string, volume: string, name: string, logFile: string): Promise<string> {
  const mod = new URL('../../../src/nfs/backend/gfapi/index.js', import.meta.url).href;
  const script = `
    const { openGfapiBackend } = await import(${JSON.stringify(mod)});
    const root = { uid: 0, gid: 0, gids: [] };
    try {
      const b = await openGfapiBackend({ volume: ${JSON.stringify(volume)}, volfileServer: ${JSON.stringify(host)}, logFile: ${JSON.stringify(logFile)} });
      const f = await b.lookup(root, await b.root(), ${JSON.stringify(name)});
      const r = await b.read(root, f.handle, 0n, 100);
      process.stdout.write(r.data.toString());
    } catch (e) {
      process.stdout.write('error: ' + e.message);
    }
    process.exit(0); // never glfs_fini (10 s)
  `;
  const { stdout } = await runFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 60_000 });
  return stdout;
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
    // A write refused for the caller's sake loses nothing: same verifier.
    const before = b.writeVerifier;
    await assert.rejects(b.write({ uid: 4242, gid: 4242, gids: [] }, f.handle, 0n, Buffer.from('x'), 'unstable'), { code: 'EACCES' });
    assert.ok(b.writeVerifier.equals(before), 'EACCES leaves the write verifier');
    const pids = [await brickPid(v, 'gv', bricks[1]!), await brickPid(v, 'gv', bricks[2]!)];
    await killAndWait(pids);
    try {
      assert.equal(await v.health('gv'), 'down');
      // Gluster 10 (Debian 10.3) refuses writes *and reads* once client quorum
      // is lost: ENOTCONN, which the gfapi backend maps to NFS3ERR_JUKEBOX
      // (the client retries; no hang). No option set gives reads without
      // quorum safely — measured on this volume (virt profile, quorum-type
      // auto) with two bricks killed, through a FUSE client:
      //  - cluster.quorum-reads yes: no effect; glusterd 10 documents it as
      //    "This option has been removed. Reads are not allowed if quorum is
      //    not met" → read and write: "Transport endpoint is not connected".
      //  - cluster.quorum-type fixed, quorum-count 2: the same ENOTCONN.
      //  - quorum-type fixed, quorum-count 1: reads work, and so do writes —
      //    one brick alone takes writes the others never see (split-brain
      //    when the sets of live bricks change).
      //  - quorum-count 1 plus features.read-only on (writes then fail with
      //    EROFS/EIO): reads work but can be WRONG. With the self-heal daemon
      //    held off, brick A missed a write (B and C hold
      //    trusted.afr.gv-client-0 = 0x00000002… blaming A); B and C die; a
      //    fresh client read A's old content without an error, because the
      //    only brick AFR can reach shows no pending changes — the blame lives
      //    in the xattrs of the bricks that are down (the last subtest shows
      //    it with quorum-count 1 through libgfapi; there read-only on also
      //    fails reads with EROFS, as the gfapi backend opens files read-write).
      // So the product keeps quorum-type auto: no stale read is possible.
      const verifier = b.writeVerifier;
      const t0 = Date.now();
      const err = await b.write(root, f.handle, 0n, randomBytes(MiB), 'file_sync').then(
        () => assert.fail('write without quorum succeeded'),
        (e: unknown) => e,
      );
      const stat = toNfsStat(err);
      assert.equal(stat, nfsstat3.NFS3ERR_JUKEBOX, `write error ${String((err as Error).message)} → nfsstat3 ${stat}`);
      assert.ok(Date.now() - t0 < 30_000, `write failed after ${Date.now() - t0} ms`);
      t.diagnostic(`write without quorum: ${(err as Error).message} → nfsstat3 ${stat} after ${Date.now() - t0} ms`);
      // Like knfsd: a write error that may stand for lost UNSTABLE data
      // changes the write verifier, so that clients resend what they have
      // not seen committed rather than trust a later COMMIT.
      assert.ok(!b.writeVerifier.equals(verifier), 'a new write verifier after the failed write');
      const t1 = Date.now();
      const rd = await b.read(root, f.handle, 0n, MiB).then(
        (x) => x.data,
        (e: unknown) => e as Error,
      );
      assert.ok(rd instanceof Error, 'a read without quorum fails (Gluster 10 serves no reads without client quorum)');
      assert.equal(toNfsStat(rd), nfsstat3.NFS3ERR_JUKEBOX, rd.message);
      assert.ok(Date.now() - t1 < 30_000, `read failed after ${Date.now() - t1} ms`);
      t.diagnostic(`read without quorum: ${rd.message} → NFS3ERR_JUKEBOX after ${Date.now() - t1} ms`);
    } finally {
      await v.start('gv', { force: true });
    }
    await waitHealed(v, 'gv', 120_000);
    // getattr may answer from the backend's attribute cache: the reads themselves retry.
    const back: Buffer[] = [];
    for (let off = 0; off < data.length; off += MiB) back.push((await asClientRetries(() => b.read(root, f.handle, BigInt(off), MiB))).data);
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

  await t.test('why reads stay refused without quorum: the option set that allows them serves stale data', async () => {
    // Brick A misses a write (self-heal daemon held off, the file not touched
    // once A is back, so nothing heals it); then B and C die. With quorum-count
    // 1 (what any set that gives reads without quorum comes down to; adding
    // features.read-only on to refuse writes changes nothing for reads through
    // FUSE, and fails them here: the gfapi backend opens files read-write, so
    // glfs_pread says EROFS), a fresh client reads A's old bytes without error.
    const f = await b.create(root, r, 'stale', { mode: 'guarded', attrs: { mode: 0o644 } });
    await b.write(root, f.handle, 0n, Buffer.from('old content'), 'file_sync');
    const [a, bb, c] = bricks as [LabBrick, LabBrick, LabBrick];
    await v.set('gv', 'cluster.self-heal-daemon', 'off');
    try {
      await killAndWait([await brickPid(v, 'gv', a)]);
      await b.write(root, f.handle, 0n, Buffer.from('new content'), 'file_sync');
      await v.start('gv', { force: true });
      await killAndWait([await brickPid(v, 'gv', bb), await brickPid(v, 'gv', c)]);
      await v.set('gv', 'cluster.quorum-type', 'fixed');
      await v.set('gv', 'cluster.quorum-count', '1');
      const seen = await freshClientRead(lab.host, 'gv', 'stale', join(lab.dir, 'log', 'gfapi-fresh.log'));
      t.diagnostic(`fresh client, only the brick that missed the write up: ${JSON.stringify(seen)}`);
      assert.equal(seen, 'old content', 'stale bytes, no error: reads without quorum cannot be trusted');
    } finally {
      await v.set('gv', 'cluster.quorum-type', 'auto');
      await v.cli.run(['volume', 'reset', 'gv', 'cluster.quorum-count']);
      await v.set('gv', 'cluster.self-heal-daemon', 'on');
      await v.start('gv', { force: true });
    }
    await v.triggerHeal('gv');
    await waitHealed(v, 'gv', 120_000);
    const back = await asClientRetries(() => b.read(root, f.handle, 0n, 100));
    assert.equal(back.data.toString(), 'new content', 'healed from the bricks that had the write');
  });
});
