/** pool/gluster/georep.ts: status parsing, the console summary, argument checks, failover steps, the deletion pass's output, the stall watchdog. */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { GlusterCli } from '../../src/pool/gluster/cli.js';
import { GeoRepFailover, GeoRepWatchdog, STALL_RESTART_MS, GlusterGeoRep, WATCHDOG_BOUNDS, newestChangelogOnDisk, pairKey, parseDeletions, parseGeoRepStatus, stallReason, summarize } from '../../src/pool/gluster/georep.js';
import { parseCliOutput } from '../../src/pool/gluster/xml.js';

const fixture = (name: string) => readFile(fileURLToPath(new URL(`../../../test/cluster/fixtures/${name}`, import.meta.url)), 'utf8');

test('geo-replication status: one row per primary brick, N/A as null', async () => {
  const [s, ...rest] = parseGeoRepStatus(parseCliOutput(await fixture('georep-status.xml')));
  assert.equal(rest.length, 0);
  assert.equal(s!.primaryVolume, 'gv0');
  assert.match(s!.secondary, /ssh:\/\/node4::backup/);
  assert.deepEqual(s!.pairs.map((p) => p.status), ['Active', 'Passive', 'Offline']);
  const active = s!.pairs[0]!;
  assert.deepEqual(
    { node: active.primaryNode, brick: active.primaryBrick, sec: active.secondaryNode, crawl: active.crawlStatus, entry: active.entry, data: active.data, meta: active.meta, synced: active.lastSynced, cp: active.checkpointCompleted },
    { node: 'node1', brick: '/bricks/gv0', sec: 'node4', crawl: 'Changelog Crawl', entry: 3, data: 12, meta: 0, synced: '2026-11-28T21:30:05', cp: false },
  );
  assert.equal(s!.pairs[1]!.lastSynced, null);
  assert.equal(s!.pairs[2]!.secondaryNode, null);
  assert.equal(s!.pairs[2]!.entry, null);
});

test('geo-replication status captured in the lab (gluster 10.3): Active on one replica, Passive on the others', async () => {
  const [s] = parseGeoRepStatus(parseCliOutput(await fixture('georep-status-lab.xml')));
  assert.equal(s!.primaryVolume, 'gv0');
  assert.deepEqual(s!.pairs.map((p) => [p.primaryNode, p.status]), [['node1', 'Active'], ['node3', 'Passive'], ['node2', 'Passive']]);
  const a = s!.pairs[0]!;
  assert.deepEqual([a.secondary, a.secondaryNode, a.crawlStatus, a.entry, a.data, a.meta, a.failures, a.lastSynced], ['ssh://node4::backup', null, 'Changelog Crawl', 0, 0, 0, 0, '2026-11-28T21:41:18']);
  assert.deepEqual(summarize(s!.pairs, '2026-11-28T21:41:30'), { state: 'active', lastSynced: '2026-11-28T21:41:18', lagSeconds: 12, pending: 0, failures: 0, upToDate: true, checkpoint: null });
});

test('geo-replication summary: state, lag from the oldest active worker, pending', async () => {
  const [s] = parseGeoRepStatus(parseCliOutput(await fixture('georep-status.xml')));
  assert.deepEqual(summarize(s!.pairs, '2026-11-28T21:31:15'), { state: 'active', lastSynced: '2026-11-28T21:30:05', lagSeconds: 70, pending: 15, failures: 0, upToDate: false, checkpoint: null });
  const faulty = s!.pairs.map((p, i) => (i === 1 ? { ...p, status: 'Faulty' } : p));
  assert.equal(summarize(faulty, '2026-11-28T21:31:15').state, 'faulty');
  assert.deepEqual(summarize([], '2026-11-28T21:31:15'), { state: 'stopped', lastSynced: null, lagSeconds: null, pending: 0, failures: 0, upToDate: false, checkpoint: null });
  const fresh = s!.pairs.map((p) => ({ ...p, status: 'Initializing...', lastSynced: null }));
  assert.deepEqual(summarize(fresh, '2026-11-28T21:31:15').lagSeconds, null);
});

