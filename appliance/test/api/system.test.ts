import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Driver } from '../../src/reconcile/driver.js';
import { buildTestApi } from '../helpers/api.js';

test('pools: list with capacity, create local and gluster, refuse bad and in-use', async (t) => {
  const api = await buildTestApi(t);
  const list = (await api.reader({ method: 'GET', url: '/api/v1/pools' })).json();
  assert.equal(list.items[0].label, 'unreplicated');
  assert.deepEqual(list.items[0].capacity, { totalBytes: 1000, usedBytes: 400, freeBytes: 600 });
  const local = await api.admin({ method: 'POST', url: '/api/v1/pools', payload: { id: 'scratch', kind: 'local', path: '/srv/scratch' } });
  assert.equal(local.statusCode, 201, local.body);
  assert.equal(local.json().label, 'unreplicated');
  const gl = await api.admin({
    method: 'POST',
    url: '/api/v1/pools',
    payload: { id: 'tank', kind: 'gluster', replica: 2, arbiter: 1, bricks: [{ host: 'a', path: '/b/1' }, { host: 'b', path: '/b/1' }, { host: 'c', path: '/b/1' }] },
  });
  assert.equal(gl.statusCode, 201, gl.body);
  assert.equal(gl.json().label, 'replicated');
  const odd = await api.admin({ method: 'POST', url: '/api/v1/pools', payload: { id: 'odd', kind: 'gluster', replica: 3, bricks: [{ host: 'a', path: '/b' }] } });
  assert.equal(odd.statusCode, 400);
  assert.deepEqual(odd.json().error.fields.map((f: { path: string }) => f.path), ['pools.3.bricks']);
  const nested = await api.admin({ method: 'POST', url: '/api/v1/pools', payload: { id: 'nested', kind: 'local', path: '/srv/scratch/inner' } });
  assert.equal(nested.statusCode, 400);
  assert.match(nested.json().error.fields[0].message, /overlaps/);
  const shape = await api.admin({ method: 'POST', url: '/api/v1/pools', payload: { id: 'Bad Id', kind: 'zfs' } });
  assert.equal(shape.statusCode, 400);
  assert.equal((await api.admin({ method: 'POST', url: '/api/v1/pools', payload: { id: 'tank', kind: 'local', path: '/x' } })).statusCode, 409);
  await api.admin({ method: 'POST', url: '/api/v1/shares', payload: { name: 's', pool: 'scratch' } });
  const busy = await api.admin({ method: 'DELETE', url: '/api/v1/pools/scratch' });
  assert.equal(busy.statusCode, 409);
  assert.match(busy.json().error.message, /share s/);
  assert.equal((await api.admin({ method: 'DELETE', url: '/api/v1/pools/tank' })).statusCode, 204);
  assert.equal((await api.reader({ method: 'GET', url: '/api/v1/pools/tank' })).statusCode, 404);
  assert.equal((await api.reader({ method: 'GET', url: '/api/v1/pools/local' })).json().id, 'local');
});

test('volumes: create in a pool, quota patch, shares on volumes, refuse deleting in use', async (t) => {
  const api = await buildTestApi(t);
  const v = await api.admin({ method: 'POST', url: '/api/v1/volumes', payload: { id: 'vms', pool: 'local', quotaBytes: 1e9 } });
  assert.equal(v.statusCode, 201, v.body);
  assert.equal((await api.admin({ method: 'POST', url: '/api/v1/volumes', payload: { id: 'x', pool: 'ghost' } })).json().error.fields[0].path, 'volumes.1.pool');
  assert.equal((await api.admin({ method: 'POST', url: '/api/v1/volumes', payload: { id: 'vms', pool: 'local' } })).statusCode, 409);
  const q = await api.admin({ method: 'PATCH', url: '/api/v1/volumes/vms', payload: { quotaBytes: null } });
  assert.equal(q.json().quotaBytes, undefined);
  assert.equal((await api.admin({ method: 'PATCH', url: '/api/v1/volumes/vms', payload: { quotaBytes: -1 } })).statusCode, 400);
  await api.admin({ method: 'POST', url: '/api/v1/shares', payload: { name: 'vm', volume: 'vms' } });
  assert.equal((await api.admin({ method: 'DELETE', url: '/api/v1/volumes/vms' })).statusCode, 409);
  assert.equal((await api.reader({ method: 'GET', url: '/api/v1/volumes' })).json().items.length, 1);
  assert.equal((await api.reader({ method: 'GET', url: '/api/v1/volumes/vms' })).json().pool, 'local');
  await api.admin({ method: 'DELETE', url: '/api/v1/shares/vm' });
  assert.equal((await api.admin({ method: 'DELETE', url: '/api/v1/volumes/vms' })).statusCode, 204);
});

test('settings: read, partial change, bad values', async (t) => {
  const api = await buildTestApi(t);
  assert.equal((await api.reader({ method: 'GET', url: '/api/v1/settings' })).json().smb.workgroup, 'WORKGROUP');
  const p = await api.admin({ method: 'PATCH', url: '/api/v1/settings', payload: { applianceName: 'nas2', smb: { workgroup: 'OFFICE' } } });
  assert.equal(p.statusCode, 200);
  assert.deepEqual(p.json(), { applianceName: 'nas2', timezone: 'UTC', smb: { workgroup: 'OFFICE' }, nfs: { port: 2049 } });
  const bad = await api.admin({ method: 'PATCH', url: '/api/v1/settings', payload: { applianceName: 'no spaces', nfs: { port: 70000 } } });
  assert.deepEqual(bad.json().error.fields.map((f: { path: string }) => f.path).sort(), ['applianceName', 'nfs.port']);
});

