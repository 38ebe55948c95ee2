import { test } from 'node:test';
import assert from 'node:assert/strict';
import { brickPending, healOf, healSummary, refreshMs, timeLeft } from '../src/lib/heal.js';

const heal = {
  pending: 42,
  perBrick: [
    { brick: 'nas1:/b/1', pending: 0 },
    { brick: 'nas2:/b/2', pending: 42 },
  ],
  ratePerSec: 3.5,
  etaSeconds: 12 * 60,
  sampledAt: '2026-11-28T23:00:00.000Z',
};

test('heal: absent, null and malformed fields are null; a good one is kept', () => {
  assert.equal(healOf({ id: 'data' }), null);
  assert.equal(healOf({ id: 'data', heal: null }), null);
  assert.equal(healOf({ heal: { pending: 'many' } }), null);
  assert.equal(healOf({ heal: { pending: -1, perBrick: [] } }), null);
  assert.equal(healOf(null), null);
  assert.deepEqual(healOf({ heal }), heal);
  // Unknown rate/eta, perBrick entries of the wrong shape dropped.
  assert.deepEqual(healOf({ heal: { pending: 3, perBrick: [{ brick: 'a:/x', pending: 3 }, { brick: 5 }], ratePerSec: null, sampledAt: 'x' } }), {
    pending: 3,
    perBrick: [{ brick: 'a:/x', pending: 3 }],
    ratePerSec: null,
    etaSeconds: null,
    sampledAt: 'x',
  });
});

test('heal: time left in words', () => {
  assert.equal(timeLeft(null), 'time left not known yet');
  assert.equal(timeLeft(NaN), 'time left not known yet');
  assert.equal(timeLeft(0), 'less than a minute left');
  assert.equal(timeLeft(59), 'less than a minute left');
  assert.equal(timeLeft(60), 'about 1 min left');
  assert.equal(timeLeft(150), 'about 3 min left');
  assert.equal(timeLeft(59 * 60 + 29), 'about 59 min left');
  assert.equal(timeLeft(3600), 'about 1 h left');
  assert.equal(timeLeft(2 * 3600 + 10 * 60), 'about 2 h 10 min left');
  assert.equal(timeLeft(5 * 86400), 'about 5 days left');
});

test('heal: one sentence per pool, entries per brick', () => {
  assert.equal(healSummary(heal), '42 entries waiting to heal, about 12 min left (3.5 entries/s).');
  assert.equal(healSummary({ ...heal, pending: 1, ratePerSec: null, etaSeconds: null }), '1 entry waiting to heal, time left not known yet.');
  assert.equal(healSummary({ ...heal, ratePerSec: 120 }), '42 entries waiting to heal, about 12 min left (120 entries/s).');
  assert.equal(healSummary({ ...heal, pending: 0 }), 'Nothing waiting to heal.');
  const h = healOf({ heal })!;
  assert.equal(brickPending(h, 'nas2:/b/2'), 42);
  assert.equal(brickPending(h, 'nas1:/b/1'), 0);
  assert.equal(brickPending(h, 'nas3:/b/3'), undefined);
  assert.equal(brickPending(null, 'nas2:/b/2'), undefined);
});

test('heal: reloaded at most every 5 s while pending', () => {
  assert.ok(refreshMs([null, heal]) <= 5000);
  assert.ok(refreshMs([null, { ...heal, pending: 0 }]) > 5000);
  assert.ok(refreshMs([]) > 5000);
});
