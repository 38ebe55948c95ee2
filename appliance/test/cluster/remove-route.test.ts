/**
 * DELETE /cluster/members/:name with brick moves, over `inject`: the real
 * ClusterService, planner and task, glusterd faked. The lab test
 * (state-lab.test.ts) runs the same against real Gluster.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterService } from '../../src/cluster/index.js';
import type { MemberRecord } from '../../src/cluster/evacuate.js';
import type { GlusterPeers, Peer } from '../../src/pool/gluster/peers.js';
import type { GlusterVolumes } from '../../src/pool/gluster/volumes.js';
import { buildTestApi } from '../helpers/api.js';

const peer = (hostname: string): Peer => ({ uuid: `u-${hostname}`, hostname, hostnames: [hostname], connected: true, state: 'Peer in Cluster', self: false });

test('removing an appliance with bricks: 202 and a task that replaces its brick, follows heal, updates the pool and detaches it', async (t) => {
  const vols: Record<string, string[]> = { vm: ['nas-a:/b/vm', 'nas-b:/b/vm', 'nas-c:/b/vm'] };
  const calls: string[] = [];
  let pending = 3;
  let others = [peer('nas-b'), peer('nas-c'), peer('nas-d')];
  const volumes = {
    list: async () => Object.keys(vols),
    info: async (n: string) => ({ bricks: vols[n]!.map((name) => ({ name })), replicaCount: 3 }),
    replaceBrick: async (v: string, from: string, to: string) => {
      calls.push(`replace ${v} ${from} ${to}`);
      vols[v] = vols[v]!.map((b) => (b === from ? to : b));
    },
    heal: async () => ({ bricks: [], pending: pending > 0 ? pending-- : 0, unreachable: 0 }),
  };
  const peers = {
    status: async () => others,
    list: async () => [...others, { ...peer('localhost'), self: true }],
    detach: async (h: string) => {
      calls.push(`detach ${h}`);
      others = others.filter((p) => p.hostname !== h);
    },
  };
  const records = new Map<string, MemberRecord>([['nas-d', { hostname: 'nas-d', brickDir: '/data/bricks', at: '' }]]);
  const cluster = new ClusterService({
    hostname: 'nas-a',
    peers: peers as unknown as GlusterPeers,
    volumes: volumes as unknown as GlusterVolumes,
    transport: { join: async () => assert.fail('no join here') },
    stateDir: '/nonexistent',
    handleSecretFile: '/nonexistent/secret',
    healPollMs: 5,
  });
  cluster.attachStateSync({ status: () => ({ volume: 'cairn-state', phase: 'synced', mounted: true, revision: 1, origin: 'nas-a', at: null, lastCheckAt: null, error: null, writable: true }), memberRecords: async () => records });
  const api = await buildTestApi(t, { cluster });
  await api.ctx.store.update('test', 'pool vm', (s) => void s.pools.push({ id: 'vm', kind: 'gluster', label: 'replicated', replica: 3, arbiter: 0, bricks: ['nas-a', 'nas-b', 'nas-c'].map((host) => ({ host, path: '/b/vm' })) }));

  const res = await api.admin({ method: 'DELETE', url: '/api/v1/cluster/members/nas-c' });
  assert.equal(res.statusCode, 202, res.body);
  assert.equal(res.json().kind, 'remove-appliance');
  const again = await api.admin({ method: 'DELETE', url: '/api/v1/cluster/members/nas-c' });
  assert.equal(again.statusCode, 409, 'one removal at a time');
  const done = await api.ctx.tasks.wait(res.json().id);
  assert.equal(done?.state, 'done', JSON.stringify(done));
  assert.deepEqual(calls, ['replace vm nas-c:/b/vm nas-d:/data/bricks/vm-0-from-nas-c', 'detach nas-c']);
  const pool = api.ctx.store.state.pools.find((p) => p.id === 'vm');
  assert.deepEqual(pool?.kind === 'gluster' && pool.bricks.map((b) => `${b.host}:${b.path}`), ['nas-a:/b/vm', 'nas-b:/b/vm', 'nas-d:/data/bricks/vm-0-from-nas-c']);
  assert.match(api.ctx.store.head.message, /move brick of vm/);

  // nas-b now: its only possible target (nas-c) is gone and nas-d holds a brick of the set — refused, nothing started.
  const refused = await api.admin({ method: 'DELETE', url: '/api/v1/cluster/members/nas-b' });
  assert.equal(refused.statusCode, 409);
  assert.equal(refused.json().error.code, 'holds_bricks');
  assert.match(refused.json().error.message, /volume vm: no other appliance can take brick nas-b:\/b\/vm/);
  assert.equal(calls.length, 2);
  assert.equal((await api.reader({ method: 'DELETE', url: '/api/v1/cluster/members/nas-b' })).statusCode, 403);
});
