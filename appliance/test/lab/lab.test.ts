/**
 * The lab itself: two nodes with their own glusterd, hostnames and
 * network; torn down without leftovers (processes, veths, bridge, loop
 * devices, directory).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { GlusterPeers } from '../../src/pool/gluster/peers.js';
import { Lab } from './lab.js';

const run = promisify(execFile);

test('lab: two appliances with private glusterd, names and links; down leaves nothing', { timeout: 120_000 }, async (t) => {
  const lab = await Lab.up(2, { brickBytes: 512 << 20 });
  t.after(() => lab.down());
  const [n1, n2] = lab.nodes as [NonNullable<(typeof lab.nodes)[0]>, NonNullable<(typeof lab.nodes)[0]>];

  assert.equal((await n1.exec(['hostname'])).stdout.trim(), 'node1');
  assert.match((await n1.exec(['getent', 'hosts', 'node2'])).stdout, new RegExp(`^${n2.ip.replace(/\./g, '\\.')}\\s+node2`));
  // node2's glusterd answers on node2:24007 (TCP connect from node1).
  const reach = ['timeout', '2', 'bash', '-c', 'exec 3<>/dev/tcp/node2/24007'];
  await n1.exec(reach);
  // Each node has its own glusterd: different UUIDs, private sockets.
  const uuid = async (n: typeof n1) => (await new GlusterPeers(n.cli).list()).find((p) => p.self)?.uuid;
  const [u1, u2] = [await uuid(n1), await uuid(n2)];
  assert.ok(u1 && u2 && u1 !== u2, `${u1} vs ${u2}`);
  // The brick filesystem is mounted in the node only.
  assert.match((await n1.exec(['findmnt', '-n', '-o', 'FSTYPE', n1.state.brickRoot])).stdout, /xfs/);
  await assert.rejects(run('findmnt', ['-n', n1.state.brickRoot]));

  // Cutting the link isolates the node.
  await n2.cutLink();
  await assert.rejects(n1.exec(reach));
  await n2.restoreLink();

  const pids = [...(await n1.pids()), ...(await n2.pids())];
  assert.ok(pids.length >= 4, `holders and glusterds: ${pids}`);
  await lab.down();
  for (const p of pids) {
    const alive = await readFile(`/proc/${p}/stat`, 'utf8').then((st) => !/\) Z /.test(st), () => false);
    assert.equal(alive, false, `pid ${p} still alive`);
  }
  const { stdout: links } = await run('ip', ['-o', 'link']);
  assert.ok(!links.includes(lab.state.bridge), 'bridge and veths removed');
  const { stdout: loops } = await run('losetup', ['-a']);
  assert.ok(!loops.includes(lab.state.dir), `loop devices left: ${loops}`);
  await assert.rejects(access(lab.state.dir), 'lab directory removed');
  await lab.down(); // twice is fine
});
