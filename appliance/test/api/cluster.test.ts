/**
 * /api/v1/cluster over `inject`: the real ClusterService and JoinTokens
 * with glusterd's side faked (peers, volumes) and A→B calls through a fake
 * JoinTransport; glusterd not running is shown with the real gluster CLI
 * pointed at a socket that does not exist. Every route: happy path, bad
 * input, no auth, wrong role. POST /cluster/join is public: its join
 * token is the credential, so wrong, expired and reused tokens are refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterService, JoinTokens, type JoinRequest, type JoinTransport } from '../../src/cluster/index.js';
import { ClusterError } from '../../src/cluster/errors.js';
import { GlusterCli } from '../../src/pool/gluster/cli.js';
import { GlusterPeers, type Peer } from '../../src/pool/gluster/peers.js';
import { GlusterVolumes } from '../../src/pool/gluster/volumes.js';
import { buildTestApi, type TestApi } from '../helpers/api.js';

type T = Parameters<typeof buildTestApi>[0];

const peer = (hostname: string, over: Partial<Peer> = {}): Peer => ({ uuid: `uuid-${hostname}`, hostname, hostnames: [hostname], connected: true, state: 'Peer in Cluster', self: false, ...over });

/** glusterd's view, editable by the test. */
class FakeGluster {
  others: Peer[] = [];
  bricks: Record<string, string[]> = {};
  probed: string[] = [];
  detached: string[] = [];
  peers = {
    status: async () => this.others,
    list: async () => [...this.others, peer('localhost', { self: true, uuid: 'uuid-self' })],
    probe: async (h: string) => {
      this.probed.push(h);
      this.others.push(peer(h));
    },
    waitConnected: async () => this.others,
    detach: async (h: string) => {
      this.detached.push(h);
      this.others = this.others.filter((p) => p.hostname !== h);
    },
  };
  volumes = {
    list: async () => Object.keys(this.bricks),
    info: async (name: string) => ({ bricks: (this.bricks[name] ?? []).map((b) => ({ name: b })) }),
  };
}

interface Setup {
  api: TestApi;
  gluster: FakeGluster;
  sent: Array<{ address: string; req: JoinRequest }>;
  transport: { reply: (address: string, req: JoinRequest) => Promise<{ hostname: string; clusterId: string }> };
  now: { ms: number };
  stateDir: string;
  secretFile: string;
}

async function setup(t: T): Promise<Setup> {
  const gluster = new FakeGluster();
  const sent: Setup['sent'] = [];
  const transport: Setup['transport'] = { reply: async (_a, req) => ({ hostname: 'nas-b', clusterId: req.clusterId }) };
  const join_: JoinTransport = {
    join: async (address, req) => {
      sent.push({ address, req });
      return transport.reply(address, req);
    },
  };
  const now = { ms: Date.now() };
  const dir = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'cairn-cluster-api-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const stateDir = join(dir, 'cluster');
  const secretFile = join(dir, 'nfs', 'fh-secret');
  const cluster = new ClusterService({
    hostname: 'nas-a',
    peers: gluster.peers as unknown as GlusterPeers,
    volumes: gluster.volumes as unknown as GlusterVolumes,
    transport: join_,
    stateDir,
    handleSecretFile: secretFile,
    tokens: new JoinTokens(15 * 60_000, () => now.ms),
  });
  const api = await buildTestApi(t, { cluster });
  return { api, gluster, sent, transport, now, stateDir, secretFile };
}

const joinBody = (token: string, over: Partial<JoinRequest> = {}): JoinRequest => ({
  token,
  clusterId: '0b6f3c1e-8d7a-4c55-9a31-5e2f0c7d9b14',
  inviter: 'nas-a',
  handleSecret: Buffer.alloc(32, 7).toString('base64'),
  ...over,
});

