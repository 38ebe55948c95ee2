/**
 * GET/PUT /api/v1/cluster/smb over `inject` (clustered SMB, cluster-wide),
 * with the real ClusterService over a faked glusterd: admin only, field
 * errors for bad addresses and NetBIOS names, audited; the PNN table kept
 * as appliances are added and removed (cluster/smb-cluster.ts).
 */
import type { ApiContext } from '../../src/api/context.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterService, type JoinTransport } from '../../src/cluster/index.js';
import type { GlusterPeers, Peer } from '../../src/pool/gluster/peers.js';
import type { GlusterVolumes } from '../../src/pool/gluster/volumes.js';
import { buildTestApi } from '../helpers/api.js';
import { main as cairnctl } from '../../src/cairnctl.js';

type T = Parameters<typeof buildTestApi>[0];

const peer = (hostname: string, over: Partial<Peer> = {}): Peer => ({ uuid: `uuid-${hostname}`, hostname, hostnames: [hostname], connected: true, state: 'Peer in Cluster', self: false, ...over });

async function setup(t: T, extra: Pick<ApiContext, 'clusterSmbRuntime'> = {}) {
  const g = { others: [] as Peer[] };
  const peers = {
    status: async () => g.others,
    list: async () => [...g.others, peer('localhost', { self: true, uuid: 'uuid-self' })],
    probe: async (h: string) => void g.others.push(peer(h)),
    waitConnected: async () => g.others,
    detach: async (h: string) => void (g.others = g.others.filter((p) => p.hostname !== h)),
  };
  const volumes = { list: async () => [], info: async () => ({ bricks: [] }) };
  let next = 'nas-b';
  const transport: JoinTransport = { join: async (_a, req) => ({ hostname: next, clusterId: req.clusterId }) };
  const dir = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'cairn-cluster-smb-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const cluster = new ClusterService({
    hostname: 'nas-a',
    peers: peers as unknown as GlusterPeers,
    volumes: volumes as unknown as GlusterVolumes,
    transport,
    stateDir: join(dir, 'cluster'),
    handleSecretFile: join(dir, 'nfs', 'fh-secret'),
  });
  const api = await buildTestApi(t, { cluster, ...extra });
  const audited: Array<{ who: string; action: string; target?: string }> = [];
  const record = api.ctx.audit.record.bind(api.ctx.audit);
  api.ctx.audit.record = (e) => {
    audited.push(e);
    record(e);
  };
  return { api, g, audited, joinAs: (h: string) => (next = h) };
}

const url = '/api/v1/cluster/smb';
const good = { enabled: true, netbiosName: 'cairn-smb', publicAddresses: [{ address: '10.0.0.100', prefix: 24, interfaces: ['eth0'] }, { address: '10.0.0.101', prefix: 24, interfaces: ['eth0'] }] };

test('GET /cluster/smb: off by default, read role is enough; PUT is admin only', async (t) => {
  const s = await setup(t);
  const res = await s.api.reader({ method: 'GET', url });
  assert.equal(res.statusCode, 200, res.body);
  // No SMB driver to ask in this app: CTDB's state is 'unknown'.
  const runtime = { ctdb: 'unknown', error: null, leader: null, nodes: [], publicAddresses: [], lock: { volume: null, mounted: null, file: null } };
  assert.deepEqual(res.json(), { enabled: false, netbiosName: 'CAIRN', publicAddresses: [], nodes: [], runtime });
  assert.equal((await s.api.app.inject({ method: 'GET', url })).statusCode, 401);
  assert.equal((await s.api.reader({ method: 'PUT', url, payload: good })).statusCode, 403);
  assert.equal((await s.api.app.inject({ method: 'PUT', url, payload: good })).statusCode, 401);
  assert.equal(s.api.ctx.store.state.cluster?.smb.enabled, false, 'refused changes change nothing');
});

