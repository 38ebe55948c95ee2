import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/log.js';
import { LocalPoolDriver } from '../../src/pool/local/driver.js';
import type { Driver, DriverResult } from '../../src/reconcile/driver.js';
import { Reconciler } from '../../src/reconcile/reconciler.js';
import { DEFAULT_SMB, initialState, type State } from '../../src/state/schema.js';
import { StateStore } from '../../src/state/store.js';
import { SystemDriver } from '../../src/system/driver.js';
import { Systemd } from '../../src/system/sd-notify.js';

const log = createLogger('silent');

async function setup(t: { after: (fn: () => unknown) => void }, drivers: Driver[]) {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-rec-'));
  let stop: (() => Promise<void>) | undefined;
  // One hook, in this order: a reconciler retry still running would create
  // directories under `dir` while rm walks it (ENOTEMPTY).
  t.after(async () => {
    await stop?.();
    await rm(dir, { recursive: true, force: true });
  });
  const store = await StateStore.open(join(dir, 'state'), { initial: () => initialState(dir) });
  const rec = new Reconciler({ drivers, current: () => ({ state: store.state, revision: store.revision }), log, backoff: { initialMs: 20, maxMs: 80 } });
  stop = () => rec.stop();
  store.on('commit', () => void rec.trigger());
  return { dir, store, rec };
}

const addShare = (name: string, extra: Partial<State['shares'][number]> = {}) => (s: State) =>
  void s.shares.push({ name, pool: 'local', path: name, nfs: { enabled: false, clients: [] }, smb: { ...DEFAULT_SMB }, ...extra });

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

test('pool/local creates the pool, volume and share directories and reports capacity', async (t) => {
  const local = new LocalPoolDriver();
  const { dir, store, rec } = await setup(t, [local]);
  await rec.trigger();
  assert.ok((await stat(join(dir, 'pools/local'))).isDirectory());
  await store.update('t', 'v', (s) => void s.volumes.push({ id: 'vol1', pool: 'local' }));
  await store.update('t', 'share', addShare('docs', { volume: 'vol1', path: 'team/docs' }));
  await store.update('t', 'share', addShare('plain'));
  await rec.trigger();
  assert.ok((await stat(join(dir, 'pools/local/vol1/team/docs'))).isDirectory());
  assert.ok((await stat(join(dir, 'pools/local/plain'))).isDirectory());
  assert.equal(rec.status().appliedRevision, store.revision);
  assert.deepEqual(rec.status().problems, []);
  const cap = await local.capacity(store.state, 'local');
  assert.ok(cap && cap.totalBytes > 0 && cap.freeBytes <= cap.totalBytes);
  assert.equal(await local.capacity(store.state, 'nope'), undefined);
});

test('per-object problems are recorded with the reason, retried with backoff, and cleared when fixed', async (t) => {
  const local = new LocalPoolDriver();
  const { dir, store, rec } = await setup(t, [local]);
  await rec.trigger();
  // A file where the share directory should be: mkdir fails for that share only.
  await writeFile(join(dir, 'pools/local/blocked'), 'x');
  await store.update('t', 'share', addShare('blocked', { path: 'blocked/inner' }));
  await store.update('t', 'share', addShare('fine'));
  await rec.trigger();
  const problems = rec.problemsFor('share', 'blocked');
  assert.equal(problems.length, 1);
  assert.match(problems[0]!.message, /ENOTDIR/);
  assert.equal(problems[0]!.driver, 'pool/local');
  assert.deepEqual(rec.problemsFor('share', 'fine'), []);
  assert.ok((await stat(join(dir, 'pools/local/fine'))).isDirectory(), 'one bad share does not stop the others');
  assert.equal(rec.status().phase, 'waiting-retry');
  assert.ok(rec.status().nextRetryAt);
  // Fix the cause: a retry (no new change) clears the problem.
  await rm(join(dir, 'pools/local/blocked'));
  await until(() => rec.problemsFor('share', 'blocked').length === 0 && rec.status().phase === 'idle');
  assert.ok((await stat(join(dir, 'pools/local/blocked/inner'))).isDirectory());
});

