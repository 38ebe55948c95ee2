/**
 * The posix backend behind the whole server: `cairnd nfs-serve --backend
 * posix` on a temp directory, driven by the real libnfs client (the C
 * fixture's suite, forged handles, concurrent clients) — the same checks
 * libnfs.test.ts runs against the memory backend.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildClient, nfsServe, tool } from '../helpers/nfs-serve.js';

let client = '';
const cleanups: Array<() => Promise<void>> = [];
before(async () => {
  client = await buildClient((fn) => cleanups.push(fn));
});
test.after(async () => {
  for (const c of cleanups) await c();
});

function expectOk(r: { code: number; stdout: string; stderr: string }, what: string) {
  assert.equal(r.code, 0, `${what} failed: ${r.stdout}${r.stderr}`);
  assert.doesNotMatch(r.stdout, /FAIL/);
}

test('posix over NFS: every procedure, rename over existing, links, symlinks, sparse files past 4 GiB', async (t) => {
  const s = await nfsServe(t, ['--backend', 'posix']);
  expectOk(await tool(client, ['suite', s.url()], 60_000), 'suite');
});

test('posix over NFS: forged handles get BADHANDLE, removed objects STALE', async (t) => {
  const s = await nfsServe(t, ['--backend', 'posix']);
  expectOk(await tool(client, ['forge', s.url()]), 'forge');
});

test('posix over NFS: 8 concurrent clients write and read back', async (t) => {
  const s = await nfsServe(t, ['--backend', 'posix']);
  const runs = await Promise.all(Array.from({ length: 8 }, (_, i) => tool(client, ['rw', s.url(), `client${i}`, String(2 * 1024 * 1024 + i)], 60_000)));
  runs.forEach((r, i) => expectOk(r, `client ${i}`));
  const ls = await tool('nfs-ls', [s.url()]);
  for (let i = 0; i < 8; i++) assert.match(ls.stdout, new RegExp(`${2 * 1024 * 1024 + i} client${i}`));
});
