import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTestApi } from '../helpers/api.js';

test('GET /api/v1/health: 200 when ok or degraded, 503 when a component failed; no login needed', async (t) => {
  const { app, ctx } = await buildTestApi(t);
  let state: 'ok' | 'degraded' | 'failed' = 'ok';
  ctx.health.register('pool', () => ({ status: state, detail: state === 'ok' ? undefined : 'brick down' }) as never);
  ctx.health.register('broken', () => {
    if (state === 'failed') throw new Error('probe exploded');
    return { status: 'ok' };
  });

  let res = await app.inject({ method: 'GET', url: '/api/v1/health' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.json().status, 'ok');
  assert.equal(res.json().version, '9.9.9');

  state = 'degraded';
  res = await app.inject({ method: 'GET', url: '/api/v1/health' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.json().components.pool.detail, 'brick down');

  state = 'failed';
  res = await app.inject({ method: 'GET', url: '/api/v1/health' });
  assert.equal(res.statusCode, 503);
  assert.equal(res.json().components.broken.detail, 'probe exploded');
});

test('the console is served at / when built, and a plain note when not', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-console-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'index.html'), '<title>Cairn</title>');
  const built = await buildTestApi(t, { consoleDir: dir });
  const res = await built.app.inject({ method: 'GET', url: '/' });
  assert.equal(res.statusCode, 200);
  assert.match(res.body, /<title>Cairn<\/title>/);

  const bare = await buildTestApi(t, { consoleDir: join(dir, 'nothing') });
  const note = await bare.app.inject({ method: 'GET', url: '/' });
  assert.equal(note.statusCode, 200);
  assert.match(note.body, /console is not built/);
});