test('state: document without secrets, history with diffs, one revision, rollback as a new revision', async (t) => {
  const api = await buildTestApi(t);
  await api.admin({ method: 'POST', url: '/api/v1/shares', payload: { name: 'a' } });
  const before = api.ctx.store.revision;
  await api.admin({ method: 'POST', url: '/api/v1/shares', payload: { name: 'b' } });
  const doc = (await api.reader({ method: 'GET', url: '/api/v1/state' })).json();
  assert.equal(doc.revision, before + 1);
  assert.equal(doc.state.users[0].passwordHash, '[redacted]');
  const h = (await api.reader({ method: 'GET', url: '/api/v1/state/history?limit=2' })).json();
  assert.deepEqual(h.items.map((x: { message: string }) => x.message), ['create share b', 'create share a']);
  assert.equal(h.items[0].who, 'token:test-admin');
  assert.equal(h.items[0].diff[0].path, '/shares/1');
  const userRev = (await api.reader({ method: 'GET', url: '/api/v1/state/history/2' })).json();
  assert.ok(userRev.diff.some((d: { path: string; value?: { passwordHash?: string } }) => d.value?.passwordHash === '[redacted]'), 'secrets redacted in diffs');
  assert.equal((await api.reader({ method: 'GET', url: '/api/v1/state/history/999' })).statusCode, 404);
  assert.equal((await api.reader({ method: 'GET', url: '/api/v1/state/history?limit=0' })).statusCode, 400);

  const rb = await api.admin({ method: 'POST', url: '/api/v1/state/rollback', payload: { revision: before } });
  assert.equal(rb.statusCode, 201, rb.body);
  assert.equal(rb.json().revision, before + 2);
  assert.equal(rb.json().message, `rollback to revision ${before}`);
  assert.deepEqual(api.ctx.store.state.shares.map((s) => s.name), ['a']);
  assert.equal((await api.admin({ method: 'POST', url: '/api/v1/state/rollback', payload: { revision: 999 } })).statusCode, 404);
  const lockout = await api.admin({ method: 'POST', url: '/api/v1/state/rollback', payload: { revision: 1 } });
  assert.equal(lockout.statusCode, 409, 'revision 1 has no admin');
  assert.equal(lockout.json().error.code, 'last_admin');
  assert.equal((await api.admin({ method: 'POST', url: '/api/v1/state/rollback', payload: { revision: 'x' } })).statusCode, 400);
});

test('status, reconcile task with progress, tasks list/cancel, disks', async (t) => {
  let calls = 0;
  const counting: Driver = { name: 'count', apply: async () => (calls++, { problems: [], summary: `${calls} calls` }) };
  const api = await buildTestApi(t, { drivers: [counting] });
  const task = await api.admin({ method: 'POST', url: '/api/v1/reconcile' });
  assert.equal(task.statusCode, 202);
  const id = task.json().id;
  await api.ctx.tasks.wait(id);
  const done = (await api.reader({ method: 'GET', url: `/api/v1/tasks/${id}` })).json();
  assert.equal(done.state, 'done');
  assert.equal(done.progress, 1);
  assert.match(done.message, /match the desired state/);
  assert.ok(calls >= 1);
  assert.equal((await api.reader({ method: 'GET', url: '/api/v1/tasks' })).json().items[0].id, id);
  const status = (await api.reader({ method: 'GET', url: '/api/v1/status' })).json();
  assert.equal(status.reconcile.drivers[0].name, 'count');
  assert.equal(status.reconcile.appliedRevision, api.ctx.store.revision);
  assert.equal((await api.reader({ method: 'GET', url: '/api/v1/tasks/nope' })).statusCode, 404);

  const long = api.ctx.tasks.start('heal', 'Heal pool', 'test', (c) => new Promise((_r, reject) => c.signal.addEventListener('abort', () => reject(new Error('stopped')))));
  const cancel = await api.admin({ method: 'POST', url: `/api/v1/tasks/${long.id}/cancel` });
  assert.equal(cancel.statusCode, 202);
  assert.equal((await api.ctx.tasks.wait(long.id))!.state, 'cancelled');
  assert.equal((await api.admin({ method: 'POST', url: '/api/v1/tasks/nope/cancel' })).statusCode, 404);

  const disks = (await api.reader({ method: 'GET', url: '/api/v1/disks' })).json();
  assert.deepEqual(disks.items.map((d: { path: string }) => d.path), ['/dev/vdb'], 'disks and loops only');
});

test('a reconcile request without a reconciler says the component is unavailable', async (t) => {
  const api = await buildTestApi(t);
  const r = await api.admin({ method: 'POST', url: '/api/v1/reconcile' });
  assert.equal(r.statusCode, 503);
  assert.equal(r.json().error.code, 'unavailable');
});

test('metrics: API latency recorded per route; driver metrics exposed', async (t) => {
  const api = await buildTestApi(t);
  await api.reader({ method: 'GET', url: '/api/v1/shares' });
  api.ctx.metrics.nfsOps.inc({ proc: 'READ', export: 'vm' }, 3);
  api.ctx.metrics.healPending.set({ pool: 'tank', brick: 'a:/b' }, 7);
  const body = (await api.reader({ method: 'GET', url: '/metrics' })).body;
  assert.match(body, /cairn_api_request_duration_seconds_count\{method="GET",route="\/api\/v1\/shares",status="200"\} 1/);
  assert.match(body, /cairn_nfs_ops_total\{proc="READ",export="vm"\} 3/);
  assert.match(body, /cairn_heal_pending_entries\{pool="tank",brick="a:\/b"\} 7/);
  assert.match(body, /cairn_state_revision \d+/);
  assert.match(body, /cairn_pool_capacity_bytes\{pool="local"\} 1000/);
  assert.match(body, /cairn_pool_used_bytes\{pool="local"\} 400/);
});
