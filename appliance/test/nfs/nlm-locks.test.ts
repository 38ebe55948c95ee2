/**
 * The NLM lock table's POSIX semantics (nlm4/locks.ts): conflicts between
 * owners, replacement, splitting and merging within one owner, ranges to
 * the end of the file, dropping a host, the table's bound.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { END, LockTable, lenOf, rangeOf, type Owner } from '../../src/nfs/nlm4/locks.js';

const A: Owner = { host: 'alpha', svid: 1, oh: Buffer.from('1@alpha') };
const A2: Owner = { host: 'alpha', svid: 2, oh: Buffer.from('2@alpha') };
const B: Owner = { host: 'beta', svid: 1, oh: Buffer.from('1@beta') };
const F = 'f';

const ranges = (t: LockTable, file = F) => t.held(file).map((h) => `${h.host}/${h.svid} ${h.exclusive ? 'W' : 'R'} ${h.start}-${h.end === END ? 'END' : h.end}`);

test('nlm locks: owners conflict when ranges overlap and one lock is exclusive', () => {
  const t = new LockTable();
  assert.equal(t.lock(F, A, true, 0n, 100n), 'granted');
  const c = t.lock(F, B, false, 99n, 200n);
  assert.ok(typeof c === 'object', 'a shared lock over one byte of a write lock is refused');
  assert.deepEqual([c.host, c.start, c.end, c.exclusive], ['alpha', 0n, 100n, true], 'the holder is reported');
  assert.equal(t.lock(F, B, true, 100n, 200n), 'granted', 'touching is not overlapping');
  assert.equal(t.lock(F, A2, false, 300n, 400n), 'granted');
  assert.equal(t.lock(F, B, false, 350n, 360n), 'granted', 'shared locks share');
  assert.ok(t.test(F, B, true, 390n, 395n), 'but a write lock over a shared one of another owner conflicts');
  assert.equal(t.test(F, A, true, 0n, 100n), undefined, 'an owner never conflicts with itself');
  assert.ok(t.test(F, A2, true, 0n, 1n), 'another process on the same host is another owner');
  assert.equal(t.test('other file', B, true, 0n, END), undefined, 'files are separate');
});

test('nlm locks: a lock replaces, splits and merges its own owner\'s locks', () => {
  const t = new LockTable();
  t.lock(F, A, true, 0n, 100n);
  t.lock(F, A, false, 40n, 60n);
  assert.deepEqual(ranges(t), ['alpha/1 W 0-40', 'alpha/1 R 40-60', 'alpha/1 W 60-100'], 'a shared lock inside a write lock converts that part');
  t.lock(F, A, true, 40n, 60n);
  assert.deepEqual(ranges(t), ['alpha/1 W 0-100'], 'and converting back merges the three');
  t.lock(F, A, true, 100n, 150n);
  t.lock(F, A, true, 200n, END);
  assert.deepEqual(ranges(t), ['alpha/1 W 0-150', 'alpha/1 W 200-END'], 'adjacent locks of one kind merge; a gap stays');
  t.unlock(F, A, 50n, 250n);
  assert.deepEqual(ranges(t), ['alpha/1 W 0-50', 'alpha/1 W 250-END'], 'an unlock cuts through the middle');
  t.unlock(F, B, 0n, END);
  assert.equal(t.size, 2, 'another owner\'s unlock touches nothing');
  t.unlock(F, A, 0n, END);
  assert.equal(t.size, 0);
  assert.deepEqual(ranges(t), []);
});

test('nlm locks: ranges, FBIG, dropping a host and the bound', () => {
  assert.deepEqual(rangeOf(10n, 0n), { start: 10n, end: END }, 'l_len 0: to the end');
  assert.deepEqual(rangeOf(END - 1n, 1n), { start: END - 1n, end: END }, 'the last byte');
  assert.equal(rangeOf(END - 1n, 2n), undefined, 'past 2^64: FBIG');
  assert.equal(lenOf({ start: 5n, end: END }), 0n);
  assert.equal(lenOf({ start: 5n, end: 7n }), 2n);

  const t = new LockTable();
  t.lock(F, A, true, 0n, 10n);
  t.lock('g', A2, false, 0n, 10n);
  t.lock(F, B, true, 20n, 30n);
  assert.equal(t.dropHost('alpha'), 2, 'both processes of the host');
  assert.deepEqual(ranges(t), ['beta/1 W 20-30']);
  assert.equal(t.held('g').length, 0);

  const big = new LockTable(100);
  for (let i = 0; i < 99; i++) assert.equal(big.lock(F, A, true, BigInt(i) * 2n, BigInt(i) * 2n + 1n), 'granted');
  assert.equal(big.size, 99);
  assert.equal(big.lock(F, A, true, 1n << 40n, (1n << 40n) + 1n), 'full', 'a lock that could split another is refused at the bound');
  big.unlock(F, A, 0n, 3n);
  assert.equal(big.size, 97);
  assert.equal(big.lock(F, B, false, 0n, 3n), 'granted', 'room again');
  big.dropHost('alpha');
  assert.equal(big.size, 1);

  // Many record locks of one process on one file, then every other one released.
  const many = new LockTable();
  for (let i = 0n; i < 2000n; i++) many.lock(F, A, true, i * 10n, i * 10n + 5n);
  for (let i = 0n; i < 2000n; i += 2n) many.unlock(F, A, i * 10n, i * 10n + 5n);
  assert.equal(many.size, 1000);
  assert.ok(many.test(F, B, false, 12n, 13n), 'the odd ones are still held');
  assert.equal(many.test(F, B, false, 0n, 5n), undefined, 'the even ones are gone');
  assert.deepEqual(many.held(F).slice(0, 2).map((h) => h.start), [10n, 30n], 'in order');
});
