import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ntHash, verifyPassword } from '../../src/auth/password.js';
import { buildTestApi, cookiesOf } from '../helpers/api.js';

test('users: create (uid allocated, hashes computed, never returned), patch, delete', async (t) => {
  const api = await buildTestApi(t);
  const res = await api.admin({ method: 'POST', url: '/api/v1/users', payload: { name: 'alice', fullName: 'Alice A', password: 'alice-secret-1' } });
  assert.equal(res.statusCode, 201, res.body);
  assert.deepEqual(res.json(), { name: 'alice', uid: 2000, fullName: 'Alice A', enabled: true, groups: [] });
  assert.ok(!res.body.includes('scrypt') && !res.body.includes(ntHash('alice-secret-1')));
  const stored = api.ctx.store.state.users.find((u) => u.name === 'alice')!;
  assert.ok(await verifyPassword('alice-secret-1', stored.passwordHash));
  assert.equal(stored.ntHash, ntHash('alice-secret-1'));
  for (const url of ['/api/v1/users', '/api/v1/users/alice', '/api/v1/state', '/api/v1/state/history?limit=5']) {
    const body = (await api.admin({ method: 'GET', url })).body;
    assert.ok(!body.includes(stored.passwordHash) && !body.includes(stored.ntHash), `${url} leaks no hash`);
  }

  const login = await api.app.inject({ method: 'POST', url: '/api/v1/sessions', payload: { username: 'alice', password: 'alice-secret-1' } });
  assert.equal(login.statusCode, 401, 'a user without a role cannot log in to the console');

  const p = await api.admin({ method: 'PATCH', url: '/api/v1/users/alice', payload: { role: 'read-only', password: 'alice-secret-2' } });
  assert.equal(p.statusCode, 200);
  assert.equal(p.json().role, 'read-only');
  assert.equal(api.ctx.store.state.users.find((u) => u.name === 'alice')!.ntHash, ntHash('alice-secret-2'));
  const login2 = await api.app.inject({ method: 'POST', url: '/api/v1/sessions', payload: { username: 'alice', password: 'alice-secret-2' } });
  assert.equal(login2.statusCode, 200);
  const noRole = await api.admin({ method: 'PATCH', url: '/api/v1/users/alice', payload: { role: null } });
  assert.equal(noRole.json().role, undefined);
  const c = cookiesOf(login2);
  assert.equal((await api.app.inject({ method: 'GET', url: '/api/v1/shares', headers: { cookie: c.header } })).statusCode, 401, 'role change ends sessions');

  assert.equal((await api.admin({ method: 'DELETE', url: '/api/v1/users/alice' })).statusCode, 204);
  assert.equal((await api.admin({ method: 'GET', url: '/api/v1/users/alice' })).statusCode, 404);
});

test('users: bad input, duplicates, the last admin, users still named by a share', async (t) => {
  const api = await buildTestApi(t);
  const bad = await api.admin({ method: 'POST', url: '/api/v1/users', payload: { name: 'Bad Name', uid: 5, password: 'short' } });
  assert.equal(bad.statusCode, 400);
  assert.deepEqual([...new Set(bad.json().error.fields.map((f: { path: string }) => f.path))].sort(), ['name', 'password', 'uid']);
  const dup = await api.admin({ method: 'POST', url: '/api/v1/users', payload: { name: 'viewer', password: 'long-enough' } });
  assert.equal(dup.statusCode, 409);
  const dupUid = await api.admin({ method: 'POST', url: '/api/v1/users', payload: { name: 'bob', uid: 1000, password: 'long-enough' } });
  assert.equal(dupUid.statusCode, 409);
  assert.deepEqual(dupUid.json().error.fields, [{ path: 'uid', message: 'is already taken' }]);

  const demote = await api.admin({ method: 'PATCH', url: '/api/v1/users/admin', payload: { role: 'read-only' } });
  assert.equal(demote.statusCode, 409);
  assert.equal(demote.json().error.code, 'last_admin');
  assert.equal((await api.admin({ method: 'DELETE', url: '/api/v1/users/admin' })).json().error.code, 'last_admin');
  assert.equal((await api.admin({ method: 'PATCH', url: '/api/v1/users/admin', payload: { enabled: false } })).statusCode, 409);

  await api.admin({ method: 'POST', url: '/api/v1/shares', payload: { name: 'private', smb: { enabled: true, validUsers: ['viewer'] } } });
  const inUse = await api.admin({ method: 'DELETE', url: '/api/v1/users/viewer' });
  assert.equal(inUse.statusCode, 409);
  assert.equal(inUse.json().error.code, 'in_use');
  assert.equal((await api.admin({ method: 'PATCH', url: '/api/v1/users/ghost', payload: { fullName: 'x' } })).statusCode, 404);
});

test('groups: create, members must exist, patch members, refused delete while a share names it', async (t) => {
  const api = await buildTestApi(t);
  const g = await api.admin({ method: 'POST', url: '/api/v1/groups', payload: { name: 'staff', members: ['viewer'] } });
  assert.equal(g.statusCode, 201, g.body);
  assert.deepEqual(g.json(), { name: 'staff', gid: 2000, members: ['viewer'] });
  assert.deepEqual((await api.reader({ method: 'GET', url: '/api/v1/users/viewer' })).json().groups, ['staff']);
  const ghost = await api.admin({ method: 'PATCH', url: '/api/v1/groups/staff', payload: { members: ['viewer', 'ghost'] } });
  assert.equal(ghost.statusCode, 400);
  assert.deepEqual(ghost.json().error.fields.map((f: { path: string }) => f.path), ['members.1']);
  const ok = await api.admin({ method: 'PATCH', url: '/api/v1/groups/staff', payload: { members: ['admin'] } });
  assert.deepEqual(ok.json().members, ['admin']);
  assert.equal((await api.admin({ method: 'POST', url: '/api/v1/groups', payload: { name: 'staff' } })).statusCode, 409);
  assert.equal((await api.admin({ method: 'POST', url: '/api/v1/groups', payload: { name: 'Bad!' } })).statusCode, 400);
  await api.admin({ method: 'POST', url: '/api/v1/shares', payload: { name: 'team', smb: { enabled: true, validGroups: ['staff'] } } });
  assert.equal((await api.admin({ method: 'DELETE', url: '/api/v1/groups/staff' })).statusCode, 409);
  await api.admin({ method: 'DELETE', url: '/api/v1/shares/team' });
  assert.equal((await api.admin({ method: 'DELETE', url: '/api/v1/groups/staff' })).statusCode, 204);
  assert.equal((await api.reader({ method: 'GET', url: '/api/v1/groups' })).json().items.length, 0);
  assert.equal((await api.reader({ method: 'GET', url: '/api/v1/groups/staff' })).statusCode, 404);
});
