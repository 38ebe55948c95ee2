/** The plan for moving a leaving appliance's bricks (pure), and the run's bounded waits over a fake glusterd (the lab test runs one for real). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterError } from '../../src/cluster/errors.js';
import { planEvacuation, runEvacuation, type MemberRecord, type Move } from '../../src/cluster/evacuate.js';
import type { GlusterPeers } from '../../src/pool/gluster/peers.js';
import type { GlusterVolumes } from '../../src/pool/gluster/volumes.js';

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

// ---- the run: every wait bounded, a stuck step fails the task with what to do ----

interface FakeOpts {
  /** heal info answers, in order; the last one repeats. */
  heal?: Array<{ pending: number; unreachable?: number } | Error>;
  /** pending stays at 1 until an index heal is asked for this many times (the first is replaceBrick's). */
  healsNeeded?: number;
  replaceError?: Error & { code?: string };
  /** replace-brick takes effect although the CLI failed. */
  replaceLands?: boolean;
  detachError?: Error;
  /** `volume heal` says a self-heal daemon is not running until `volume start force`. */
  shdDownUntilStart?: boolean;
}

function fakeGluster(o: FakeOpts = {}) {
  const vols: Record<string, string[]> = { vm: ['a:/x/vm', 'b:/x/vm', 'c:/x/vm'] };
  const calls: string[] = [];
  let triggers = 0;
  let healIdx = 0;
  const volumes = {
    list: async () => Object.keys(vols),
    info: async (n: string) => ({ bricks: vols[n]!.map((name) => ({ name })), replicaCount: 3 }),
    replaceBrick: async (v: string, from: string, to: string) => {
      calls.push(`replace ${v} ${from} ${to}`);
      if (o.replaceError && !o.replaceLands) throw o.replaceError;
      vols[v] = vols[v]!.map((b) => (b === from ? to : b));
      if (o.replaceError) throw o.replaceError;
      triggers++;
    },
    triggerHeal: async () => {
      calls.push('trigger');
      if (o.shdDownUntilStart && !calls.includes('start force')) throw new Error('gluster volume heal vm: Staging failed on b. Error: Self-heal daemon is not running. Check self-heal daemon log file.');
      triggers++;
    },
    start: async (_v: string, opts: { force?: boolean }) => void calls.push(opts.force ? 'start force' : 'start'),
    heal: async () => {
      if (o.healsNeeded !== undefined) return { bricks: [], pending: triggers >= o.healsNeeded ? 0 : 1, unreachable: 0 };
      const list = o.heal ?? [{ pending: 0 }];
      const h = list[Math.min(healIdx++, list.length - 1)]!;
      if (h instanceof Error) throw h;
      return { bricks: h.unreachable ? [{ brick: 'd:/d/d/bricks/vm-0-from-c', connected: false, entries: null }] : [], pending: h.pending, unreachable: h.unreachable ?? 0 };
    },
  };
  const peers = {
    detach: async (h: string) => {
      calls.push(`detach ${h}`);
      if (o.detachError) throw o.detachError;
    },
  };
  return { volumes: volumes as unknown as GlusterVolumes, peers: peers as unknown as GlusterPeers, calls };
}

const move: Move = { kind: 'replace', volume: 'vm', from: 'c:/x/vm', to: 'd:/d/d/bricks/vm-0-from-c' };
const fast = { healPollMs: 2, healRetriggerMs: 20, healStallMs: 200, brickUnreachableMs: 100, recordTimeoutMs: 300, replaceSettleMs: 50 };
const progress = () => {
  const seen: string[] = [];
  return { seen, t: { progress: (_f: number, m?: string) => void (m && seen.push(m)), signal: new AbortController().signal } };
};

test('a pending count that does not fall makes the run ask for an index heal again, then it completes', async () => {
  const g = fakeGluster({ healsNeeded: 3 });
  const { seen, t } = progress();
  const recorded: Move[] = [];
  const out = await runEvacuation('c', [move], { ...g, ...fast, onMoved: async (m) => void recorded.push(m) }, t);
  assert.match(out, /c removed: 1 brick move/);
  assert.equal(g.calls.filter((c) => c === 'trigger').length, 2, 'asked twice more after the count stayed at 1');
  assert.equal(g.calls.at(-1), 'detach c');
  assert.deepEqual(recorded, [move]);
  assert.ok(seen.some((m) => /healing onto d:.*1 entry pending/.test(m)));
});

test('heal that never progresses fails the task, naming the count and what to look at; c is not detached', async () => {
  const g = fakeGluster({ heal: [{ pending: 4 }] });
  const { t } = progress();
  await assert.rejects(runEvacuation('c', [move], { ...g, ...fast }, t), /vm: heal onto d:\/d\/d\/bricks\/vm-0-from-c made no progress for \d+ s \(4 entries pending: gluster volume heal vm info lists them\); the brick was moved .* c was not removed: remove it again once heal is done/);
  assert.ok(!g.calls.includes('detach c'));
});

