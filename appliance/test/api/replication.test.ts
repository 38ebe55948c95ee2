/**
 * /api/v1/replication over `inject`: the real GeoRepReplication (summary,
 * times, set-up and removal steps) over a fake of georep.ts's command layer
 * whose status comes from the XML captured in the lab; glusterd not running
 * is shown with the real gluster CLI pointed at a binary that does not exist.
 * Every route: happy path, bad input, unknown session, no auth, wrong role.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GlusterCli } from '../../src/pool/gluster/cli.js';
import { GeoRepReplication, GlusterGeoRep } from '../../src/pool/gluster/georep.js';
import { FakeGeo, labSession } from '../cluster/georep-fake.js';
import { buildTestApi } from '../helpers/api.js';

type T = Parameters<typeof buildTestApi>[0];

async function setup(t: T) {
  const lab = await labSession();
  const geo = new FakeGeo(lab);
  geo.sessions.set('gv0 node4::backup', structuredClone(lab));
  // 12 s after the lab's last sync, in the local zone (gsyncd prints local time).
  const replication = new GeoRepReplication(geo, () => new Date(2026, 10, 28, 21, 41, 30));
  const api = await buildTestApi(t, { replication });
  return { api, geo };
}

const BASE = '/api/v1/replication/sessions';

test('GET /replication/sessions: state, lag, last synced (with zone), workers; read role is enough', async (t) => {
  const { api } = await setup(t);
  const res = await api.reader({ method: 'GET', url: BASE });
  assert.equal(res.statusCode, 200, res.body);
  const [s, ...rest] = res.json().sessions;
  assert.equal(rest.length, 0);
  assert.deepEqual(
    { volume: s.volume, remoteHost: s.remoteHost, remoteVolume: s.remoteVolume, state: s.state, lag: s.lagSeconds, upToDate: s.upToDate, pending: s.pending },
    { volume: 'gv0', remoteHost: 'node4', remoteVolume: 'backup', state: 'active', lag: 12, upToDate: true, pending: 0 },
  );
  assert.equal(s.lastSynced, new Date(2026, 10, 28, 21, 41, 18).toISOString());
  assert.deepEqual(s.workers.map((w: { node: string; status: string }) => [w.node, w.status]), [['node1', 'Active'], ['node3', 'Passive'], ['node2', 'Passive']]);
  assert.ok(Date.parse(res.json().checkedAt) > 0);
  assert.equal((await api.app.inject({ method: 'GET', url: BASE })).statusCode, 401);
});

test('POST /replication/sessions creates (push-pem) and starts; duplicates, bad names and an unreachable remote are refused', async (t) => {
  const { api, geo } = await setup(t);
  const res = await api.admin({ method: 'POST', url: BASE, payload: { volume: 'gv0', remoteHost: 'nas-b.example', remoteVolume: 'dr', sshPort: 2222 } });
  assert.equal(res.statusCode, 201, res.body);
  assert.deepEqual([res.json().state, res.json().remoteHost, res.json().remoteVolume, res.json().lastSynced], ['active', 'nas-b.example', 'dr', null]);
  assert.deepEqual(geo.calls, ['gsec_create', 'create gv0 nas-b.example::dr ssh-port 2222', 'start gv0 nas-b.example::dr']);

  const dup = await api.admin({ method: 'POST', url: BASE, payload: { volume: 'gv0', remoteHost: 'nas-b.example', remoteVolume: 'dr' } });
  assert.equal(dup.statusCode, 409);
  assert.equal(dup.json().error.code, 'already_exists');

  const bad = await api.admin({ method: 'POST', url: BASE, payload: { volume: 'gv 0', remoteHost: '-oProxyCommand=x', remoteVolume: 'dr', sshPort: 70000, extra: 1 } });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().error.code, 'validation_failed');
  const paths = bad.json().error.fields.map((f: { path: string }) => f.path);
  for (const p of ['volume', 'remoteHost', 'sshPort']) assert.ok(paths.some((x: string) => x.includes(p)), `${p} named in ${JSON.stringify(paths)}`);

  geo.unreachable.add('nas-c');
  const down = await api.admin({ method: 'POST', url: BASE, payload: { volume: 'gv0', remoteHost: 'nas-c', remoteVolume: 'dr' } });
  assert.equal(down.statusCode, 502);
  assert.equal(down.json().error.code, 'replication_failed');
  assert.match(down.json().error.message, /secondary volume/);

  assert.equal((await api.reader({ method: 'POST', url: BASE, payload: { volume: 'gv0', remoteHost: 'x', remoteVolume: 'y' } })).statusCode, 403);
});

test('pause, resume, checkpoint and delete a session; unknown sessions are not_found', async (t) => {
  const { api, geo } = await setup(t);
  const one = `${BASE}/gv0/node4/backup`;
  const paused = await api.admin({ method: 'POST', url: `${one}/pause` });
  assert.equal(paused.statusCode, 200, paused.body);
  assert.equal(paused.json().state, 'paused');
  assert.equal(paused.json().upToDate, false);
  const resumed = await api.admin({ method: 'POST', url: `${one}/resume` });
  assert.equal(resumed.json().state, 'active');
  const cp = await api.admin({ method: 'POST', url: `${one}/checkpoint` });
  assert.equal(cp.statusCode, 200);
  assert.deepEqual(cp.json().checkpoint, { time: new Date(2026, 10, 28, 21, 41, 20).toISOString(), completed: false });
  assert.equal((await api.reader({ method: 'POST', url: `${one}/pause` })).statusCode, 403);
  const restarted = await api.admin({ method: 'POST', url: `${one}/restart` });
  assert.equal(restarted.statusCode, 200, restarted.body);
  assert.equal(restarted.json().state, 'active');
  assert.deepEqual(geo.calls.slice(-2), ['stop gv0 node4::backup force', 'start gv0 node4::backup']);

  const missing = await api.admin({ method: 'POST', url: `${BASE}/gv0/node9/backup/pause` });
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.json().error.code, 'not_found');
  const badName = await api.admin({ method: 'POST', url: `${BASE}/gv0/node4/bad%20name/pause` });
  assert.equal(badName.statusCode, 400);

  assert.equal((await api.reader({ method: 'DELETE', url: one })).statusCode, 403);
  const del = await api.admin({ method: 'DELETE', url: one });
  assert.equal(del.statusCode, 204, del.body);
  assert.deepEqual(geo.calls.slice(-2), ['stop gv0 node4::backup force', 'delete gv0 node4::backup']);
  assert.deepEqual((await api.admin({ method: 'GET', url: BASE })).json().sessions, []);
  assert.equal((await api.admin({ method: 'DELETE', url: one })).statusCode, 404);
});

test('replication routes: 503 without geo-replication, glusterd_unavailable when the CLI cannot run', async (t) => {
  const none = await buildTestApi(t);
  const r = await none.admin({ method: 'GET', url: BASE });
  assert.equal(r.statusCode, 503);
  assert.equal(r.json().error.code, 'replication_unavailable');

  const broken = await buildTestApi(t, { replication: new GeoRepReplication(new GlusterGeoRep(new GlusterCli({ command: ['/nonexistent/gluster'] }))) });
  const g = await broken.admin({ method: 'GET', url: BASE });
  assert.equal(g.statusCode, 503);
  assert.equal(g.json().error.code, 'glusterd_unavailable');
});

test('ssh keys for set-up: GET /replication/ssh-key shows this appliance key; POST /replication/authorized-keys adds a bare key once, refuses options', async (t) => {
  const { mkdtemp, readFile, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { RootSshKeys } = await import('../../src/replication/ssh-keys.js');
  const dir = await mkdtemp(join(tmpdir(), 'cairn-api-sshkeys-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const api = await buildTestApi(t, { sshKeys: new RootSshKeys(join(dir, 'ssh')) });
  const shown = await api.admin({ method: 'GET', url: '/api/v1/replication/ssh-key' });
  assert.equal(shown.statusCode, 200, shown.body);
  assert.match(shown.json().key, /^ssh-ed25519 /);
  assert.equal((await api.reader({ method: 'GET', url: '/api/v1/replication/ssh-key' })).statusCode, 403);

  const url = '/api/v1/replication/authorized-keys';
  const key = shown.json().key as string;
  const first = await api.admin({ method: 'POST', url, payload: { key } });
  assert.equal(first.statusCode, 200, first.body);
  assert.equal(first.json().added, true);
  assert.equal((await api.admin({ method: 'POST', url, payload: { key } })).json().added, false);
  const bad = await api.admin({ method: 'POST', url, payload: { key: `command="sh -c id" ${key}` } });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().error.code, 'validation_failed');
  assert.deepEqual(bad.json().error.fields.map((f: { path: string }) => f.path), ['key']);
  assert.equal((await readFile(join(dir, 'ssh', 'authorized_keys'), 'utf8')).trim(), key);
  assert.equal((await api.reader({ method: 'POST', url, payload: { key } })).statusCode, 403);
  assert.equal((await (await buildTestApi(t)).admin({ method: 'GET', url: '/api/v1/replication/ssh-key' })).statusCode, 503);
});