test('a driver that throws is a problem of that driver; the state is untouched and later drivers still run', async (t) => {
  let fail = true;
  let applied = 0;
  const flaky: Driver = {
    name: 'flaky',
    async apply(): Promise<DriverResult> {
      if (fail) throw new Error('component down');
      return { problems: [] };
    },
  };
  const after: Driver = {
    name: 'after',
    async apply(state): Promise<DriverResult> {
      applied = state.shares.length;
      return { problems: [] };
    },
  };
  const { store, rec } = await setup(t, [flaky, after]);
  await store.update('t', 'share', addShare('a'));
  await rec.trigger();
  const st = rec.status();
  assert.equal(st.drivers[0]!.ok, false);
  assert.equal(st.drivers[0]!.error, 'component down');
  assert.deepEqual(st.problems.map((p) => [p.driver, p.objectKind, p.objectId]), [['flaky', 'driver', 'flaky']]);
  assert.equal(applied, 1, 'the driver after the failing one ran');
  assert.equal(store.state.shares.length, 1, 'desired state kept');
  const attemptsBefore = st.attempt;
  await until(() => rec.status().attempt > attemptsBefore);
  fail = false;
  await until(() => rec.status().problems.length === 0);
  assert.equal(rec.status().drivers[0]!.ok, true);
});

test('changes during a pass coalesce into one more pass that sees the newest state', async (t) => {
  const seen: number[] = [];
  let release!: () => void;
  let gate: Promise<void> | undefined = new Promise((r) => (release = r));
  const slow: Driver = {
    name: 'slow',
    async apply(state) {
      seen.push(state.shares.length);
      if (gate) {
        const g = gate;
        gate = undefined;
        await g;
      }
      return { problems: [] };
    },
  };
  const { store, rec } = await setup(t, [slow]);
  const first = rec.trigger();
  for (let i = 0; i < 5; i++) await store.update('t', `s${i}`, addShare(`s${i}`));
  release();
  await first;
  await rec.trigger();
  assert.equal(seen[0], 0);
  assert.equal(seen.at(-1), 5);
  assert.ok(seen.length <= 4, `passes coalesced (${seen.length} passes for 5 changes)`);
});

test('a driver that hangs is cut off by the timeout and reported', async (t) => {
  const hang: Driver = { name: 'hang', apply: (_s, signal) => new Promise((_r, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))) };
  const dir = await mkdtemp(join(tmpdir(), 'cairn-rec-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = await StateStore.open(join(dir, 'state'), { initial: () => initialState(dir) });
  const rec = new Reconciler({ drivers: [hang], current: () => ({ state: store.state, revision: store.revision }), log, driverTimeoutMs: 50, backoff: { initialMs: 10_000, maxMs: 10_000 } });
  t.after(() => rec.stop());
  await rec.trigger();
  assert.match(rec.status().drivers[0]!.error ?? '', /timed out after 50 ms/);
});

test('the system driver sends a STATUS summary naming what is wrong', async (t) => {
  const sent: string[] = [];
  const systemd = new Systemd(log, (s) => (sent.push(s), true));
  let rec!: Reconciler;
  const broken: Driver = { name: 'smb', apply: async () => ({ problems: [{ objectKind: 'share', objectId: 'docs', message: 'testparm refused it' }] }) };
  const system = new SystemDriver(systemd, () => rec.status(), () => 'serving API on :1; ');
  const ctx = await setup(t, [broken, system]);
  rec = ctx.rec;
  await ctx.store.update('t', 'share', addShare('docs', { smb: { ...DEFAULT_SMB, enabled: true } }));
  await rec.trigger();
  const last = sent.at(-1)!;
  assert.match(last, /^STATUS=serving API on :1; 1 pool\(s\), 1 share\(s\) \(0 NFS, 1 SMB\); 1 problem\(s\): share docs: testparm refused it$/);
});

test('pool/local reports an unusable pool directory instead of throwing', { skip: process.getuid?.() === 0 ? 'root ignores permissions' : false }, async (t) => {
  const { dir, rec } = await setup(t, [new LocalPoolDriver()]);
  await mkdir(join(dir, 'pools'));
  await chmod(join(dir, 'pools'), 0o500);
  await rec.trigger();
  assert.match(rec.problemsFor('pool', 'local')[0]?.message ?? '', /EACCES/);
});