test('heal info failing every time is bounded too', async () => {
  const g = fakeGluster({ heal: [new Error('gluster volume heal vm info summary: no answer from glusterd within 20000 ms')] });
  const { t } = progress();
  await assert.rejects(runEvacuation('c', [move], { ...g, ...fast }, t), /made no progress .*heal info failed: .*no answer from glusterd/);
});

test('a new brick that never becomes reachable fails the task with its name', async () => {
  const g = fakeGluster({ heal: [{ pending: 0, unreachable: 1 }] });
  const { t } = progress();
  await assert.rejects(runEvacuation('c', [move], { ...g, ...fast, healStallMs: 10_000 }, t), /vm: brick\(s\) d:\/d\/d\/bricks\/vm-0-from-c not reachable for heal for \d+ s \(gluster volume status vm/);
});

test('a replace-brick whose CLI timed out but that took effect goes on; one that was refused fails at once', async () => {
  const timeout = Object.assign(new Error('gluster volume replace-brick …: no answer from glusterd within 20000 ms'), { code: 'GLUSTER_TIMEOUT' });
  const landed = fakeGluster({ replaceError: timeout, replaceLands: true });
  assert.match(await runEvacuation('c', [move], { ...landed, ...fast }, progress().t), /c removed/);
  assert.ok(landed.calls.includes('trigger'), 'the index heal replaceBrick did not get to is asked for');

  const refused = fakeGluster({ replaceError: Object.assign(new Error('Brick d:/… is already part of a volume'), { code: 'GLUSTER_FAILED' }) });
  const t0 = Date.now();
  await assert.rejects(runEvacuation('c', [move], { ...refused, ...fast, replaceSettleMs: 5000 }, progress().t), /vm: replace-brick c:\/x\/vm → d:.* failed: Brick d:\/… is already part of a volume; nothing was moved, c was not removed/);
  assert.ok(Date.now() - t0 < 2000, 'a refusal is not waited on');
});

test('recording the move is retried while the cluster state is briefly unwritable, and fails clearly when it stays so', async () => {
  let n = 0;
  const flaky = async () => {
    if (n++ < 2) throw new ClusterError('NO_QUORUM', 'cannot write the cluster state (ENOTCONN)');
  };
  assert.match(await runEvacuation('c', [move], { ...fakeGluster(), ...fast, recordTimeoutMs: 10_000, onMoved: flaky }, progress().t), /c removed/);
  assert.equal(n, 3);

  const g = fakeGluster();
  const never = async () => {
    throw new ClusterError('STATE_CONFLICT', 'the cluster state changed on b meanwhile');
  };
  await assert.rejects(runEvacuation('c', [move], { ...g, ...fast, onMoved: never }, progress().t), /vm: the brick move is done in Gluster but could not be recorded in the cluster state: the cluster state changed on b meanwhile; c was not removed/);
  assert.ok(!g.calls.includes('detach c'));
  await assert.rejects(runEvacuation('c', [move], { ...fakeGluster(), ...fast, onMoved: async () => assert.fail('schema says no') }, progress().t), /could not be recorded.*schema says no/, 'other errors are not retried');
});

test('a refused detach fails the task with glusterd\'s reason', async () => {
  const g = fakeGluster({ detachError: new Error('peer detach: c is not connected') });
  await assert.rejects(runEvacuation('c', [move], { ...g, ...fast }, progress().t), /every brick of c was moved, but gluster peer detach c failed: peer detach: c is not connected/);
});

test('the state volume is moved after the data volumes', () => {
  const plan = planEvacuation('c', [
    { name: 'cairn-state', bricks: ['a:/s', 'b:/s', 'c:/s'], replica: 3 },
    { name: 'vm', bricks: ['a:/x/vm', 'b:/x/vm', 'c:/x/vm'], replica: 3 },
  ], ['a', 'b', 'd'], records);
  assert.deepEqual(plan.moves.map((m) => m.volume), ['vm', 'cairn-state']);
});

test('a self-heal daemon that is not running (it crashed) is restarted once with volume start force; still stuck, the failure says so', async () => {
  const g = fakeGluster({ healsNeeded: 2, shdDownUntilStart: true });
  const { seen, t } = progress();
  assert.match(await runEvacuation('c', [move], { ...g, ...fast }, t), /c removed/);
  assert.equal(g.calls.filter((c) => c === 'start force').length, 1);
  assert.ok(seen.some((m) => /a self-heal daemon is not running .*volume start force/.test(m)));

  const stuck = fakeGluster({ heal: [{ pending: 2 }], shdDownUntilStart: true });
  stuck.calls.push('start force'); // restarting does not help here: the daemon stays down
  const fakeDown = { ...stuck.volumes, triggerHeal: async () => { throw new Error('Staging failed on b. Error: Self-heal daemon is not running.'); } } as unknown as GlusterVolumes;
  await assert.rejects(runEvacuation('c', [move], { ...stuck, volumes: fakeDown, ...fast }, progress().t), /made no progress .*2 entries pending.*a self-heal daemon is not running \(Staging failed on b.*\): gluster volume start vm force restarts it/);
});
