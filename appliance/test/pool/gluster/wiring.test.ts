/**
 * The pure parts of wiring gluster pools into the drivers: where a share
 * lives inside its volume, which glusterd serves the volume file, when a
 * volume needs `force`, what Samba and the NFS driver are given, and that
 * an appliance without gluster pools never runs the gluster CLI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../src/log.js';
import { openMemoryBackend } from '../../../src/nfs/backend/memory/index.js';
import { NfsDriver } from '../../../src/nfs/driver.js';
import { GlusterCli } from '../../../src/pool/gluster/cli.js';
import { GlusterPoolDriver, glusterShareDir, needsForce, volfileServerOf } from '../../../src/pool/gluster/driver.js';
import { smbDesiredOf } from '../../../src/smb/driver.js';
import { DEFAULT_SMB, initialState, type GlusterPool, type State } from '../../../src/state/schema.js';

const pool = (bricks: Array<[string, string]>, replica = 3, arbiter = 0): GlusterPool => ({
  id: 'gv',
  kind: 'gluster',
  label: 'replicated',
  replica,
  arbiter,
  bricks: bricks.map(([host, path]) => ({ host, path })),
});

function stateWith(p: GlusterPool): State {
  const s = initialState('/var/lib/cairn');
  s.pools.push(p);
  s.volumes.push({ id: 'team', pool: 'gv' });
  s.shares.push(
    { name: 'vms', pool: 'gv', path: 'vms', nfs: { enabled: true, clients: [] }, smb: { ...DEFAULT_SMB, enabled: true } },
    { name: 'docs', pool: 'gv', volume: 'team', path: 'a/b/', nfs: { enabled: true, clients: [] }, smb: { ...DEFAULT_SMB, enabled: true } },
  );
  return s;
}

test('a share directory inside the volume: [volume/]path, absolute, no empty parts', () => {
  assert.equal(glusterShareDir({ path: 'vms' }), '/vms');
  assert.equal(glusterShareDir({ volume: 'team', path: 'a//b/' }), '/team/a/b');
  assert.throws(() => glusterShareDir({ path: 'a/../../etc' }), /leaves the pool/);
});

test('volfile server: the override, else the first brick host', () => {
  const p = pool([['node1', '/b/1'], ['node2', '/b/2'], ['node3', '/b/3']]);
  assert.equal(volfileServerOf(p), 'node1');
  assert.equal(volfileServerOf(p, 'localhost'), 'localhost');
  assert.equal(volfileServerOf(pool([])), 'localhost');
});

test('force only when a replica set has two bricks on one host', () => {
  assert.equal(needsForce(pool([['n1', '/b/1'], ['n2', '/b/2'], ['n3', '/b/3']])), false);
  assert.equal(needsForce(pool([['n1', '/b/1'], ['n1', '/b/2'], ['n3', '/b/3']])), true);
  // Two sets of replica 2 + arbiter, each set on three hosts: no force.
  assert.equal(needsForce(pool([['a', '/1'], ['b', '/1'], ['c', '/1'], ['a', '/2'], ['b', '/2'], ['c', '/2']], 2, 1)), false);
});

test('SMB: shares on a gluster pool become vfs_glusterfs backends on the pool volume', () => {
  const d = smbDesiredOf(stateWith(pool([['node1', '/b/1'], ['node2', '/b/2'], ['node3', '/b/3']])), 4450);
  assert.deepEqual(
    d.shares.map((s) => s.backend),
    [
      { kind: 'gluster', volume: 'gv', volfileServers: ['node1'], path: '/vms' },
      { kind: 'gluster', volume: 'gv', volfileServers: ['node1'], path: '/team/a/b' },
    ],
  );
  const o = smbDesiredOf(stateWith(pool([['node1', '/b/1']], 1)), 4450, { glusterVolfileServer: '10.0.0.9' });
  assert.deepEqual(o.shares[0]!.backend, { kind: 'gluster', volume: 'gv', volfileServers: ['10.0.0.9'], path: '/vms' });
});

test('NFS: one backend per (volume, directory), opened with the share directory, closed when unused', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-gl-wiring-'));
  const opened: string[] = [];
  const closed: string[] = [];
  const nfs = new NfsDriver({
    dataDir: dir,
    log: createLogger('silent'),
    port: 0,
    host: '127.0.0.1',
    glusterVolfileServer: 'gfs.example',
    openGlusterBackend: async (volume, server, subdir) => {
      const key = `${volume}@${server}:${subdir}`;
      opened.push(key);
      const b = await openMemoryBackend();
      const close = b.close.bind(b);
      b.close = async () => (closed.push(key), close());
      return b;
    },
  });
  t.after(async () => {
    await nfs.close();
    await rm(dir, { recursive: true, force: true });
  });
  const s = stateWith(pool([['node1', '/b/1'], ['node2', '/b/2'], ['node3', '/b/3']]));
  const signal = new AbortController().signal;
  assert.deepEqual((await nfs.apply(s, signal)).problems, []);
  assert.deepEqual((await nfs.apply(s, signal)).problems, []);
  assert.deepEqual(opened, ['gv@gfs.example:/vms', 'gv@gfs.example:/team/a/b']);
  s.shares = s.shares.filter((x) => x.name !== 'docs');
  assert.deepEqual((await nfs.apply(s, signal)).problems, []);
  assert.deepEqual(closed, ['gv@gfs.example:/team/a/b']);
});

test('no gluster pool in the state: the gluster CLI is never run', async () => {
  const cli = new GlusterCli({ command: ['/nonexistent/gluster'] });
  const driver = new GlusterPoolDriver({ cli });
  const r = await driver.apply(initialState('/var/lib/cairn'), new AbortController().signal);
  assert.deepEqual(r.problems, []);
  // …and with one, a missing CLI is a problem of that pool, not a throw.
  const s = initialState('/var/lib/cairn');
  s.pools.push(pool([['n1', '/b/1']], 1));
  const r2 = await driver.apply(s, new AbortController().signal);
  assert.deepEqual(r2.problems.map((p) => [p.objectKind, p.objectId]), [['pool', 'gv']]);
  assert.match(r2.problems[0]!.message, /not found/);
});
