/**
 * A Cairn share on a real replica-3 Gluster volume through vfs_glusterfs
 * (libgfapi inside smbd, no FUSE mount anywhere): smbclient writes, reads,
 * renames and deletes, and the bytes land on all three bricks. glusterd runs
 * in the test lab's private namespaces (test/pool/gluster/lab.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SambaService } from '../../src/smb/samba.js';
import { GlusterLab } from '../pool/gluster/lab.js';
import { freePort, makeClient } from './client.js';
import { desired, share, user } from './fixtures.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('a share on a replica-3 Gluster volume through vfs_glusterfs', async (t) => {
  const lab = await GlusterLab.start(t);
  const bricks = [];
  for (let i = 1; i <= 3; i++) bricks.push(await lab.addBrick(`smbgv-${i}`, 512 << 20));
  await lab.volumes.create({ name: 'smbgv', bricks: bricks.map((b) => b.name), replica: 3, force: true });
  // vfs_glusterfs refuses a volume with write-behind (vfs_glusterfs(8), CAVEATS).
  await lab.volumes.set('smbgv', 'performance.write-behind', 'off');
  // The volume root belongs to the share's user, as a share directory would.
  await lab.volumes.set('smbgv', 'storage.owner-uid', '10001');
  await lab.volumes.set('smbgv', 'storage.owner-gid', '10001');
  await lab.volumes.start('smbgv');

  const dir = await mkdtemp(join(tmpdir(), 'cairn-smb-gluster-'));
  await chmod(dir, 0o755);
  const port = await freePort();
  const client = await makeClient(dir, port);
  const svc = new SambaService({ dataDir: join(dir, 'samba') });
  t.after(async () => {
    await svc.stop();
    await rm(dir, { recursive: true, force: true });
  });
  await svc.start();
  const vol = share('projects', '/', {
    backend: { kind: 'gluster', volume: 'smbgv', volfileServers: [lab.host], path: '/' },
    macos: { enabled: true },
    recycleBin: { enabled: true },
  });
  const r = await svc.apply(desired(port, [vol], [user('alice', 10001, 'alice-pw')]));
  assert.deepEqual(r.problems, []);

  const data = randomBytes(8 << 20);
  await writeFile(join(dir, 'plan.bin'), data);
  const cred = { user: 'alice', password: 'alice-pw', cwd: dir };
  let out = await client.run('projects', 'mkdir plans; cd plans; put plan.bin; rename plan.bin final.bin; get final.bin back.bin; ls', cred);
  assert.equal(out.status, null, out.out);
  assert.match(out.out, /final\.bin\s+A\s+8388608/);
  assert.equal(sha(await readFile(join(dir, 'back.bin'))), sha(data));

  // Replicated: every brick holds the same bytes.
  for (const b of bricks) assert.equal(sha(await readFile(join(b.brickDir, 'plans', 'final.bin'))), sha(data), b.name);
  assert.equal((await stat(join(bricks[0]!.brickDir, 'plans', 'final.bin'))).uid, 10001);

  // Deleting keeps the file in alice's bin, which vfs_recycle made through libgfapi.
  out = await client.run('projects', 'cd plans; del final.bin; cd ..; rmdir plans; ls', cred);
  assert.equal(out.status, null, out.out);
  for (const b of bricks) {
    await assert.rejects(stat(join(b.brickDir, 'plans')), { code: 'ENOENT' });
    assert.equal(sha(await readFile(join(b.brickDir, '.recycle', 'alice', 'plans', 'final.bin'))), sha(data), b.name);
    assert.equal((await stat(join(b.brickDir, '.recycle'))).mode & 0o7777, 0o1777);
    assert.equal((await stat(join(b.brickDir, '.recycle', 'alice'))).mode & 0o777, 0o700);
  }
});
