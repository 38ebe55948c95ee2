import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzz } from './helpers/fuzz.js';

test('fuzz (CI size): 20,000 random and mutated RPC records; no crash, no hang, well-formed replies', async () => {
  const seed = Number(process.env.CAIRN_FUZZ_SEED ?? Date.now() % 0xffffffff);
  const r = await fuzz(20_000, seed);
  assert.equal(r.inputs, 20_000, `seed ${seed}`);
  assert.ok(r.replies > 10_000, `most inputs are calls that get replies (seed ${seed}): ${JSON.stringify(r)}`);
  assert.ok(r.maxHeapMiB < 1024);
});
