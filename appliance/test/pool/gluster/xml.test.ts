// The XML parsers on output captured from Debian glusterfs 10.3 (fixtures/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  parseCliOutput,
  parseHealInfo,
  parseVolumeCreate,
  parseVolumeInfo,
  parseVolumeList,
  parseVolumeStatus,
  splitBrick,
} from '../../../src/pool/gluster/xml.js';
import { selfHealDaemonDown } from '../../../src/pool/gluster/driver.js';
import { GlusterError } from '../../../src/pool/gluster/errors.js';

// dist/test/pool/gluster → appliance/test/pool/gluster/fixtures
const FIXTURES = new URL('../../../../test/pool/gluster/fixtures/', import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, FIXTURES), 'utf8');
const ok = (name: string) => parseCliOutput(fixture(name), name);

test('opRet -1 becomes GLUSTER_FAILED with glusterd message and errno', () => {
  assert.throws(
    () => ok('create-refused.xml'),
    (e: unknown) =>
      e instanceof GlusterError &&
      e.code === 'GLUSTER_FAILED' &&
      e.opErrno === 30800 &&
      /Multiple bricks of a replicate volume/.test(e.message),
  );
  assert.throws(() => ok('set-bad.xml'), { code: 'GLUSTER_FAILED', message: /bogus\.option does not exist/ });
  assert.throws(() => ok('info-missing.xml'), { code: 'GLUSTER_FAILED', message: /does not exist/ });
});

test('non-XML output is GLUSTER_BAD_OUTPUT, not a crash', () => {
  assert.throws(() => parseCliOutput('Connection failed. Please check if gluster daemon is operational.\n'), {
    code: 'GLUSTER_BAD_OUTPUT',
  });
  assert.throws(() => parseCliOutput(''), { code: 'GLUSTER_BAD_OUTPUT' });
});

test('volume create / list / set', () => {
  assert.deepEqual(parseVolumeCreate(ok('create.xml')), { name: 'gv0', id: 'd22062fa-e899-4146-8dba-03b6c7bed056' });
  assert.deepEqual(parseVolumeList(ok('list.xml')), ['gv0']);
  ok('set.xml');
  ok('set-group.xml');
});

test('volume info: replica 3 with bricks and options', () => {
  const [v, ...rest] = parseVolumeInfo(ok('info.xml'));
  assert.equal(rest.length, 0);
  assert.ok(v);
  assert.equal(v.name, 'gv0');
  assert.equal(v.state, 'Started');
  assert.equal(v.type, 'Replicate');
  assert.equal(v.replicaCount, 3);
  assert.equal(v.arbiterCount, 0);
  assert.equal(v.brickCount, 3);
  assert.deepEqual(
    v.bricks.map((b) => [b.host, b.path, b.isArbiter]),
    [
      ['vm', '/srv/lab/b/1/brick', false],
      ['vm', '/srv/lab/b/2/brick', false],
      ['vm', '/srv/lab/b/3/brick', false],
    ],
  );
  assert.equal(v.bricks[0]!.name, 'vm:/srv/lab/b/1/brick');
  assert.equal(v.options['features.shard'], 'on');
  assert.equal(v.options['cluster.quorum-type'], 'auto');
});

test('volume status detail: capacity per brick, and a brick that is down', () => {
  const [s] = parseVolumeStatus(ok('status-detail.xml'));
  assert.ok(s);
  assert.equal(s.volume, 'gv0');
  assert.equal(s.bricks.length, 3);
  const b = s.bricks[0]!;
  assert.equal(b.brick, 'vm:/srv/lab/b/1/brick');
  assert.equal(b.online, true);
  assert.equal(b.port, 58450);
  assert.equal(b.pid, 18734);
  assert.equal(b.sizeTotal, 1006632960);
  assert.equal(b.sizeFree, 965525504);
  assert.equal(b.fsName, 'xfs');
  assert.equal(b.device, '/dev/loop0');

  const [d] = parseVolumeStatus(ok('status-detail-down.xml'));
  assert.deepEqual(
    d!.bricks.map((x) => x.online),
    [false, true, true],
  );
  assert.equal(d!.bricks[0]!.port, null);
});

test('volume status (no detail): daemons are told apart from bricks', () => {
  const [s] = parseVolumeStatus(ok('status.xml'));
  assert.equal(s!.bricks.length, 3);
  assert.ok(s!.bricks.every((b) => b.sizeTotal === undefined && b.pid !== null));
  assert.equal(s!.daemons.length, 1);
  assert.equal(s!.daemons[0]!.name, 'Self-heal Daemon');
  assert.equal(s!.daemons[0]!.online, true);
});

test('self-heal daemon down: this appliance\'s, of a replicated volume, unless turned off', () => {
  const [s] = parseVolumeStatus(ok('status.xml'));
  const up = s!.daemons;
  const down = up.map((d) => ({ ...d, online: false, pid: null }));
  const replicated = { replicaCount: 3, options: {} };
  assert.equal(selfHealDaemonDown(up, replicated), false);
  assert.equal(selfHealDaemonDown(down, replicated), true);
  assert.equal(selfHealDaemonDown(down.map((d) => ({ ...d, host: 'node2' })), replicated), false, "another appliance's daemon is its business");
  assert.equal(selfHealDaemonDown(down, { replicaCount: 1, options: {} }), false);
  for (const off of ['off', 'disable', 'FALSE', '0']) assert.equal(selfHealDaemonDown(down, { replicaCount: 3, options: { 'cluster.self-heal-daemon': off } }), false, off);
  assert.equal(selfHealDaemonDown(down, { replicaCount: 3, options: { 'cluster.self-heal-daemon': 'on' } }), true);
});

test('heal info and heal info summary, healthy and with a brick down', () => {
  const info = parseHealInfo(ok('heal-info.xml'));
  assert.deepEqual(
    info.map((h) => [h.path, h.connected, h.entries]),
    [
      ['/srv/lab/b/1/brick', true, 0],
      ['/srv/lab/b/2/brick', true, 0],
      ['/srv/lab/b/3/brick', true, 0],
    ],
  );
  const summary = parseHealInfo(ok('heal-summary.xml'));
  assert.equal(summary[1]!.healPending, 0);
  assert.equal(summary[1]!.splitBrain, 0);

  const down = parseHealInfo(ok('heal-info-down.xml'));
  assert.equal(down[0]!.connected, false);
  assert.equal(down[0]!.entries, null);
  assert.match(down[0]!.status, /not connected/);
  assert.equal(down[1]!.entries, 0);
  const sdown = parseHealInfo(ok('heal-summary-down.xml'));
  assert.equal(sdown[0]!.connected, false);
  assert.equal(sdown[0]!.entries, null);
  assert.equal(sdown[0]!.healPending, undefined);
  assert.equal(sdown[2]!.entries, 0);
});

test('splitBrick', () => {
  assert.deepEqual(splitBrick('10.1.2.3:/b/1/brick'), { host: '10.1.2.3', path: '/b/1/brick' });
  assert.throws(() => splitBrick('nohost'), { code: 'GLUSTER_BAD_OUTPUT' });
});
