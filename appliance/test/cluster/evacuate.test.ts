/** The plan for moving a leaving appliance's bricks (pure; the lab test runs one for real). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planEvacuation, type MemberRecord } from '../../src/cluster/evacuate.js';

const rec = (h: string): [string, MemberRecord] => [h, { hostname: h, stateBrick: `/d/${h}/state-brick`, brickDir: `/d/${h}/bricks`, at: '' }];
const records = new Map([rec('a'), rec('b'), rec('c'), rec('d')]);

test('replica 3 on a, b, c: c\'s bricks go to d, the state brick to d\'s state directory', () => {
  const plan = planEvacuation('c', [
    { name: 'vm', bricks: ['a:/x/vm', 'b:/x/vm', 'c:/x/vm'], replica: 3 },
    { name: 'cairn-state', bricks: ['a:/d/a/state-brick', 'b:/d/b/state-brick', 'c:/d/c/state-brick'], replica: 3 },
  ], ['a', 'b', 'd'], records);
  assert.deepEqual(plan.refusals, []);
  assert.deepEqual(plan.moves, [
    { kind: 'replace', volume: 'vm', from: 'c:/x/vm', to: 'd:/d/d/bricks/vm-0-from-c' },
    { kind: 'replace', volume: 'cairn-state', from: 'c:/d/c/state-brick', to: 'd:/d/d/state-brick' },
  ]);
});

test('no appliance outside the replica set: refused with the reason, nothing planned for data; the state volume shrinks', () => {
  const plan = planEvacuation('c', [
    { name: 'vm', bricks: ['a:/x/vm', 'b:/x/vm', 'c:/x/vm'], replica: 3 },
    { name: 'cairn-state', bricks: ['a:/s', 'b:/s', 'c:/s'], replica: 3 },
  ], ['a', 'b'], records);
  assert.equal(plan.refusals.length, 1);
  assert.match(plan.refusals[0]!, /volume vm: no other appliance can take brick c:\/x\/vm .*a, b.*leave 2 copies/);
  assert.deepEqual(plan.moves, [{ kind: 'reduce', volume: 'cairn-state', replica: 2, bricks: ['c:/s'] }]);
});

test('an appliance without a published brick directory is no target', () => {
  const plan = planEvacuation('c', [{ name: 'vm', bricks: ['a:/x', 'b:/x', 'c:/x'], replica: 3 }], ['a', 'b', 'e'], records);
  assert.equal(plan.refusals.length, 1);
});

test('distributed-replicated: a set with no target is removed whole (data migrates to the other set)', () => {
  const plan = planEvacuation('c', [{ name: 'big', bricks: ['a:/1', 'c:/1', 'a:/2', 'b:/2'], replica: 2 }], ['a', 'b'], new Map([rec('a')]));
  assert.deepEqual(plan.refusals, []);
  assert.deepEqual(plan.moves, [{ kind: 'remove-set', volume: 'big', bricks: ['a:/1', 'c:/1'] }]);
});

test('the least loaded appliance outside the set is chosen', () => {
  const plan = planEvacuation('a', [
    { name: 'v1', bricks: ['a:/1', 'b:/1'], replica: 2 },
    { name: 'v2', bricks: ['c:/2', 'b:/2'], replica: 2 },
  ], ['b', 'c', 'd'], records);
  assert.deepEqual(plan.moves.map((m) => m.kind === 'replace' && m.to), ['d:/d/d/bricks/v1-0-from-a']);
});
