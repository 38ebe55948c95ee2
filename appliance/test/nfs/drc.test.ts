import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DuplicateRequestCache } from '../../src/nfs/rpc/drc.js';

test('DRC: same (client, xid, proc, args) hits; any difference misses; bounded size', async () => {
  const drc = new DuplicateRequestCache(3);
  const args = Buffer.from('remove foo');
  const k = DuplicateRequestCache.key('10.0.0.1', 7, 100003, 3, 12, args);
  assert.equal(drc.lookup(k), undefined);
  drc.insert(k, Promise.resolve([Buffer.from('reply')]));
  assert.equal((await drc.lookup(k))![0]!.toString(), 'reply');
  assert.equal(drc.lookup(DuplicateRequestCache.key('10.0.0.2', 7, 100003, 3, 12, args)), undefined);
  assert.equal(drc.lookup(DuplicateRequestCache.key('10.0.0.1', 8, 100003, 3, 12, args)), undefined);
  assert.equal(drc.lookup(DuplicateRequestCache.key('10.0.0.1', 7, 100003, 3, 13, args)), undefined);
  assert.equal(drc.lookup(DuplicateRequestCache.key('10.0.0.1', 7, 100003, 3, 12, Buffer.from('remove bar'))), undefined);
  for (let i = 0; i < 5; i++) drc.insert(`k${i}`, Promise.resolve(undefined));
  assert.equal(drc.size, 3);
  assert.equal(drc.lookup(k), undefined, 'oldest entry evicted');
});

test('DRC: entries expire after their age', async () => {
  const drc = new DuplicateRequestCache(10, 0);
  drc.insert('k', Promise.resolve(undefined));
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(drc.lookup('k'), undefined);
});