test('geo-replication commands refuse bad names before running gluster', async () => {
  // A CLI that cannot run: argument checks must fail first, with INVALID_ARGUMENT.
  const geo = new GlusterGeoRep(new GlusterCli({ command: ['/nonexistent/gluster'] }));
  await assert.rejects(geo.create({ primary: 'gv0', secondaryHost: '-oProxyCommand=x', secondaryVolume: 'b' }), { code: 'INVALID_ARGUMENT' });
  await assert.rejects(geo.start({ primary: 'gv 0', secondaryHost: 'node4', secondaryVolume: 'b' }), { code: 'INVALID_ARGUMENT' });
  await assert.rejects(geo.create({ primary: 'gv0', secondaryHost: 'node4', secondaryVolume: 'b' }, { sshPort: 70000 }), { code: 'INVALID_ARGUMENT' });
  await assert.rejects(geo.config({ primary: 'gv0', secondaryHost: 'node4', secondaryVolume: 'b' }, '--x', '1'), { code: 'INVALID_ARGUMENT' });
  await assert.rejects(geo.status('gv0'), { code: 'GLUSTER_NOT_INSTALLED' });
});

test('geo-replication summary: in sync only when active, in changelog crawl, nothing pending; checkpoint reached by every active worker', async () => {
  const [s] = parseGeoRepStatus(parseCliOutput(await fixture('georep-status-lab.xml')));
  const pairs = s!.pairs;
  const cp = pairs.map((p) => (p.status === 'Active' ? { ...p, checkpointTime: '2026-11-28T21:41:20', checkpointCompleted: false } : p));
  assert.deepEqual(summarize(cp, '2026-11-28T21:41:30').checkpoint, { time: '2026-11-28T21:41:20', completed: false });
  const done = cp.map((p) => (p.status === 'Active' ? { ...p, checkpointCompleted: true } : p));
  assert.deepEqual(summarize(done, '2026-11-28T21:41:30').checkpoint, { time: '2026-11-28T21:41:20', completed: true });
  const hybrid = pairs.map((p) => (p.status === 'Active' ? { ...p, crawlStatus: 'Hybrid Crawl' } : p));
  assert.equal(summarize(hybrid, '2026-11-28T21:41:30').upToDate, false);
  const failing = pairs.map((p) => (p.status === 'Active' ? { ...p, failures: 2 } : p));
  assert.equal(summarize(failing, '2026-11-28T21:41:30').upToDate, false);
  const paused = pairs.map((p) => ({ ...p, status: 'Paused' }));
  assert.deepEqual([summarize(paused, '2026-11-28T21:41:30').state, summarize(paused, '2026-11-28T21:41:30').upToDate], ['paused', false]);
  // gsyncd shows nothing pending while it cannot reach the secondary: a
  // changelog on the active worker's brick newer than its last sync says
  // otherwise. Synced up to it (stime = rollover - 1), it is up to date.
  const active = pairs.find((p) => p.status === 'Active' && p.lastSynced)!;
  assert.equal(summarize(pairs, '2026-11-28T21:41:30').upToDate, true, 'the fixture is up to date');
  const syncedAt = Date.parse(`${active.lastSynced!}Z`) / 1000 + new Date(Date.parse(`${active.lastSynced!}Z`)).getTimezoneOffset() * 60;
  const key = pairKey(active);
  assert.equal(summarize(pairs, '2026-11-28T21:41:30', new Map([[key, syncedAt + 15]])).upToDate, false, 'a changelog rolled after the last sync');
  assert.equal(summarize(pairs, '2026-11-28T21:41:30', new Map([[key, syncedAt + 1]])).upToDate, true, 'synced up to the newest changelog');
  assert.equal(summarize(pairs, '2026-11-28T21:41:30', new Map([[key, null]])).upToDate, true, 'no changelog on the brick');
});

