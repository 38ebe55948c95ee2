import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ntHash, hashPassword, verifyPassword } from '../../src/auth/password.js';
import { ADMIN_PASSWORD, buildTestApi, cookiesOf, VIEWER_PASSWORD } from '../helpers/api.js';

test('passwords: scrypt verify, NT hash test vectors', async () => {
  const h = await hashPassword('correct horse', { N: 1024, r: 8, p: 1 });
  assert.match(h, /^scrypt\$1024\$8\$1\$/);
  assert.ok(await verifyPassword('correct horse', h));
  assert.ok(!(await verifyPassword('correct horsE', h)));
  assert.ok(!(await verifyPassword('x', 'plain')));
  // MS-NLMP: NTOWFv1("Password") and the well-known hash of "password"
  assert.equal(ntHash('Password').toLowerCase(), 'a4f49c406510bdcab6824ee7c30fd852');
  assert.equal(ntHash('password').toLowerCase(), '8846f7eaee8fb117ad06bdd830b7586c');
  assert.equal(ntHash('').toLowerCase(), '31d6cfe0d16ae931b73c59d7e0c089c0');
});

test('first boot: setup token in a 0600 file; setup creates the admin once, logs in, removes the token', async (t) => {
  const api = await buildTestApi(t, { fresh: true });
  const file = join(api.dir, 'setup-token');
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  const token = (await readFile(file, 'utf8')).trim();
  assert.deepEqual((await api.app.inject({ method: 'GET', url: '/api/v1/setup' })).json(), { needed: true });

  const bad = await api.app.inject({ method: 'POST', url: '/api/v1/setup', payload: { token: 'wrong', password: 'long-enough-pw' } });
  assert.equal(bad.statusCode, 401);
  assert.equal(bad.json().error.code, 'setup_token_invalid');
  const short = await api.app.inject({ method: 'POST', url: '/api/v1/setup', payload: { token, password: 'short' } });
  assert.equal(short.statusCode, 400);
  assert.deepEqual(short.json().error.fields.map((f: { path: string }) => f.path), ['password']);

  const ok = await api.app.inject({ method: 'POST', url: '/api/v1/setup', payload: { token, password: 'long-enough-pw', applianceName: 'nas1' } });
  assert.equal(ok.statusCode, 201, ok.body);
  assert.equal(ok.json().user.role, 'admin');
  const c = cookiesOf(ok);
  assert.ok(c.map.cairn_session && c.map.cairn_csrf);
  const sessionCookie = (ok.cookies as Array<{ name: string; httpOnly?: boolean; sameSite?: string }>).find((x) => x.name === 'cairn_session')!;
  assert.equal(sessionCookie.httpOnly, true);
  assert.equal(sessionCookie.sameSite, 'Strict');
  await assert.rejects(stat(file), /ENOENT/);
  assert.equal(api.ctx.store.state.settings.applianceName, 'nas1');
  const admin = api.ctx.store.state.users.find((u) => u.name === 'admin')!;
  assert.equal(admin.ntHash, ntHash('long-enough-pw'));

  const again = await api.app.inject({ method: 'POST', url: '/api/v1/setup', payload: { token, password: 'another-password' } });
  assert.equal(again.statusCode, 409);
  assert.equal(again.json().error.code, 'setup_done');
  assert.deepEqual((await api.app.inject({ method: 'GET', url: '/api/v1/setup' })).json(), { needed: false });
  const me = await api.app.inject({ method: 'GET', url: '/api/v1/sessions/me', headers: { cookie: c.header } });
  assert.equal(me.json().user.name, 'admin');
});

