import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalPoolDriver } from '../../src/pool/local/driver.js';
import { buildTestApi } from '../helpers/api.js';

const paths = (res: { json: () => { error: { fields: Array<{ path: string }> } } }) => res.json().error.fields.map((f) => f.path).sort();

test('shares: create with defaults, read, list, patch (merge), delete', async (t) => {
  const api = await buildTestApi(t);
  const created = await api.admin({ method: 'POST', url: '/api/v1/shares', payload: { name: 'vmstore', nfs: { enabled: true, clients: [{ match: '10.0.0.0/24', squash: 'no_root_squash' }] } } });
  assert.equal(created.statusCode, 201, created.body);
  const s = created.json();
  assert.equal(s.pool, 'local');
  assert.equal(s.path, 'vmstore');
  assert.deepEqual(s.nfs.clients, [{ match: '10.0.0.0/24', access: 'rw', squash: 'no_root_squash', anonUid: 65534, anonGid: 65534, secure: true }]);
  assert.equal(s.smb.enabled, false);
  assert.deepEqual(s.problems, []);
  assert.ok(Number(created.headers['cairn-revision']) > 1);

  const one = await api.reader({ method: 'GET', url: '/api/v1/shares/VMSTORE' });
  assert.equal(one.statusCode, 200, 'share names are case-insensitive');
  const list = await api.reader({ method: 'GET', url: '/api/v1/shares' });
  assert.deepEqual(list.json().items.map((x: { name: string }) => x.name), ['vmstore']);

  const patched = await api.admin({ method: 'PATCH', url: '/api/v1/shares/vmstore', payload: { smb: { enabled: true, macos: true, timeMachine: true } } });
  assert.equal(patched.statusCode, 200, patched.body);
  assert.equal(patched.json().smb.timeMachine, true);
  assert.equal(patched.json().smb.browseable, true, 'fields not sent keep their value');
  assert.equal(patched.json().nfs.clients[0].match, '10.0.0.0/24');
  const clients = await api.admin({ method: 'PATCH', url: '/api/v1/shares/vmstore', payload: { nfs: { clients: [{ match: '*', access: 'ro' }] } } });
  assert.deepEqual(clients.json().nfs.clients.map((c: { match: string; access: string }) => [c.match, c.access]), [['*', 'ro']]);

  assert.equal((await api.admin({ method: 'DELETE', url: '/api/v1/shares/vmstore' })).statusCode, 204);
  assert.equal((await api.admin({ method: 'GET', url: '/api/v1/shares/vmstore' })).statusCode, 404);
  assert.equal((await api.admin({ method: 'DELETE', url: '/api/v1/shares/vmstore' })).json().error.code, 'not_found');
});

test('shares: If-Match with a stale revision is refused with 409 conflict', async (t) => {
  const api = await buildTestApi(t);
  const list = (await api.reader({ method: 'GET', url: '/api/v1/shares' })).json();
  const ok = await api.admin({ method: 'POST', url: '/api/v1/shares', payload: { name: 'a' }, headers: { 'if-match': `"${list.revision}"` } });
  assert.equal(ok.statusCode, 201);
  const stale = await api.admin({ method: 'POST', url: '/api/v1/shares', payload: { name: 'b' }, headers: { 'if-match': `"${list.revision}"` } });
  assert.equal(stale.statusCode, 409);
  assert.equal(stale.json().error.code, 'conflict');
  assert.equal((await api.admin({ method: 'DELETE', url: '/api/v1/shares/a', headers: { 'if-match': 'yesterday' } })).statusCode, 400);
  assert.equal((await api.admin({ method: 'DELETE', url: '/api/v1/shares/a', headers: { 'if-match': ok.headers['cairn-revision'] as string } })).statusCode, 204);
});

test('shares: bad input is refused with every field path, and nothing changes', async (t) => {
  const api = await buildTestApi(t);
  const rev = api.ctx.store.revision;
  const shape = await api.admin({
    method: 'POST',
    url: '/api/v1/shares',
    payload: { name: '../etc', path: '/abs', nfs: { enabled: 'yes', clients: [{ access: 'rwx' }] }, smb: { encryption: 'maybe' }, extra: true },
  });
  assert.equal(shape.statusCode, 400);
  assert.equal(shape.json().error.code, 'validation_failed');
  assert.deepEqual([...new Set(paths(shape))], ['extra', 'name', 'nfs.clients.0.access', 'nfs.enabled', 'path', 'smb.encryption']);

  const sem = await api.admin({
    method: 'POST',
    url: '/api/v1/shares',
    payload: { name: 'x', pool: 'nope', nfs: { enabled: true, clients: [{ match: 'fileserver.local' }] }, smb: { validUsers: ['ghost'], validGroups: ['nogroup'], timeMachine: true } },
  });
  assert.equal(sem.statusCode, 400);
  assert.deepEqual(paths(sem), ['nfs.clients.0.match', 'pool', 'smb.timeMachine', 'smb.validGroups.0', 'smb.validUsers.0']);

  await api.admin({ method: 'POST', url: '/api/v1/shares', payload: { name: 'docs' } });
  const dup = await api.admin({ method: 'POST', url: '/api/v1/shares', payload: { name: 'DOCS' } });
  assert.equal(dup.statusCode, 409);
  assert.equal(dup.json().error.code, 'already_exists');
  const emptyPatch = await api.admin({ method: 'PATCH', url: '/api/v1/shares/docs', payload: {} });
  assert.equal(emptyPatch.statusCode, 400);
  const badPatch = await api.admin({ method: 'PATCH', url: '/api/v1/shares/docs', payload: { nfs: { clients: [{ match: '300.1.1.1' }] } } });
  assert.deepEqual(paths(badPatch), ['nfs.clients.0.match']);
  const notJson = await api.admin({ method: 'POST', url: '/api/v1/shares', payload: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(notJson.statusCode, 415);
  const broken = await api.admin({ method: 'POST', url: '/api/v1/shares', payload: '{"name":', headers: { 'content-type': 'application/json' } });
  assert.equal(broken.statusCode, 400);
  assert.equal(broken.json().error.code, 'bad_request');
  assert.equal(api.ctx.store.revision, rev + 1, 'only the good create made a revision');
});

test('shares: what the reconciler could not do is shown on the share', async (t) => {
  const local = new LocalPoolDriver();
  const api = await buildTestApi(t, { drivers: [local] });
  await api.ctx.reconciler!.trigger();
  await writeFile(join(api.dir, 'pools/local/blocked'), 'a file, not a directory');
  const res = await api.admin({ method: 'POST', url: '/api/v1/shares', payload: { name: 'blocked' } });
  assert.equal(res.statusCode, 201);
  await api.ctx.reconciler!.trigger();
  const share = (await api.reader({ method: 'GET', url: '/api/v1/shares/blocked' })).json();
  assert.equal(share.problems.length, 1);
  assert.equal(share.problems[0].driver, 'pool/local');
  assert.match(share.problems[0].message, /EEXIST|ENOTDIR/);
  const status = (await api.reader({ method: 'GET', url: '/api/v1/status' })).json();
  assert.equal(status.reconcile.problems[0].objectId, 'blocked');
  assert.equal(status.reconcile.phase, 'waiting-retry');
  assert.equal(api.ctx.store.state.shares.length, 1, 'the desired share is kept');
});