test('GET /cluster lists the appliances with health and bricks; read role is enough', async (t) => {
  const s = await setup(t);
  s.gluster.others = [peer('nas-b'), peer('nas-c', { connected: false, state: 'Peer in Cluster' })];
  s.gluster.bricks = { vol1: ['nas-a:/bricks/vol1', 'nas-b:/bricks/vol1', 'nas-c:/bricks/vol1'], vol2: ['nas-b:/bricks/vol2'] };
  const res = await s.api.reader({ method: 'GET', url: '/api/v1/cluster' });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json();
  assert.equal(body.hostname, 'nas-a');
  assert.equal(body.clusterId, null, 'no cluster until an appliance is added');
  const byName = Object.fromEntries(body.members.map((m: { hostname: string }) => [m.hostname, m]));
  assert.deepEqual(Object.keys(byName).sort(), ['nas-a', 'nas-b', 'nas-c']);
  assert.equal(byName['nas-a'].self, true);
  assert.deepEqual(byName['nas-a'].bricks, ['nas-a:/bricks/vol1']);
  assert.deepEqual(byName['nas-b'].bricks, ['nas-b:/bricks/vol1', 'nas-b:/bricks/vol2']);
  assert.equal(byName['nas-b'].health, 'ok');
  assert.equal(byName['nas-c'].health, 'unreachable');
  assert.equal((await s.api.app.inject({ method: 'GET', url: '/api/v1/cluster' })).statusCode, 401);
});

test('POST /cluster/join-token: admin only; refused once the appliance has peers', async (t) => {
  const s = await setup(t);
  const res = await s.api.admin({ method: 'POST', url: '/api/v1/cluster/join-token' });
  assert.equal(res.statusCode, 201, res.body);
  assert.match(res.json().token, /^[A-Z2-7]{4}(-[A-Z2-7]{1,4})+$/);
  assert.ok(Date.parse(res.json().expiresAt) > Date.now());
  assert.equal((await s.api.reader({ method: 'POST', url: '/api/v1/cluster/join-token' })).statusCode, 403);
  assert.equal((await s.api.app.inject({ method: 'POST', url: '/api/v1/cluster/join-token' })).statusCode, 401);
  s.gluster.others = [peer('nas-z')];
  const again = await s.api.admin({ method: 'POST', url: '/api/v1/cluster/join-token' });
  assert.equal(again.statusCode, 409);
  assert.equal(again.json().error.code, 'already_in_cluster');
});

test('POST /cluster/join: the token is the credential; wrong, expired and reused tokens are refused', async (t) => {
  const s = await setup(t);
  const url = '/api/v1/cluster/join';
  // No token issued yet: nothing can match.
  const none = await s.api.app.inject({ method: 'POST', url, payload: joinBody('AAAA-BBBB') });
  assert.equal(none.statusCode, 403);
  assert.equal(none.json().error.code, 'join_token_invalid');

  const token = (await s.api.admin({ method: 'POST', url: '/api/v1/cluster/join-token' })).json().token as string;
  const wrong = await s.api.app.inject({ method: 'POST', url, payload: joinBody('AAAA-BBBB-CCCC-DDDD') });
  assert.equal(wrong.statusCode, 403);
  assert.equal(wrong.json().error.code, 'join_token_invalid');
  await assert.rejects(readFile(s.secretFile), { code: 'ENOENT' }, 'a refused join writes nothing');

  const bad = await s.api.app.inject({ method: 'POST', url, payload: { ...joinBody(token), clusterId: 'nope', extra: 1 } });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().error.code, 'validation_failed');
  const paths = bad.json().error.fields.map((f: { path: string }) => f.path).join(' ');
  assert.match(paths, /clusterId/);

  // Anonymous: no session, no API token, only the join token.
  const ok = await s.api.app.inject({ method: 'POST', url, payload: joinBody(token) });
  assert.equal(ok.statusCode, 200, ok.body);
  assert.deepEqual(ok.json(), { hostname: 'nas-a', clusterId: joinBody(token).clusterId });
  assert.deepEqual(await readFile(s.secretFile), Buffer.alloc(32, 7), 'the cluster secret is where the NFS driver reads it');
  assert.equal(JSON.parse(await readFile(join(s.stateDir, 'cluster.json'), 'utf8')).clusterId, joinBody(token).clusterId);

  const reused = await s.api.app.inject({ method: 'POST', url, payload: joinBody(token) });
  assert.equal(reused.statusCode, 403);
  assert.equal(reused.json().error.code, 'join_token_invalid');

  const t2 = (await s.api.admin({ method: 'POST', url: '/api/v1/cluster/join-token' })).json().token as string;
  s.now.ms += 16 * 60_000;
  const expired = await s.api.app.inject({ method: 'POST', url, payload: joinBody(t2) });
  assert.equal(expired.statusCode, 403);
  assert.equal(expired.json().error.code, 'join_token_expired');

  // Failures count per address (the test API allows 5 per minute): then even a right token waits.
  assert.equal((await s.api.app.inject({ method: 'POST', url, payload: joinBody('AAAA-CCCC') })).statusCode, 403);
  const t3 = (await s.api.admin({ method: 'POST', url: '/api/v1/cluster/join-token' })).json().token as string;
  const limited = await s.api.app.inject({ method: 'POST', url, payload: joinBody(t3) });
  assert.equal(limited.statusCode, 429);
  assert.equal(limited.json().error.code, 'rate_limited');
  assert.ok(Number(limited.headers['retry-after']) > 0);
});