test('sessions: login, me, CSRF on unsafe methods, logout', async (t) => {
  const api = await buildTestApi(t);
  const wrong = await api.app.inject({ method: 'POST', url: '/api/v1/sessions', payload: { username: 'admin', password: 'nope' } });
  assert.equal(wrong.statusCode, 401);
  assert.equal(wrong.json().error.code, 'invalid_credentials');
  const ghost = await api.app.inject({ method: 'POST', url: '/api/v1/sessions', payload: { username: 'ghost', password: 'nope' } });
  assert.equal(ghost.statusCode, 401);
  const badBody = await api.app.inject({ method: 'POST', url: '/api/v1/sessions', payload: { user: 'admin' } });
  assert.equal(badBody.statusCode, 400);

  const login = await api.app.inject({ method: 'POST', url: '/api/v1/sessions', payload: { username: 'admin', password: ADMIN_PASSWORD } });
  assert.equal(login.statusCode, 200);
  const c = cookiesOf(login);
  assert.equal(login.json().csrfToken, c.map.cairn_csrf);
  const me = await api.app.inject({ method: 'GET', url: '/api/v1/sessions/me', headers: { cookie: c.header } });
  assert.deepEqual(me.json(), { user: { name: 'admin', role: 'admin' }, via: 'session', csrfToken: c.map.cairn_csrf });

  const payload = { name: 'docs' };
  const noCsrf = await api.app.inject({ method: 'POST', url: '/api/v1/shares', payload, headers: { cookie: c.header } });
  assert.equal(noCsrf.statusCode, 403);
  assert.equal(noCsrf.json().error.code, 'csrf_failed');
  const wrongCsrf = await api.app.inject({ method: 'POST', url: '/api/v1/shares', payload, headers: { cookie: c.header, 'x-csrf-token': 'forged' } });
  assert.equal(wrongCsrf.statusCode, 403);
  const ok = await api.app.inject({ method: 'POST', url: '/api/v1/shares', payload, headers: { cookie: c.header, 'x-csrf-token': c.map.cairn_csrf! } });
  assert.equal(ok.statusCode, 201);
  assert.equal((await api.admin({ method: 'GET', url: '/api/v1/state/history?limit=1' })).json().items[0].who, 'admin');

  const out = await api.app.inject({ method: 'DELETE', url: '/api/v1/sessions', headers: { cookie: c.header, 'x-csrf-token': c.map.cairn_csrf! } });
  assert.equal(out.statusCode, 204);
  const after = await api.app.inject({ method: 'GET', url: '/api/v1/sessions/me', headers: { cookie: c.header } });
  assert.equal(after.statusCode, 401);
});

test('login rate limiting: past 5 failures the user is refused with 429, even with the right password', async (t) => {
  const api = await buildTestApi(t);
  for (let i = 0; i < 5; i++) {
    const r = await api.app.inject({ method: 'POST', url: '/api/v1/sessions', payload: { username: 'viewer', password: `wrong${i}` } });
    assert.equal(r.statusCode, 401);
  }
  const blocked = await api.app.inject({ method: 'POST', url: '/api/v1/sessions', payload: { username: 'viewer', password: VIEWER_PASSWORD } });
  assert.equal(blocked.statusCode, 429);
  assert.equal(blocked.json().error.code, 'rate_limited');
  assert.ok(Number(blocked.headers['retry-after']) > 0);
});

test('roles follow the user: a disabled or demoted user loses its session at once', async (t) => {
  const api = await buildTestApi(t);
  const login = await api.app.inject({ method: 'POST', url: '/api/v1/sessions', payload: { username: 'viewer', password: VIEWER_PASSWORD } });
  const c = cookiesOf(login);
  assert.equal((await api.app.inject({ method: 'GET', url: '/api/v1/shares', headers: { cookie: c.header } })).statusCode, 200);
  assert.equal((await api.admin({ method: 'PATCH', url: '/api/v1/users/viewer', payload: { enabled: false } })).statusCode, 200);
  assert.equal((await api.app.inject({ method: 'GET', url: '/api/v1/shares', headers: { cookie: c.header } })).statusCode, 401);
  // The viewer's token stops working too while the owner is disabled.
  assert.equal((await api.reader({ method: 'GET', url: '/api/v1/shares' })).statusCode, 401);
});