test('PUT /cluster/smb: stored in the state, PNN table from the members, audited', async (t) => {
  const s = await setup(t);
  s.g.others = [peer('nas-c'), peer('nas-b')];
  const rev = s.api.ctx.store.revision;
  const res = await s.api.admin({ method: 'PUT', url, payload: good });
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json(), { ...good, nodes: ['nas-a', 'nas-b', 'nas-c'] });
  assert.equal(Number(res.headers['cairn-revision']), rev + 1);
  assert.deepEqual(s.api.ctx.store.state.cluster?.smb, res.json());
  assert.deepEqual(s.audited.map((a) => [a.who, a.action, a.target]), [['token:test-admin', 'enable clustered SMB', 'cairn-smb']]);

  // A member leaves without the route (e.g. detached elsewhere), another joins: saving again keeps PNNs.
  s.g.others = [peer('nas-c'), peer('nas-d')];
  const again = await s.api.admin({ method: 'PUT', url, payload: { ...good, enabled: false } });
  assert.equal(again.statusCode, 200, again.body);
  assert.deepEqual(again.json().nodes, ['nas-a', null, 'nas-c', 'nas-d']);
  assert.equal(s.audited.at(-1)?.action, 'disable clustered SMB');
});

test('PUT /cluster/smb: field errors for bad addresses, prefixes, interfaces and NetBIOS names; nothing stored', async (t) => {
  const s = await setup(t);
  const rev = s.api.ctx.store.revision;
  const cases: Array<[unknown, string[]]> = [
    [{ ...good, netbiosName: 'a-name-longer-than-15' }, ['netbiosName']],
    [{ ...good, netbiosName: 'bad name!' }, ['netbiosName']],
    [{ ...good, publicAddresses: [{ address: '10.0.0.256', prefix: 24, interfaces: ['eth0'] }] }, ['publicAddresses.0.address']],
    [{ ...good, publicAddresses: [{ address: '10.0.0.5/24', prefix: 24, interfaces: ['eth0'] }] }, ['publicAddresses.0.address']],
    [{ ...good, publicAddresses: [{ address: '10.0.0.5', prefix: 33, interfaces: ['eth0'] }] }, ['publicAddresses.0.prefix']],
    [{ ...good, publicAddresses: [{ address: '10.0.0.5', prefix: 24, interfaces: [] }] }, ['publicAddresses.0.interfaces']],
    [{ ...good, publicAddresses: [{ address: '10.0.0.5', prefix: 24, interfaces: ['eth0; rm -rf /'] }] }, ['publicAddresses.0.interfaces.0']],
    [{ ...good, publicAddresses: [good.publicAddresses[0], good.publicAddresses[0]] }, ['publicAddresses.1']],
    [{ ...good, publicAddresses: [] }, ['publicAddresses']],
    [{ ...good, nodes: ['nas-z'] }, ['nodes']],
  ];
  for (const [payload, paths] of cases) {
    const res = await s.api.admin({ method: 'PUT', url, payload: payload as object });
    assert.equal(res.statusCode, 400, `${JSON.stringify(payload)}: ${res.body}`);
    assert.equal(res.json().error.code, 'validation_failed');
    assert.deepEqual(res.json().error.fields.map((f: { path: string }) => f.path), paths, JSON.stringify(payload));
  }
  // Off with no address is fine.
  assert.equal((await s.api.admin({ method: 'PUT', url, payload: { ...good, enabled: false, publicAddresses: [] } })).statusCode, 200);
  assert.equal(s.api.ctx.store.revision, rev + 1);
  assert.equal(s.audited.length, 1);
});

test('adding and removing appliances keeps the PNN table: appended on join, a null slot on removal', async (t) => {
  const s = await setup(t);
  s.joinAs('nas-b');
  assert.equal((await s.api.admin({ method: 'POST', url: '/api/v1/cluster/members', payload: { address: '10.0.0.2', token: 'T' } })).statusCode, 201);
  s.joinAs('nas-c');
  assert.equal((await s.api.admin({ method: 'POST', url: '/api/v1/cluster/members', payload: { address: '10.0.0.3', token: 'T' } })).statusCode, 201);
  assert.deepEqual(s.api.ctx.store.state.cluster?.smb.nodes, ['nas-a', 'nas-b', 'nas-c']);
  assert.equal((await s.api.admin({ method: 'DELETE', url: '/api/v1/cluster/members/nas-b' })).statusCode, 204);
  assert.deepEqual(s.api.ctx.store.state.cluster?.smb.nodes, ['nas-a', null, 'nas-c'], 'nas-c keeps PNN 2');
  const res = await s.api.admin({ method: 'PUT', url, payload: good });
  assert.deepEqual(res.json().nodes, ['nas-a', null, 'nas-c']);
});