/** A fake command layer whose status the test scripts, with a clock the test moves. */
function failoverRig(pairsAt: (ms: number) => Array<Partial<import('../../src/pool/gluster/georep.js').GeoRepPair>>) {
  const t0 = new Date(2026, 10, 28, 22, 0, 0).getTime();
  const clock = { ms: t0 };
  const calls: string[] = [];
  const set: string[] = [];
  const base = { primaryNode: 'node1', primaryBrick: '/b', secondaryUser: 'root', secondary: 'ssh://node4::backup', secondaryNode: 'node4', crawlStatus: 'Changelog Crawl', entry: 0, data: 0, meta: 0, failures: 0, lastSynced: '2026-11-28T21:59:00', checkpointTime: null, checkpointCompleted: false, status: 'Active' };
  const geo = {
    status: async () => [{ primaryVolume: 'gv0', secondary: 'x', pairs: pairsAt(clock.ms - t0).map((p) => ({ ...base, ...p })) }],
    checkpoint: async () => void calls.push('checkpoint'),
    stop: async (_t: unknown, o?: { force?: boolean }) => void calls.push(o?.force ? 'stop force' : 'stop'),
    start: async (_t: unknown, o?: { force?: boolean }) => void calls.push(o?.force ? 'start force' : 'start'),
    delete: async () => void calls.push('delete'),
  } as unknown as GlusterGeoRep;
  const f = new GeoRepFailover(
    geo,
    { set: async (v, k, val) => void set.push(`${v} ${k}=${val}`) },
    async (v) => void calls.push(`touch ${v}`),
    async (t, keep) => (calls.push(`mirror ${t.secondaryHost}::${t.secondaryVolume} onto ${t.primary} keep ${keep}`), { deleted: ['d/f2'], keptIn: keep }),
  );
  const opts = { pollMs: 1, now: () => new Date((clock.ms += 5000)), timeoutMs: 120_000 };
  return { f, calls, set, opts, clock, t0 };
}

const T = { primary: 'gv0', secondaryHost: 'node4', secondaryVolume: 'backup' };

test('failover drain: checkpoint, touch of the root, wait until the checkpoint completes, then stop', async () => {
  const r = failoverRig((ms) => (ms < 15_000 ? [{ data: 3 }] : [{ checkpointTime: '2026-11-28T22:00:05', checkpointCompleted: true }]));
  const s = await r.f.drain(T, r.opts);
  assert.deepEqual([s.checkpoint?.completed, s.restarted], [true, false]);
  assert.deepEqual(r.calls, ['checkpoint', 'touch gv0', 'stop']);
});

test('failover drain: "nothing pending" is not caught up; a session idle past the stall limit is restarted once', async () => {
  // Idle without reaching the checkpoint (the lab's stalled worker), then the restarted worker reaches it.
  const r = failoverRig((ms) => (ms < STALL_RESTART_MS + 20_000 ? [{}] : [{ checkpointTime: '2026-11-28T22:00:05', checkpointCompleted: true }]));
  const s = await r.f.drain(T, r.opts);
  assert.equal(s.restarted, true);
  assert.deepEqual(r.calls, ['checkpoint', 'touch gv0', 'stop force', 'start', 'touch gv0', 'stop']);
  // Busy (pending work) is not a stall: no restart, and the wait times out rather than claiming success.
  const busy = failoverRig(() => [{ data: 2 }]);
  await assert.rejects(busy.f.drain(T, { ...busy.opts, timeoutMs: 120_000 }), { code: 'GLUSTER_TIMEOUT' });
  assert.deepEqual(busy.calls, ['checkpoint', 'touch gv0'], 'never restarted, never stopped');
});

test('failover drain refuses a faulty session; an idle session that never reaches the checkpoint times out after one restart', async () => {
  const faulty = failoverRig(() => [{ status: 'Faulty' }]);
  await assert.rejects(faulty.f.drain(T, faulty.opts), /faulty/);
  const stuck = failoverRig(() => [{}]);
  await assert.rejects(stuck.f.drain(T, { ...stuck.opts, timeoutMs: 200_000 }), { code: 'GLUSTER_TIMEOUT' });
  assert.deepEqual(stuck.calls, ['checkpoint', 'touch gv0', 'stop force', 'start', 'touch gv0'], 'one restart, never stopped at the end');
});

test('promote, finish-failback and resume set read-only as the roles change', async () => {
  const r = failoverRig(() => [{ secondary: 'ssh://node1::gv0', checkpointTime: '2026-11-28T22:00:05', checkpointCompleted: true }]);
  await r.f.promote('backup');
  assert.deepEqual(r.set, ['backup features.read-only=off', 'backup geo-replication.indexing=on', 'backup changelog.changelog=on']);
  await r.f.finishFailback({ primary: 'backup', secondaryHost: 'node1', secondaryVolume: 'gv0' }, r.opts);
  assert.deepEqual(r.calls, ['checkpoint', 'touch backup', 'stop', 'delete']);
  assert.equal(r.set.at(-1), 'backup features.read-only=on');
  // Resume: writable first (the pass deletes through a mount), then the deletion pass, then the original session.
  const pass = await r.f.resume(T, { keepDir: '/keep' });
  assert.deepEqual(pass, { deleted: ['d/f2'], keptIn: '/keep' });
  assert.deepEqual([r.set.at(-1), ...r.calls.slice(-2)], ['gv0 features.read-only=off', 'mirror node4::backup onto gv0 keep /keep', 'start force']);
  assert.equal(await r.f.resume(T), null, 'no keep directory: no pass');
  assert.equal(r.calls.at(-1), 'start force');
  await assert.rejects(r.f.promote('bad name'), { code: 'INVALID_ARGUMENT' });
});

