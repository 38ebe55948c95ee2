/**
 * Joining when glusterd marks the newcomer "Peer Rejected" (its imported
 * copy of a volume's configuration did not match; seen in the lab when a
 * volume changed during the probe): the newcomer is detached and probed
 * again, and a newcomer rejected every time fails the join with what to do.
 * glusterd is faked; the lab tests join real ones.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ClusterError, ClusterService } from '../../src/cluster/index.js';
import type { GlusterPeers, Peer } from '../../src/pool/gluster/peers.js';
import type { GlusterVolumes } from '../../src/pool/gluster/volumes.js';

const peer = (hostname: string, state: string): Peer => ({ uuid: `u-${hostname}`, hostname, hostnames: [hostname], connected: true, state, self: false });

async function service(t: { after: (fn: () => Promise<void>) => void }, rejections: number) {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-join-rejected-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  let others: Peer[] = [];
  const calls: string[] = [];
  let probes = 0;
  const peers = {
    probe: async (h: string) => {
      calls.push(`probe ${h}`);
      others = [peer(h, ++probes <= rejections ? 'Peer Rejected' : 'Peer in Cluster')];
    },
    status: async () => others,
    list: async () => [...others, { ...peer('localhost', 'Peer in Cluster'), self: true }],
    detach: async (h: string) => {
      calls.push(`detach ${h}`);
      others = others.filter((p) => p.hostname !== h);
    },
  };
  const volumes = { list: async () => [] as string[], info: async () => assert.fail('no volumes') };
  const cluster = new ClusterService({
    hostname: 'nas-a',
    peers: peers as unknown as GlusterPeers,
    volumes: volumes as unknown as GlusterVolumes,
    transport: { join: async (_addr, req) => ({ hostname: 'nas-b', clusterId: req.clusterId }) },
    stateDir: join(dir, 'cluster'),
    handleSecretFile: join(dir, 'fh-secret'),
    joinTimeoutMs: 2000,
  });
  return { cluster, calls };
}

test('a newcomer glusterd rejects once is detached and probed again, then joins', async (t) => {
  const { cluster, calls } = await service(t, 1);
  const m = await cluster.addAppliance('10.0.0.2', 'token');
  assert.equal(m.hostname, 'nas-b');
  assert.equal(m.state, 'Peer in Cluster');
  assert.deepEqual(calls, ['probe nas-b', 'detach nas-b', 'probe nas-b']);
});

test('a newcomer rejected every time: the join fails with the state and what to do', async (t) => {
  const { cluster, calls } = await service(t, 99);
  await assert.rejects(cluster.addAppliance('10.0.0.2', 'token'), (e: unknown) => {
    assert.ok(e instanceof ClusterError);
    assert.equal(e.code, 'JOIN_FAILED');
    assert.match(e.message, /glusterd marked nas-b "Peer Rejected" 3 times: .*Cksums .*restart glusterd on the member whose copy differs, then add nas-b again/);
    return true;
  });
  assert.equal(calls.filter((c) => c.startsWith('probe')).length, 3);
});
