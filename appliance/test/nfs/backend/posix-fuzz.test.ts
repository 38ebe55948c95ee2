// The stateful fuzzer (helpers/backend-fuzz.ts) over the posix backend:
// real files under a temp directory, the export one level down, and a
// sibling directory the export must never reach. Needs root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzBackend, posixWorld } from '../helpers/backend-fuzz.js';

test('posix backend fuzz (CI size): 30,000 stateful calls; answers, real statuses, nothing outside the export touched', { timeout: 300_000 }, async (t) => {
  const seed = Number(process.env.CAIRN_FUZZ_SEED ?? Date.now() % 0xffffffff);
  const r = await fuzzBackend(posixWorld, { inputs: 30_000, seed, rounds: 3 });
  t.diagnostic(`seed ${seed}: ${r.ms} ms, slowest ${r.slowest.ms} ms (${r.slowest.call.slice(0, 12)}), statuses ${JSON.stringify(r.statuses)}`);
  assert.equal(r.inputs, 30_000);
  assert.deepEqual(r.unmappedOs, [], `OS errors with no nfsstat3 (seed ${seed}); calls answered IO: ${r.io.join('\n')}`);
  // The calls reached the backend, not only its error paths.
  for (const p of ['READ', 'WRITE', 'CREATE', 'MKDIR', 'RENAME', 'READDIRPLUS', 'SETATTR', 'REMOVE']) assert.ok((r.statuses[p]?.[0] ?? 0) > 0, `${p} succeeded sometimes (seed ${seed})`);
});

test('posix backend fuzz over TCP (CI size): 10,000 calls on 4 connections through the real transport and its sendfile READs', { timeout: 300_000 }, async (t) => {
  const seed = Number(process.env.CAIRN_FUZZ_SEED ?? Date.now() % 0xffffffff);
  const r = await fuzzBackend(posixWorld, { inputs: 10_000, seed, tcp: 4 });
  t.diagnostic(`seed ${seed}: ${r.ms} ms, slowest ${r.slowest.ms} ms (${r.slowest.call.slice(0, 12)})`);
  assert.equal(r.inputs, 10_000);
  assert.deepEqual(r.unmappedOs, [], `OS errors with no nfsstat3 (seed ${seed}); calls answered IO: ${r.io.join('\n')}`);
  assert.ok((r.statuses.READ?.[0] ?? 0) > 0, `READ succeeded sometimes (seed ${seed})`);
});
