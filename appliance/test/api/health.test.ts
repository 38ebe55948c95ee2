import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildApp } from '../../src/api/app.js';
import { createLogger } from '../../src/log.js';
import { Health } from '../../src/system/health.js';

test('GET /api/v1/health: 200 when ok or degraded, 503 when a component failed', async (t) => {
  const health = new Health('9.9.9');
  let state: 'ok' | 'degraded' | 'failed' = 'ok';
  health.register('api', () => ({ status: 'ok' }));
  health.register('pool', () => ({ status: state, detail: state === 'ok' ? undefined : 'brick down' }) as never);
  health.register('broken', () => {
    if (state === 'failed') throw new Error('probe exploded');
    return { status: 'ok' };
  });
  const app = await buildApp({ log: createLogger('silent'), health });
  t.after(() => app.close());

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
  const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'cairn-console-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'index.html'), '<title>Cairn</title>');
  const health = new Health('1.0.0');
  const built = await buildApp({ log: createLogger('silent'), health, consoleDir: dir });
  t.after(() => built.close());
  const res = await built.inject({ method: 'GET', url: '/' });
  assert.equal(res.statusCode, 200);
  assert.match(res.body, /<title>Cairn<\/title>/);

  const bare = await buildApp({ log: createLogger('silent'), health, consoleDir: join(dir, 'nothing') });
  t.after(() => bare.close());
  const note = await bare.inject({ method: 'GET', url: '/' });
  assert.equal(note.statusCode, 200);
  assert.match(note.body, /console is not built/);
});