test('POST /cluster/members: calls the new appliance, then probes it; errors from B come back with their codes', async (t) => {
  const s = await setup(t);
  const url = '/api/v1/cluster/members';
  const res = await s.api.admin({ method: 'POST', url, payload: { address: '10.0.0.2', token: 'TOKN-FROM-BBBB' } });
  assert.equal(res.statusCode, 201, res.body);
  assert.equal(res.json().hostname, 'nas-b');
  assert.equal(res.json().health, 'ok');
  assert.deepEqual(s.gluster.probed, ['nas-b'], 'probed by the name B gave');
  assert.equal(s.sent.length, 1);
  assert.equal(s.sent[0]!.address, '10.0.0.2');
  assert.equal(s.sent[0]!.req.token, 'TOKN-FROM-BBBB');
  assert.equal(s.sent[0]!.req.inviter, 'nas-a');
  // A created the cluster on the way: its id and the secret B received are A's own.
  const rec = JSON.parse(await readFile(join(s.stateDir, 'cluster.json'), 'utf8'));
  assert.equal(s.sent[0]!.req.clusterId, rec.clusterId);
  assert.equal(s.sent[0]!.req.handleSecret, (await readFile(s.secretFile)).toString('base64'));
  assert.equal((await s.api.reader({ method: 'GET', url: '/api/v1/cluster' })).json().clusterId, rec.clusterId);

  s.transport.reply = async () => {
    throw new ClusterError('JOIN_TOKEN_INVALID', 'the join token does not match the one shown on this appliance');
  };
  const refused = await s.api.admin({ method: 'POST', url, payload: { address: '10.0.0.3', token: 'WRONG' } });
  assert.equal(refused.statusCode, 403);
  assert.equal(refused.json().error.code, 'join_token_invalid');

  s.transport.reply = async () => {
    throw new Error('connect ECONNREFUSED 10.0.0.4:8080');
  };
  const down = await s.api.admin({ method: 'POST', url, payload: { address: '10.0.0.4', token: 'X' } });
  assert.equal(down.statusCode, 502);
  assert.equal(down.json().error.code, 'join_unreachable');
  assert.match(down.json().error.message, /10\.0\.0\.4/);
  assert.deepEqual(s.gluster.probed, ['nas-b'], 'nobody probed after a refusal');

  const bad = await s.api.admin({ method: 'POST', url, payload: { address: '', tokn: 'x' } });
  assert.equal(bad.statusCode, 400);
  const paths = bad.json().error.fields.map((f: { path: string }) => f.path);
  assert.ok(paths.some((p: string) => p.includes('address')), JSON.stringify(paths));
  assert.ok(paths.some((p: string) => p.includes('token')), JSON.stringify(paths));

  assert.equal((await s.api.reader({ method: 'POST', url, payload: { address: 'x', token: 'y' } })).statusCode, 403);
  assert.equal((await s.api.app.inject({ method: 'POST', url, payload: { address: 'x', token: 'y' } })).statusCode, 401);
});

