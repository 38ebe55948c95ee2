import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FileGate } from '../../../src/nfs/backend/gfapi/file-gate.js';

const tick = () => new Promise((r) => setImmediate(r));

/** A call that runs until released, noting when it starts and ends. */
function call(gate: FileGate, key: string, exclusive: boolean, name: string, log: string[]) {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const done = gate.run(key, exclusive, async () => {
    log.push(`+${name}`);
    await held;
    log.push(`-${name}`);
    return name;
  });
  return { release, done };
}

test('file gate: shared calls run together, an exclusive one alone, in arrival order', async () => {
  const gate = new FileGate();
  const log: string[] = [];
  const w1 = call(gate, 'f', false, 'w1', log);
  const w2 = call(gate, 'f', false, 'w2', log);
  const t1 = call(gate, 'f', true, 't1', log);
  const w3 = call(gate, 'f', false, 'w3', log); // behind t1: does not overtake it
  const other = call(gate, 'g', true, 'g1', log); // another file: not held up
  await tick();
  assert.deepEqual(log, ['+w1', '+w2', '+g1']);
  w1.release();
  await tick();
  assert.deepEqual(log.slice(3), ['-w1'], 'the truncate waits for every write before it');
  w2.release();
  await tick();
  assert.deepEqual(log.slice(4), ['-w2', '+t1']);
  t1.release();
  await tick();
  assert.deepEqual(log.slice(6), ['-t1', '+w3']);
  w3.release();
  other.release();
  assert.deepEqual(await Promise.all([w1.done, w2.done, t1.done, w3.done, other.done]), ['w1', 'w2', 't1', 'w3', 'g1']);
  assert.equal(gate.size, 0, 'nothing kept for idle files');
});

test('file gate: exclusive calls one at a time; a failure lets the next one go', async () => {
  const gate = new FileGate();
  let running = 0;
  let most = 0;
  const calls = Array.from({ length: 20 }, (_, i) =>
    gate.run('f', i % 4 !== 0, async () => {
      running++;
      most = Math.max(most, running);
      await tick();
      running--;
      if (i === 7) throw new Error('boom');
      return i;
    }),
  );
  const results = await Promise.allSettled(calls);
  assert.equal(results.filter((r) => r.status === 'rejected').length, 1);
  assert.equal(most, 1, 'never two at once');
  assert.equal(gate.size, 0);
});
