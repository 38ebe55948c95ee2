/**
 * SMB across three appliances with CTDB and clustered Samba, on the lab
 * (test/lab/): a replica-3 lock volume mounted through FUSE on every node
 * holds CTDB's cluster lock; ctdbd runs on each node (CtdbService; /etc/ctdb, /run/ctdb
 * and /var/lib/ctdb bind-mounted privately per node); every node runs smbd with `clustering = yes` serving one share
 * on a replica-3 data volume through vfs_glusterfs (libgfapi inside smbd,
 * no FUSE for data). smbclient runs in the host, on the lab's bridge.
 *
 *  - all three nodes OK, a leader, every public address hosted;
 *  - a file written through public address X;
 *  - the node hosting X fails hard (link cut first, then its processes
 *    killed by mount namespace);
 *  - X moves to a survivor; the takeover time (link cut → X hosted by a
 *    survivor per `ctdb ip`) and the time until smbclient reads the file
 *    back through X are printed;
 *  - the file reads back intact through X.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { GlusterPeers } from '../../src/pool/gluster/peers.js';
import { GlusterVolumes } from '../../src/pool/gluster/volumes.js';
import { CTDB_LOCK_VOLUME_OPTIONS, CtdbService, type CtdbDesired } from '../../src/smb/ctdb.js';
import { SambaService } from '../../src/smb/samba.js';
import { Lab, sleep, type LabNode } from '../lab/lab.js';
import { freePort, makeClient } from '../smb/client.js';
import { desired, share, user } from '../smb/fixtures.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const LOCK_VOLUME = 'ctdblock';
const DATA_VOLUME = 'smbdata';

interface NodeSmb {
  node: LabNode;
  ctdb: CtdbService;
  samba: SambaService;
}

test('three appliances: CTDB + clustered Samba, the node holding a public address dies hard, the address moves, the file reads back', { timeout: 420_000 }, async (t) => {
  const tmp = await mkdtemp(join(tmpdir(), 'cairn-ctdb-'));
  await chmod(tmp, 0o755);
  t.after(() => rm(tmp, { recursive: true, force: true }));

  let t0 = Date.now();
  const lab = await Lab.up(3, { brickBytes: 512 << 20 });
  const nodes: NodeSmb[] = [];
  t.after(async () => {
    // Keep each node's CTDB and Samba logs for a failed run.
    const artifacts = join(process.cwd(), 'test-artifacts', 'ctdb');
    await mkdir(artifacts, { recursive: true }).catch(() => undefined);
    for (const n of nodes) {
      await cp(n.ctdb.paths.logFile, join(artifacts, `${n.node.name}-ctdb.log`)).catch(() => undefined);
      await cp(join(n.samba.paths.logDir, 'smbd.log'), join(artifacts, `${n.node.name}-smbd.log`)).catch(() => undefined);
    }
    for (const n of nodes) {
      await n.samba.stop().catch(() => undefined);
      await n.ctdb.stop().catch(() => undefined);
    }
    await lab.down();
  });
  t.diagnostic(`lab of 3 up in ${Date.now() - t0} ms`);
  const [n1] = lab.nodes as [LabNode];

  // ---- Gluster: a small lock volume and a data volume, replica 3 ----------
  const peers = new GlusterPeers(n1.cli);
  await peers.probe('node2');
  await peers.probe('node3');
  await peers.waitConnected(['node2', 'node3']);
  const volumes = new GlusterVolumes(n1.cli);
  await volumes.create({ name: LOCK_VOLUME, bricks: lab.nodes.map((n) => n.brick(LOCK_VOLUME)), replica: 3 });
  for (const [k, v] of CTDB_LOCK_VOLUME_OPTIONS) await volumes.set(LOCK_VOLUME, k, v);
  await volumes.start(LOCK_VOLUME);
  await volumes.create({ name: DATA_VOLUME, bricks: lab.nodes.map((n) => n.brick(DATA_VOLUME)), replica: 3 });
  // vfs_glusterfs refuses write-behind; the volume root is the share user's;
  // the timeouts keep a survivor's smbd from stalling on the dead brick.
  for (const [k, v] of [
    ['performance.write-behind', 'off'],
    ['storage.owner-uid', '10001'],
    ['storage.owner-gid', '10001'],
    ['network.ping-timeout', '5'],
    ['client.tcp-user-timeout', '5'],
  ] as const) await volumes.set(DATA_VOLUME, k, v);
  await volumes.start(DATA_VOLUME);

  // ---- CTDB on every node -------------------------------------------------
  const publics = [0, 1, 2].map((i) => lab.spareAddress(i));
  // The same path on every node (each mounts it in its own mount namespace):
  // ctdbd insists that every node names the same cluster lock file.
  const lockMount = join(lab.state.dir, 'ctdb-lock');
  const lockDir = (_n: LabNode) => lockMount;
  await Promise.all(lab.nodes.map((n) => n.mountVolume(LOCK_VOLUME, lockDir(n))));
  await n1.exec(['mkdir', '-p', join(lockDir(n1), '.ctdb')]);
  for (const node of lab.nodes) {
    // ctdbd reads only /etc/ctdb and /run/ctdb: each node gets its own,
    // bind-mounted in its mount namespace (and a private /var/lib/ctdb).
    const ctdbDir = join(node.state.dir, 'ctdb');
    await node.bindMount(join(ctdbDir, 'etc'), '/etc/ctdb');
    await node.bindMount(join(ctdbDir, 'run'), '/run/ctdb');
    await node.bindMount(join(ctdbDir, 'var-lib'), '/var/lib/ctdb');
    const ctdb = new CtdbService({ dataDir: ctdbDir, configDir: join(ctdbDir, 'etc'), runDir: join(ctdbDir, 'run'), commandPrefix: node.nsPrefix() });
    const samba = new SambaService({ dataDir: join(node.state.dir, 'samba'), commandPrefix: node.nsPrefix(), probeHost: node.ip });
    nodes.push({ node, ctdb, samba });
    const want: CtdbDesired = {
      nodes: lab.nodes.map((n) => n.ip),
      nodeAddress: node.ip,
      publicAddresses: publics.map((address) => ({ address, prefix: 24, interfaces: ['eth0'] })),
      clusterLock: join(lockDir(node), '.ctdb', 'reclock'),
      realtime: false,
    };
    const r = await ctdb.configure(want);
    assert.deepEqual(r.problems, []);
  }
  t0 = Date.now();
  await Promise.all(nodes.map((n) => n.ctdb.start()));
  await Promise.all(nodes.map((n) => n.ctdb.waitHealthy(120_000)));
  t.diagnostic(`ctdb: 3 nodes healthy in ${Date.now() - t0} ms`);
  const st = await nodes[0]!.ctdb.status();
  assert.equal(st.nodes.length, 3);
  assert.ok(st.allOk, JSON.stringify(st.nodes));
  assert.deepEqual(st.nodes.map((n) => n.address), lab.nodes.map((n) => n.ip));
  assert.ok(st.leader !== null && st.leader >= 0 && st.leader <= 2);
  // Every public address is hosted, and really is on the hosting node's eth0.
  const ips = await waitFor(async () => {
    const list = await nodes[0]!.ctdb.ips();
    return list.length === 3 && list.every((i) => i.pnn >= 0) ? list : null;
  }, 60_000, 'every public address hosted');
  for (const ip of ips) {
    const { stdout } = await lab.nodes[ip.pnn]!.exec(['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0']);
    assert.ok(stdout.includes(` ${ip.address}/24 `), `${ip.address} on node${ip.pnn + 1}: ${stdout}`);
  }

  // ---- clustered Samba on every node --------------------------------------
  const port = await freePort();
  await Promise.all(
    nodes.map(async ({ node, ctdb, samba }) => {
      await samba.start();
      const base = desired(port, [share('projects', '/', { backend: { kind: 'gluster', volume: DATA_VOLUME, volfileServers: [node.name], path: '/' } })], [user('alice', 10001, 'alice-pw')]);
      const r = await samba.apply({ ...base, server: { netbiosName: 'CAIRNCL', workgroup: 'WORKGROUP', port, cluster: { ctdbdSocket: ctdb.paths.socket } } });
      assert.deepEqual(r.problems, [], node.name);
      assert.equal(samba.status().running, true, node.name);
      const conf = await readFile(samba.paths.config, 'utf8');
      assert.match(conf, /clustering = yes/);
    }),
  );

  // ---- write through X ----------------------------------------------------
  const x = publics[0]!;
  const client = await makeClient(tmp, port, x);
  const cred = { user: 'alice', password: 'alice-pw', cwd: tmp, timeoutMs: 60_000 };
  const data = randomBytes(4 << 20);
  await writeFile(join(tmp, 'report.bin'), data);
  const put = await client.run('projects', 'put report.bin; ls', cred);
  assert.equal(put.status, null, put.out);
  assert.match(put.out, /report\.bin\s+A\s+4194304/);

  // ---- the node holding X dies hard ---------------------------------------
  const holderPnn = (await nodes[0]!.ctdb.ips()).find((i) => i.address === x)!.pnn;
  const victim = nodes[holderPnn]!;
  const survivors = nodes.filter((n) => n !== victim);
  t.diagnostic(`${x} is on ${victim.node.name} (pnn ${holderPnn}); leader is pnn ${st.leader}`);
  const cut = Date.now();
  await victim.node.failHard();
  // Its supervisors must not restart anything in the dead node.
  await Promise.all([victim.samba.stop(), victim.ctdb.stop()]);

  const moved = await waitFor(async () => {
    const list = await survivors[0]!.ctdb.ips().catch(() => null);
    const ip = list?.find((i) => i.address === x);
    return ip && ip.pnn >= 0 && ip.pnn !== holderPnn ? ip : null;
  }, 120_000, `${x} taken over by a survivor`, 200);
  const takeoverMs = Date.now() - cut;
  const newHolder = nodes[moved.pnn]!;
  assert.ok(survivors.includes(newHolder));
  const { stdout: onEth } = await newHolder.node.exec(['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0']);
  assert.ok(onEth.includes(` ${x}/24 `), `${x} on ${newHolder.node.name}: ${onEth}`);
  const s2 = await survivors[0]!.ctdb.status();
  assert.ok(s2.nodes[holderPnn]!.disconnected, 'the dead node is seen disconnected');

  // ---- the client reconnects to X and reads the file back -----------------
  let got: { out: string; status: string | null } = { out: '', status: 'none yet' };
  const readDeadline = Date.now() + 120_000;
  while (Date.now() < readDeadline) {
    await rm(join(tmp, 'back.bin'), { force: true });
    got = await client.run('projects', 'get report.bin back.bin', { ...cred, timeoutMs: 30_000 });
    if (got.status === null) break;
    await sleep(500);
  }
  const readMs = Date.now() - cut;
  assert.equal(got.status, null, got.out);
  assert.equal(sha(await readFile(join(tmp, 'back.bin'))), sha(data), 'the file reads back intact through X');
  t.diagnostic(`CTDB takeover of ${x}: ${takeoverMs} ms from link cut to hosted by ${newHolder.node.name}; file read back through ${x} ${readMs} ms after the cut`);
  console.log(JSON.stringify({ bench: 'ctdb-takeover', address: x, from: victim.node.name, to: newHolder.node.name, victimWasLeader: st.leader === holderPnn, takeoverMs, readBackMs: readMs }));
});

async function waitFor<T>(fn: () => Promise<T | null>, timeoutMs: number, what: string, everyMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== null && v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await sleep(everyMs);
  }
}
