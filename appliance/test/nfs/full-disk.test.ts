/**
 * A full disk under a posix export: a WRITE that does not fit is answered
 * NFS3ERR_NOSPC, never a success that loses the data, and never a crash.
 * Files written before stay whole, the server keeps serving, and a file
 * deleted beside NFS while the server holds it open gives its space back
 * (the fd cache's sweep). The export is a 24 MiB ext4 filesystem on a loop
 * device (delayed allocation, as on a real disk), unmounted in t.after.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { umountWhenFree } from '../helpers/procs.js';
import { XdrWriter } from '../../src/nfs/xdr/writer.js';
import { nfsServe, tool, type Served } from './helpers/nfs-serve.js';
import { dirop, readWcc, RpcClient, sattr } from './helpers/rpc-client.js';

const run = promisify(execFile);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('posix: a full disk is NFS3ERR_NOSPC; earlier files stay whole and the server keeps serving', { timeout: 120_000 }, async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root (loop mount)');
  const top = await mkdtemp(join(tmpdir(), 'cairn-full-disk-'));
  const image = join(top, 'disk.img');
  const exp = join(top, 'export');
  await mkdir(exp);
  await writeFile(image, Buffer.alloc(0));
  await run('truncate', ['-s', '24M', image]);
  await run('mkfs.ext4', ['-q', '-F', '-m', '0', image]);
  await run('mount', ['-o', 'loop', image, exp]);
  let srv: Served | undefined;
  t.after(async () => {
    await srv?.stop();
    await umountWhenFree(exp).catch(() => run('umount', ['-l', exp]));
    await rm(top, { recursive: true, force: true });
  });

  srv = await nfsServe(t, [], { dir: exp });
  const keep = randomBytes(4 << 20);
  await writeFile(join(top, 'keep'), keep);
  let r = await tool('nfs-cp', [join(top, 'keep'), srv.url('/keep')]);
  assert.equal(r.code, 0, r.stderr);

  // 1 MiB WRITEs (UNSTABLE, as clients send them) into what is left of
  // 24 MiB: a short count may come first, then NFS3ERR_NOSPC. (libnfs 4.0
  // turns any failed WRITE into EFAULT, so the status is read off the wire.)
  const c = await RpcClient.connect(srv.port);
  t.after(() => c.close());
  const { fh: root } = await c.mount('/export');
  const cr = await c.nfs(8, sattr(dirop(root!, 'big').u32(0), 0o644));
  assert.equal(cr.u32(), 0, 'CREATE big');
  assert.equal(cr.bool(), true);
  const fh = Buffer.from(cr.opaque(64));
  const chunk = randomBytes(1 << 20);
  let status = 0;
  let off = 0n;
  for (let i = 0; i < 64 && status === 0; i++) {
    const w = await c.nfs(7, new XdrWriter().opaque(fh).u64(off).u32(chunk.length).u32(0).opaque(chunk));
    status = w.u32();
    const wcc = readWcc(w);
    if (status === 0) off += BigInt(w.u32());
    else assert.ok(wcc.after, 'the failed WRITE still carries the file attributes');
  }
  assert.equal(status, 28, `NFS3ERR_NOSPC after ${off} bytes`);
  assert.ok(off > 0n && off < 24n << 20n, `${off} bytes fitted`);
  // A FILE_SYNC write fails the same way, and so does one more try.
  const again = await c.nfs(7, new XdrWriter().opaque(fh).u64(off).u32(chunk.length).u32(2).opaque(chunk));
  assert.equal(again.u32(), 28);
  // What was acknowledged is on the disk after COMMIT.
  const cm = await c.nfs(21, new XdrWriter().opaque(fh).u64(0n).u32(0));
  assert.equal(cm.u32(), 0, 'COMMIT of what fitted');
  const onDisk = await readFile(join(exp, 'big'));
  assert.equal(BigInt(onDisk.length) >= off, true);
  assert.ok(onDisk.subarray(0, 1 << 20).equals(chunk), 'the first MiB is what was sent');

  // Nothing written before is lost, and the server still answers.
  r = await tool('nfs-cp', [srv.url('/keep'), join(top, 'keep.back')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(sha(await readFile(join(top, 'keep.back'))), sha(keep), 'the earlier file reads back whole');
  assert.equal(sha(await readFile(join(exp, 'keep'))), sha(keep), 'and is whole on the disk');
  assert.doesNotMatch(srv.stderr(), /uncaught|panicked|fatal/i);

  // Deleted beside NFS (as over SMB or in a shell) while the server still
  // has it open: the fd cache lets go within its sweep (2 s), the space
  // comes back, and a new copy fits.
  const free = async () => {
    const st = await statfs(exp);
    return st.bavail * st.bsize;
  };
  const full = await free();
  await rm(join(exp, 'big'), { force: true });
  const deadline = Date.now() + 15_000;
  while ((await free()) < full + (8 << 20)) {
    assert.ok(Date.now() < deadline, `the deleted file's space did not come back: ${await free()} bytes free`);
    await new Promise((res) => setTimeout(res, 200));
  }
  const fits = randomBytes(8 << 20);
  await writeFile(join(top, 'fits'), fits);
  r = await tool('nfs-cp', [join(top, 'fits'), srv.url('/big')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(sha(await readFile(join(exp, 'big'))), sha(fits));
});
