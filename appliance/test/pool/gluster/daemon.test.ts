/**
 * cairnd's reconciler with the real gluster pool and NFS drivers (in
 * process, glusterd in the lab): a gluster pool and a share committed to
 * the desired state become a started volume and an NFS export without any
 * other step (also when a crash left the volume created but never tuned
 * or started), and the API shows the pool's capacity.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type Daemon } from '../../../src/daemon.js';
import { createLogger } from '../../../src/log.js';
import { NfsDriver } from '../../../src/nfs/driver.js';
import { GlusterPoolDriver } from '../../../src/pool/gluster/driver.js';
import { DEFAULT_SMB } from '../../../src/state/schema.js';
import { Metrics } from '../../../src/system/metrics.js';
import { tool } from '../../nfs/helpers/nfs-serve.js';
import { GlusterLab, type LabBrick } from './lab.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('cairnd reconciles a gluster pool and a share on it into a started volume and an NFS export', async (t) => {
  let daemon: Daemon | undefined;
  let dir: string | undefined;
  // Registered before the lab: after-hooks run in order, so cairnd stops before glusterd goes.
  t.after(async () => {
    await daemon?.close().catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const lab = await GlusterLab.start(t);
  const bricks: LabBrick[] = [];
  for (let i = 1; i <= 3; i++) bricks.push(await lab.addBrick(`gdm-${i}`, 512 << 20));
  // As if an earlier cairnd died right after `volume create`: the reconciler
  // must take the never-started volume on, tune it and start it.
  await lab.volumes.create({ name: 'dv', bricks: bricks.map((b) => b.name), replica: 3, force: true });
  dir = await mkdtemp(join(tmpdir(), 'cairn-gluster-daemon-'));
  await chmod(dir, 0o755);

  let nfs: NfsDriver | undefined;
  const log = createLogger('silent');
  const d = await startDaemon({ dataDir: dir, host: '127.0.0.1', port: 0, logLevel: 'silent', smbPort: 0, rpcbind: false }, log, {
    metrics: new Metrics(),
    drivers: ({ dataDir, metrics }) => {
      nfs = new NfsDriver({ dataDir, log, port: 0, host: '127.0.0.1' });
      return [new GlusterPoolDriver({ cli: lab.cli, log, metrics }), nfs];
    },
  });
  daemon = d;

  const rev = await d.store.update('test', 'a gluster pool and a share on it', (s) => {
    s.pools.push({ id: 'dv', kind: 'gluster', label: 'replicated', replica: 3, arbiter: 0, bricks: bricks.map((b) => ({ host: lab.host, path: b.brickDir })) });
    s.shares.push({
      name: 'datastore',
      pool: 'dv',
      path: 'datastore',
      nfs: { enabled: true, clients: [{ match: '127.0.0.1', access: 'rw', squash: 'no_root_squash', anonUid: 65534, anonGid: 65534, secure: false }] },
      smb: DEFAULT_SMB,
    });
  });
  const deadline = Date.now() + 90_000;
  for (;;) {
    const st = d.reconciler.status();
    if (st.appliedRevision !== null && st.appliedRevision >= rev.revision && st.problems.length === 0 && st.drivers.every((d) => d.ok)) break;
    if (Date.now() > deadline) assert.fail(`not reconciled: ${JSON.stringify(st)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const info = await lab.volumes.info('dv');
  assert.equal(info.state, 'Started');
  assert.equal(info.options['features.shard'], 'on', 'tuned before its first start');
  assert.equal(info.options['user.cairn.pool'], 'dv');

  const port = nfs!.listeningPort!;
  const url = `nfs://127.0.0.1/datastore/disk.img?version=3&nfsport=${port}&mountport=${port}`;
  const data = randomBytes((3 << 20) + 1);
  await writeFile(join(dir, 'disk.img'), data);
  let out = await tool('nfs-cp', [join(dir, 'disk.img'), url]);
  assert.equal(out.code, 0, out.stderr);
  out = await tool('nfs-cp', [url, join(dir, 'back.img')]);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(sha(await readFile(join(dir, 'back.img'))), sha(data));
  for (const b of bricks) assert.equal(sha(await readFile(join(b.brickDir, 'datastore', 'disk.img'))), sha(data), b.name);

  // The API shows the gluster pool's capacity (first boot: admin session from the setup token).
  const token = (await readFile(join(dir, 'setup-token'), 'utf8')).trim();
  const setup = await fetch(`${d.url}/api/v1/setup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token, password: 'gluster-admin-pw' }),
  });
  assert.equal(setup.status, 201, await setup.text());
  const cookie = setup.headers.getSetCookie().map((c) => c.split(';')[0]!).join('; ');
  const res = await fetch(`${d.url}/api/v1/pools/dv`, { headers: { cookie } });
  assert.equal(res.status, 200);
  const pool = (await res.json()) as { capacity: { totalBytes: number; freeBytes: number } | null; problems: unknown[] };
  assert.ok(pool.capacity && pool.capacity.totalBytes > 0 && pool.capacity.freeBytes > 0, JSON.stringify(pool));
  assert.deepEqual(pool.problems, []);
});
