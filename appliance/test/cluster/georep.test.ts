/** pool/gluster/georep.ts: status parsing, the console summary, argument checks. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { GlusterCli } from '../../src/pool/gluster/cli.js';
import { GlusterGeoRep, parseGeoRepStatus, summarize } from '../../src/pool/gluster/georep.js';
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
});