test('API tokens: create (shown once), list without secrets, use, revoke; a read-only token reads /metrics', async (t) => {
  const api = await buildTestApi(t);
  const created = await api.admin({ method: 'POST', url: '/api/v1/tokens', payload: { name: 'prometheus', role: 'read-only', expiresInDays: 30 } });
  assert.equal(created.statusCode, 201);
  const { token, info } = created.json();
  assert.match(token, /^cairn_[0-9a-f]{12}_/);
  assert.equal(info.createdBy, 'admin');
  const list = await api.admin({ method: 'GET', url: '/api/v1/tokens' });
  assert.ok(list.json().items.some((x: { id: string }) => x.id === info.id));
  assert.ok(!list.body.includes(token.split('_')[2]), 'the secret is never listed');
  const raw = await readFile(join(api.dir, 'auth', 'tokens.json'), 'utf8');
  assert.ok(!raw.includes(token.split('_')[2]), 'only a hash is stored');

  const m = await api.as(token, { method: 'GET', url: '/metrics' });
  assert.equal(m.statusCode, 200);
  assert.match(m.body, /cairn_api_request_duration_seconds_bucket/);
  assert.match(m.body, /# TYPE cairn_nfs_ops_total counter/);
  assert.equal((await api.as(token, { method: 'POST', url: '/api/v1/shares', payload: { name: 'x' } })).statusCode, 403);

  const bad = await api.admin({ method: 'POST', url: '/api/v1/tokens', payload: { name: '', role: 'root' } });
  assert.equal(bad.statusCode, 400);
  assert.deepEqual([...new Set(bad.json().error.fields.map((f: { path: string }) => f.path))].sort(), ['name', 'role']);

  assert.equal((await api.admin({ method: 'DELETE', url: `/api/v1/tokens/${info.id}` })).statusCode, 204);
  assert.equal((await api.as(token, { method: 'GET', url: '/metrics' })).statusCode, 401);
  assert.equal((await api.admin({ method: 'DELETE', url: `/api/v1/tokens/${info.id}` })).statusCode, 404);
  // A read-only user's admin token is only read-only.
  const viewerTok = await api.ctx.tokens.create({ name: 'sneaky', role: 'admin', createdBy: 'viewer' });
  assert.equal((await api.as(viewerTok.token, { method: 'POST', url: '/api/v1/shares', payload: { name: 'x' } })).statusCode, 403);
});

test('a read-only user changes its own password with the current one; other sessions end', async (t) => {
  const api = await buildTestApi(t);
  const a = cookiesOf(await api.app.inject({ method: 'POST', url: '/api/v1/sessions', payload: { username: 'viewer', password: VIEWER_PASSWORD } }));
  const b = cookiesOf(await api.app.inject({ method: 'POST', url: '/api/v1/sessions', payload: { username: 'viewer', password: VIEWER_PASSWORD } }));
  const url = '/api/v1/sessions/me/password';
  const headers = { cookie: a.header, 'x-csrf-token': a.map.cairn_csrf! };
  const wrong = await api.app.inject({ method: 'POST', url, headers, payload: { currentPassword: 'nope', newPassword: 'viewer-new-password' } });
  assert.equal(wrong.statusCode, 401);
  assert.deepEqual(wrong.json().error.fields, [{ path: 'currentPassword', message: 'is wrong' }]);
  const short = await api.app.inject({ method: 'POST', url, headers, payload: { currentPassword: VIEWER_PASSWORD, newPassword: 'x' } });
  assert.equal(short.statusCode, 400);
  const ok = await api.app.inject({ method: 'POST', url, headers, payload: { currentPassword: VIEWER_PASSWORD, newPassword: 'viewer-new-password' } });
  assert.equal(ok.statusCode, 200, ok.body);
  const fresh = cookiesOf(ok);
  assert.equal((await api.app.inject({ method: 'GET', url: '/api/v1/sessions/me', headers: { cookie: fresh.header } })).statusCode, 200);
  assert.equal((await api.app.inject({ method: 'GET', url: '/api/v1/sessions/me', headers: { cookie: b.header } })).statusCode, 401, 'the other session ended');
  const login = await api.app.inject({ method: 'POST', url: '/api/v1/sessions', payload: { username: 'viewer', password: 'viewer-new-password' } });
  assert.equal(login.statusCode, 200);
  assert.equal((await api.reader({ method: 'POST', url, payload: { currentPassword: 'x', newPassword: 'long-enough-1' } })).statusCode, 403, 'tokens have no password');
});