test('DELETE /cluster/members/:name: refused while it holds bricks, then detached', async (t) => {
  const s = await setup(t);
  s.gluster.others = [peer('nas-b')];
  s.gluster.bricks = { vol1: ['nas-a:/b/vol1', 'nas-b:/b/vol1'] };
  const held = await s.api.admin({ method: 'DELETE', url: '/api/v1/cluster/members/nas-b' });
  assert.equal(held.statusCode, 409);
  assert.equal(held.json().error.code, 'holds_bricks');
  assert.match(held.json().error.message, /nas-b:\/b\/vol1/);
  assert.deepEqual(s.gluster.detached, []);

  const self = await s.api.admin({ method: 'DELETE', url: '/api/v1/cluster/members/nas-a' });
  assert.equal(self.statusCode, 404);
  assert.equal(self.json().error.code, 'not_a_member');
  assert.equal((await s.api.admin({ method: 'DELETE', url: '/api/v1/cluster/members/nobody' })).json().error.code, 'not_a_member');

  assert.equal((await s.api.reader({ method: 'DELETE', url: '/api/v1/cluster/members/nas-b' })).statusCode, 403);
  assert.equal((await s.api.app.inject({ method: 'DELETE', url: '/api/v1/cluster/members/nas-b' })).statusCode, 401);

  s.gluster.bricks = { vol1: ['nas-a:/b/vol1', 'nas-c:/b/vol1'] };
  const ok = await s.api.admin({ method: 'DELETE', url: '/api/v1/cluster/members/nas-b' });
  assert.equal(ok.statusCode, 204, ok.body);
  assert.deepEqual(s.gluster.detached, ['nas-b']);
});

test('glusterd not running: 503 glusterd_unavailable at once (real gluster CLI, missing socket)', async (t) => {
  const cli = new GlusterCli({ command: ['gluster', `--glusterd-sock=/nonexistent/cairn-${process.pid}.socket`], timeoutMs: 20_000 });
  const svc = new ClusterService({
    hostname: 'nas-a',
    peers: new GlusterPeers(cli),
    volumes: new GlusterVolumes(cli),
    transport: { join: async () => assert.fail('not called') },
    stateDir: '/nonexistent/cluster',
    handleSecretFile: '/nonexistent/fh-secret',
  });
  const api = await buildTestApi(t, { cluster: svc });
  for (const [method, url] of [
    ['GET', '/api/v1/cluster'],
    ['POST', '/api/v1/cluster/join-token'],
    ['DELETE', '/api/v1/cluster/members/nas-b'],
  ] as const) {
    const res = await api.admin({ method, url });
    assert.equal(res.statusCode, 503, `${method} ${url}: ${res.body}`);
    assert.equal(res.json().error.code, 'glusterd_unavailable');
    assert.match(res.json().error.message, /glusterd/);
  }
});

test('a cairnd without cluster support answers 503 cluster_unavailable', async (t) => {
  const api = await buildTestApi(t);
  const res = await api.reader({ method: 'GET', url: '/api/v1/cluster' });
  assert.equal(res.statusCode, 503);
  assert.equal(res.json().error.code, 'cluster_unavailable');
  const join_ = await api.app.inject({ method: 'POST', url: '/api/v1/cluster/join', payload: joinBody('AAAA') });
  assert.equal(join_.statusCode, 503);
});
