/**
 * Walks the whole route table and proves the access rules: only health,
 * setup, login and the console's static files answer anonymous callers;
 * every other route refuses anonymous calls (401) and every admin route
 * refuses a read-only token and a read-only session (403). Every /api/v1
 * route declares a 2xx response schema (the OpenAPI document is built from them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApi, cookiesOf, VIEWER_PASSWORD } from '../helpers/api.js';

const PUBLIC = new Set(['GET /api/v1/health', 'HEAD /api/v1/health', 'GET /api/v1/setup', 'HEAD /api/v1/setup', 'POST /api/v1/setup', 'POST /api/v1/sessions', 'GET /', 'HEAD /']);

const concrete = (url: string) => url.replace(/:revision/g, '1').replace(/:[A-Za-z]+/g, 'x').replace(/\*/g, 'x');

test('every non-public route refuses anonymous and wrong-role callers', async (t) => {
  const api = await buildTestApi(t);
  const rows = api.app.routeTable;
  assert.ok(rows.length > 40, `route table walked (${rows.length} routes)`);

  const publicRoutes = rows.filter((r) => r.access === 'public').map((r) => `${r.method} ${r.url}`);
  assert.deepEqual(publicRoutes.filter((r) => !PUBLIC.has(r)), [], 'no unexpected public route');

  const login = await api.app.inject({ method: 'POST', url: '/api/v1/sessions', payload: { username: 'viewer', password: VIEWER_PASSWORD } });
  assert.equal(login.statusCode, 200);
  const viewer = cookiesOf(login);

  let checked = 0;
  for (const r of rows) {
    if (r.access === 'public' || r.method === 'OPTIONS') continue;
    const url = concrete(r.url);
    const method = r.method as 'GET' | 'HEAD';
    const anon = await api.app.inject({ method, url });
    assert.equal(anon.statusCode, 401, `${r.method} ${r.url} without credentials: ${anon.statusCode}`);
    if (method !== 'HEAD') assert.equal(anon.json().error.code, 'unauthenticated');
    const forged = await api.app.inject({ method, url, headers: { authorization: 'Bearer cairn_000000000000_notarealtokennotarealtoken' } });
    assert.equal(forged.statusCode, 401, `${r.method} ${r.url} with a forged token`);
    if (r.access === 'admin') {
      const ro = await api.reader({ method, url, payload: {} });
      assert.equal(ro.statusCode, 403, `${r.method} ${r.url} with a read-only token: ${ro.statusCode}`);
      const session = await api.app.inject({
        method,
        url,
        payload: {},
        headers: { cookie: viewer.header, 'x-csrf-token': viewer.map.cairn_csrf! },
      });
      assert.equal(session.statusCode, 403, `${r.method} ${r.url} with a read-only session: ${session.statusCode}`);
    }
    checked++;
  }
  assert.ok(checked > 30);

  for (const r of rows.filter((x) => x.url.startsWith('/api/v1') && x.method !== 'HEAD' && x.url !== '/api/v1/openapi.json')) {
    assert.ok(r.hasResponseSchema, `${r.method} ${r.url} declares its response schema`);
  }
});

test('the OpenAPI document lists every API route with its schemas, and the docs page is served', async (t) => {
  const api = await buildTestApi(t);
  const res = await api.reader({ method: 'GET', url: '/api/v1/openapi.json' });
  assert.equal(res.statusCode, 200);
  const doc = res.json();
  assert.equal(doc.openapi, '3.0.3');
  const apiRoutes = api.app.routeTable.filter((r) => r.url.startsWith('/api/v1') && r.method !== 'HEAD' && r.url !== '/api/v1/openapi.json');
  for (const r of apiRoutes) {
    const path = r.url.replace(/:([A-Za-z]+)/g, '{$1}');
    assert.ok(doc.paths[path]?.[r.method.toLowerCase()], `${r.method} ${path} in the OpenAPI document`);
  }
  const create = doc.paths['/api/v1/shares'].post;
  assert.ok(create.requestBody.content['application/json'].schema.properties.nfs);
  assert.ok(create.responses['201']);
  assert.ok(create.responses['4XX'] ?? create.responses['4xx'], 'error responses documented');
  const docs = await api.reader({ method: 'GET', url: '/api/docs/' });
  assert.equal(docs.statusCode, 200);
  assert.match(docs.body, /swagger/i);
});