/** Runs cairnctl against the test API; stdout and stderr captured. */
async function ctl(base: string, token: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const w = process.stdout.write.bind(process.stdout);
  const e = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((c: string) => ((out += c), true)) as typeof process.stdout.write;
  process.stderr.write = ((c: string) => ((err += c), true)) as typeof process.stderr.write;
  const prev = process.env.CAIRN_TOKEN;
  process.env.CAIRN_TOKEN = token;
  try {
    return { code: await cairnctl(['--url', base, ...args]), out, err };
  } finally {
    process.stdout.write = w;
    process.stderr.write = e;
    if (prev === undefined) delete process.env.CAIRN_TOKEN;
    else process.env.CAIRN_TOKEN = prev;
  }
}

test('cairnctl cluster smb / on / off', async (t) => {
  const s = await setup(t);
  s.g.others = [peer('nas-b')];
  const base = await s.api.app.listen({ host: '127.0.0.1', port: 0 });
  const on = await ctl(base, s.api.adminToken, ['cluster', 'smb', 'on', 'cairn-smb', '10.0.0.100/24@eth0', '10.0.0.101/24@eth0,eth1']);
  assert.equal(on.code, 0, on.err);
  assert.match(on.out, /clustered SMB on, NetBIOS name cairn-smb/);
  assert.match(on.out, /PNN table: 0:nas-a 1:nas-b/);
  assert.deepEqual(s.api.ctx.store.state.cluster?.smb.publicAddresses[1], { address: '10.0.0.101', prefix: 24, interfaces: ['eth0', 'eth1'] });
  const bad = await ctl(base, s.api.adminToken, ['cluster', 'smb', 'on', 'cairn-smb', '10.0.0.300/24@eth0']);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /publicAddresses\.0\.address/);
  assert.equal((await ctl(base, s.api.adminToken, ['cluster', 'smb', 'on', 'cairn-smb', '10.0.0.1'])).code, 64);
  const off = await ctl(base, s.api.adminToken, ['cluster', 'smb', 'off']);
  assert.equal(off.code, 0, off.err);
  assert.equal(s.api.ctx.store.state.cluster?.smb.enabled, false);
  assert.equal(s.api.ctx.store.state.cluster?.smb.publicAddresses.length, 2, 'off keeps the addresses');
  const show = await ctl(base, s.api.readToken, ['cluster', 'smb']);
  assert.match(show.out, /clustered SMB off/);
});

test("GET /cluster/smb: the SMB driver's CTDB view as runtime, host names from the PNN table", async (t) => {
  const ok = { disconnected: false, unknown: false, banned: false, stopped: false, disabled: false, unhealthy: false, inactive: false, partiallyOnline: false, ok: true };
  const clusterSmbRuntime: ApiContext['clusterSmbRuntime'] = async () => ({
    running: true,
    error: null,
    lockFile: '/d/cluster/state/.ctdb-cluster-lock',
    status: { thisPnn: 0, leader: 1, allOk: true, nodes: [{ pnn: 0, address: '10.0.0.1', thisNode: true, ...ok }, { pnn: 1, address: '10.0.0.2', thisNode: false, ...ok, banned: true, ok: false }] },
    ips: [{ address: '10.0.0.101', pnn: 1, activeInterface: null, availableInterfaces: [], configuredInterfaces: ['eth0'] }],
  });
  const s = await setup(t, { clusterSmbRuntime });
  s.g.others = [peer('nas-b')];
  assert.equal((await s.api.admin({ method: 'PUT', url, payload: good })).statusCode, 200);
  const rt = (await s.api.reader({ method: 'GET', url })).json().runtime;
  assert.deepEqual(rt.nodes, [
    { pnn: 0, hostname: 'nas-a', address: '10.0.0.1', health: 'ok', thisNode: true },
    { pnn: 1, hostname: 'nas-b', address: '10.0.0.2', health: 'banned', thisNode: false },
  ]);
  assert.deepEqual(rt.publicAddresses, [
    { address: '10.0.0.100', prefix: 24, pnn: null, hostname: null, interface: null },
    { address: '10.0.0.101', prefix: 24, pnn: 1, hostname: 'nas-b', interface: null },
  ]);
  assert.deepEqual([rt.ctdb, rt.leader, rt.lock.file], ['running', 1, '/d/cluster/state/.ctdb-cluster-lock']);
});