test('geo-replication status without any session: glusterd 10.3 says "geo-replication command failed" (exit 1); that is an empty list', async () => {
  const say = (text: string, code: number) => new GlusterGeoRep(new GlusterCli({ command: ['/bin/sh', '-c', `echo "${text}"; exit ${code}`, 'gluster'] }));
  assert.deepEqual(await say('geo-replication command failed', 1).status(), []);
  assert.deepEqual(await say('geo-replication command failed', 1).status('gv0'), []);
  // Any other refusal stays an error.
  await assert.rejects(say('Volume gv0 does not exist', 1).status('gv0'), { code: 'GLUSTER_FAILED' });
});

test("failback deletion pass: rsync's itemized *deleting lines are the deleted paths", () => {
  const out = ['*deleting   d/f2', '*deleting   old/', '*deleting   old/x y', '.d..t...... d/', ''].join('\n');
  assert.deepEqual(parseDeletions(out), ['d/f2', 'old/', 'old/x y']);
  assert.deepEqual(parseDeletions(''), []);
});

test('watchdog: a worker Initializing or Faulty past the bound, or Active in Changelog Crawl with an unsynced changelog past the bound, is stuck', async () => {
  const b = WATCHDOG_BOUNDS;
  const pair = { primaryNode: 'node1', primaryBrick: '/b', secondaryUser: 'root', secondary: 'ssh://node4::backup', secondaryNode: 'node4', crawlStatus: 'Changelog Crawl', entry: 0, data: 0, meta: 0, failures: 0, lastSynced: null as string | null, checkpointTime: null, checkpointCompleted: false, status: 'Active' };
  // Local time strings, as gsyncd prints them: the changelog times are epoch seconds.
  const local = (ms: number) => {
    const d = new Date(ms);
    const p = (n: number) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  };
  const now = Date.parse('2026-11-29T02:40:00Z');
  const since = (status: string, ago: number) => new Map([['node1:/b', { status, at: now - ago }]]);
  const rolled = (secAgo: number) => new Map([['node1:/b', Math.floor((now - secAgo * 1000) / 1000)]]);
  const none = new Map<string, number | null>();
  assert.match(stallReason([{ ...pair, status: 'Initializing...' }], since('Initializing...', b.stuckMs + 1000), none, now, b)!, /Initializing\.\.\. for 181 s/);
  assert.equal(stallReason([{ ...pair, status: 'Initializing...' }], since('Initializing...', b.stuckMs - 1000), none, now, b), null);
  assert.match(stallReason([{ ...pair, status: 'Faulty' }], since('Faulty', b.stuckMs + 1000), none, now, b)!, /Faulty/);
  // A start that did not take: still Created past its own, shorter bound (30 s).
  assert.match(stallReason([{ ...pair, status: 'Created' }], since('Created', 31_000), none, now, b)!, /Created for 31 s/);
  assert.equal(stallReason([{ ...pair, status: 'Created' }], since('Created', 29_000), none, now, b), null);
  assert.match(stallReason([{ ...pair, status: 'Created' }], since('Created', 21_000), none, now, { ...b, createdMs: undefined, stuckMs: 20_000 })!, /Created for 21 s/);
  // Stalled: a changelog rolled 90 s ago, last synced 2 min ago, nothing pending.
  const stalled = { ...pair, lastSynced: local(now - 120_000) };
  assert.match(stallReason([stalled], since('Active', 200_000), rolled(90), now, b)!, /not synced .* after 90 s/);
  // Not yet past the bound; already synced (stime = rollover - 1); busy; an idle brick without changelogs; a history crawl.
  assert.equal(stallReason([stalled], since('Active', 200_000), rolled(30), now, b), null);
  assert.equal(stallReason([{ ...pair, lastSynced: local(now - 91_000) }], since('Active', 200_000), rolled(90), now, b), null);
  assert.equal(stallReason([{ ...stalled, data: 2 }], since('Active', 200_000), rolled(90), now, b), null);
  assert.equal(stallReason([stalled], since('Active', 200_000), new Map([['node1:/b', null]]), now, b), null);
  assert.equal(stallReason([{ ...stalled, crawlStatus: 'History Crawl' }], since('Active', 200_000), rolled(90), now, b), null);
});

