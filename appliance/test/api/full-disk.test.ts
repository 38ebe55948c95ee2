/**
 * cairnd's data directory on a full disk (a 1 MiB tmpfs, filled up): a
 * change the API cannot write is refused with 507 storage_full and leaves
 * everything as it was — the state document, the token list, a revoked
 * token that is still valid on disk — and the same requests succeed once
 * there is room again. Root only (mount).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, open, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildTestApi } from '../helpers/api.js';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;

/** Writes `file` until the filesystem refuses (ENOSPC). */
async function fill(file: string): Promise<void> {
  const fh = await open(file, 'w');
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (;;) await fh.write(chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    await fh.close();
  }
}

test('a full data directory: changes are refused with 507, nothing changes, and they work again with room', { skip: !isRoot && 'needs root (mount)' }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-api-full-'));
  t.after(async () => {
    // Lazy: the API (stopped by the next hook) may still hold the mount.
    await run('umount', ['-l', dir]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  await run('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'cairn-full', dir]);
  const api = await buildTestApi(t, { dir });
  const created = await api.admin({ method: 'POST', url: '/api/v1/tokens', payload: { name: 'to-revoke', role: 'read-only' } });
  assert.equal(created.statusCode, 201, created.body);
  const victim = created.json() as { token: string; info: { id: string } };
  const rev = api.ctx.store.revision;
  const tokensBefore = (await api.admin({ method: 'GET', url: '/api/v1/tokens' })).json().items.length;

  const filler = join(dir, 'filler');
  await fill(filler);

  const share = await api.admin({ method: 'POST', url: '/api/v1/shares', payload: { name: 'docs' } });
  assert.equal(share.statusCode, 507, share.body);
  assert.equal(share.json().error.code, 'storage_full');
  assert.match(share.json().error.message, /data directory is full: nothing was changed.*ENOSPC/);
  assert.equal(api.ctx.store.revision, rev);
  assert.equal((await api.reader({ method: 'GET', url: '/api/v1/shares/docs' })).statusCode, 404);

  const token = await api.admin({ method: 'POST', url: '/api/v1/tokens', payload: { name: 'new', role: 'admin' } });
  assert.equal(token.statusCode, 507, token.body);
  assert.equal((await api.admin({ method: 'GET', url: '/api/v1/tokens' })).json().items.length, tokensBefore, 'a token that was not saved is not listed');

  const revoke = await api.admin({ method: 'DELETE', url: `/api/v1/tokens/${victim.info.id}` });
  assert.equal(revoke.statusCode, 507, revoke.body);
  assert.equal((await api.as(victim.token, { method: 'GET', url: '/api/v1/shares' })).statusCode, 200, 'a revocation that was not saved is not in force either');

  assert.equal((await api.reader({ method: 'GET', url: '/api/v1/health' })).statusCode, 200, 'reads still work');

  await unlink(filler);
  assert.equal((await api.admin({ method: 'POST', url: '/api/v1/shares', payload: { name: 'docs' } })).statusCode, 201);
  assert.equal((await api.admin({ method: 'DELETE', url: `/api/v1/tokens/${victim.info.id}` })).statusCode, 204);
  assert.equal((await api.as(victim.token, { method: 'GET', url: '/api/v1/shares' })).statusCode, 401);
  assert.equal((await api.admin({ method: 'POST', url: '/api/v1/tokens', payload: { name: 'new', role: 'admin' } })).statusCode, 201);
});
