/** The session store: persisted across restarts without the cookie values, expiry, removal. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SessionStore } from '../../src/auth/sessions.js';

async function tmp(t: { after: (f: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-sessions-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('a session survives reopening the store; the file holds no session id', async (t) => {
  const dir = await tmp(t);
  const a = await SessionStore.open(dir);
  const { id, session } = a.create('alice');
  const other = a.create('bob');
  await a.flush();
  const text = await readFile(join(dir, 'sessions.json'), 'utf8');
  assert.ok(!text.includes(id) && !text.includes(other.id), 'only hashes of ids are written');
  assert.equal((await stat(join(dir, 'sessions.json'))).mode & 0o777, 0o600);

  const b = await SessionStore.open(dir);
  assert.equal(b.get(id)?.user, 'alice');
  assert.equal(b.get(id)?.csrfToken, session.csrfToken);
  b.destroy(id);
  b.destroyUser('bob');
  await b.flush();
  const c = await SessionStore.open(dir);
  assert.equal(c.get(id), undefined, 'logout is persisted');
  assert.equal(c.get(other.id), undefined, 'destroyUser is persisted');
});

test('expired sessions are not loaded; idle time counts from the last use written', async (t) => {
  const dir = await tmp(t);
  let now = 1_000_000;
  const a = await SessionStore.open(dir, { now: () => now });
  const { id } = a.create('alice');
  now += 2 * 3600_000;
  assert.ok(a.get(id), 'used after 2 h: last use written (more than a minute moved)');
  await a.flush();
  now += 7 * 3600_000; // 9 h after creation, 7 h after last use: still inside the 8 h idle limit
  const b = await SessionStore.open(dir, { now: () => now });
  assert.ok(b.get(id));
  now += 9 * 3600_000;
  const c = await SessionStore.open(dir, { now: () => now });
  assert.equal(c.get(id), undefined, 'idle past 8 h');
  // b.get above wrote the new last use in the background: done before the rm hook walks `dir`.
  await b.flush();
});

test('a damaged file starts empty with a reported error; the store still works', async (t) => {
  const dir = await tmp(t);
  await writeFile(join(dir, 'sessions.json'), '{not json');
  const errors: string[] = [];
  const s = await SessionStore.open(dir, { onError: (e) => errors.push(e.message) });
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /sessions\.json cannot be read/);
  const { id } = s.create('alice');
  await s.flush();
  assert.equal((await SessionStore.open(dir)).get(id)?.user, 'alice');
  await writeFile(join(dir, 'sessions.json'), JSON.stringify({ k: { user: 1 } }));
  assert.equal((await SessionStore.open(dir)).get(id), undefined, 'malformed entries are skipped');
});