test('watchdog: restarts a stalled session once (stop force, start), logged, then leaves it alone for the backoff', async () => {
  const calls: string[] = [];
  const warned: string[] = [];
  let now = Date.parse('2026-11-29T02:40:00Z');
  const pair = { primaryNode: 'node1', primaryBrick: '/b', secondaryUser: 'root', secondary: 'ssh://node4::backup', secondaryNode: 'node4', crawlStatus: 'Changelog Crawl', entry: 0, data: 0, meta: 0, failures: 0, lastSynced: '2000-01-01T00:00:00', checkpointTime: null, checkpointCompleted: false, status: 'Active' };
  const other = { ...pair, primaryNode: 'node2', primaryBrick: '/c' };
  const geo = {
    status: async () => [{ primaryVolume: 'gv0', secondary: 'x', pairs: [pair, other] }],
    stop: async (t: { primary: string }, o?: { force?: boolean }) => void calls.push(`stop ${t.primary}${o?.force ? ' force' : ''}`),
    start: async (t: { primary: string }) => void calls.push(`start ${t.primary}`),
  } as unknown as GlusterGeoRep;
  const bricksRead: string[] = [];
  const w = new GeoRepWatchdog(geo, {
    isLocal: (n) => n === 'node1',
    log: { warn: (o, msg) => void warned.push(`${msg} ${JSON.stringify(o)}`) },
    newestChangelog: async (brick) => (bricksRead.push(brick), Math.floor((now - 90_000) / 1000)),
    now: () => now,
  });
  assert.deepEqual(await w.check(), ['gv0 → node4::backup']);
  assert.deepEqual(calls, ['stop gv0 force', 'start gv0']);
  assert.deepEqual(bricksRead, ['/b'], "only this appliance's bricks are read");
  assert.match(warned[0]!, /restarting a stuck session .*node1:\/b Active in Changelog Crawl/);
  assert.equal(w.restarts.length, 1);
  now += 60_000;
  assert.deepEqual(await w.check(), [], 'within the backoff: left alone');
  now += WATCHDOG_BOUNDS.backoffMs;
  assert.deepEqual(await w.check(), ['gv0 → node4::backup'], 'past the backoff: again');
});

test('watchdog: timed checks ask glusterd only while there is a Gluster pool to watch', async () => {
  let asked = 0;
  let pools = false;
  const geo = { status: async () => (asked++, []) } as unknown as GlusterGeoRep;
  const warned: string[] = [];
  const w = new GeoRepWatchdog(geo, { isLocal: () => true, log: { warn: (_o, msg) => void warned.push(msg) }, active: () => pools });
  w.start(5);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(asked, 0, 'no Gluster pool: glusterd is not asked');
  pools = true;
  await new Promise((r) => setTimeout(r, 60));
  await w.stop();
  assert.ok(asked > 0, 'a Gluster pool: checked');
  assert.deepEqual(warned, []);
});

test("watchdog: a brick's newest changelog is found in Gluster 10's changelogs/YYYY/MM/DD, the open CHANGELOG and HTIME files ignored", async (t) => {
  const brick = await mkdtemp(join(tmpdir(), 'cairn-changelogs-'));
  t.after(() => rm(brick, { recursive: true, force: true }));
  const cl = join(brick, '.glusterfs', 'changelogs');
  assert.equal(await newestChangelogOnDisk(brick), null, 'no changelogs directory');
  for (const d of ['2026/11/28', '2026/11/29', '2026/9/30', 'htime', 'csnap']) await mkdir(join(cl, d), { recursive: true });
  for (const f of ['CHANGELOG', 'htime/HTIME.1795919772', '2026/11/28/CHANGELOG.1795834800', '2026/9/30/CHANGELOG.1790000000']) await writeFile(join(cl, f), '');
  assert.equal(await newestChangelogOnDisk(brick), null, 'the newest day has none yet');
  for (const f of ['2026/11/29/CHANGELOG.1795921200', '2026/11/29/CHANGELOG.1795921215']) await writeFile(join(cl, f), '');
  assert.equal(await newestChangelogOnDisk(brick), 1795921215);
});
