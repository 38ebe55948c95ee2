/**
 * CTDB's pure parts: the files generated for an appliance and the parsers
 * of `ctdb status -X` / `ctdb ip -v -X` (samples captured from ctdb 4.17).
 * The real ctdbd runs in test/cluster/ctdb.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readlink, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CtdbError, CtdbService, ctdbPaths, generateCtdb, parseIps, parseMachineReadable, parseStatus, type CtdbDesired } from '../../src/smb/ctdb.js';

const paths = ctdbPaths('/var/lib/cairn/ctdb');

function want(extra: Partial<CtdbDesired> = {}): CtdbDesired {
  return {
    nodes: ['10.0.0.11', '10.0.0.12', '10.0.0.13'],
    nodeAddress: '10.0.0.12',
    publicAddresses: [
      { address: '10.0.0.101', prefix: 24, interfaces: ['eth0'] },
      { address: '10.0.0.102', prefix: 24, interfaces: ['eth0', 'eth1'] },
    ],
    clusterLock: '/run/cairn/ctdb-lock/.ctdb/reclock',
    ...extra,
  };
}

test('paths: compiled-in /etc/ctdb and /run/ctdb unless given; databases and log under the data dir', () => {
  assert.equal(paths.etcDir, '/etc/ctdb');
  assert.equal(paths.socket, '/run/ctdb/ctdbd.socket');
  assert.equal(paths.volatileDir, '/var/lib/cairn/ctdb/var/volatile');
  assert.equal(paths.logFile, '/var/lib/cairn/ctdb/log/ctdb.log');
  const lab = ctdbPaths('/tmp/n1/ctdb', { configDir: '/tmp/n1/ctdb/etc', runDir: '/tmp/n1/ctdb/run' });
  assert.equal(lab.etcDir, '/tmp/n1/ctdb/etc');
  assert.equal(lab.runDir, '/tmp/n1/ctdb/run');
  assert.equal(lab.socket, '/run/ctdb/ctdbd.socket', 'the socket as ctdbd and smbd see it');
});

test('generate: ctdb.conf with the cluster lock and node address, nodes in order, public addresses, tunables', () => {
  const { files, problems } = generateCtdb(want(), paths);
  assert.deepEqual(problems, []);
  const conf = files!['ctdb.conf'];
  assert.match(conf, /^\[cluster\]$/m);
  assert.match(conf, /^\tcluster lock = \/run\/cairn\/ctdb-lock\/\.ctdb\/reclock$/m);
  assert.match(conf, /^\tnode address = 10\.0\.0\.12$/m);
  assert.match(conf, /^\tlocation = file:\/var\/lib\/cairn\/ctdb\/log\/ctdb\.log$/m);
  assert.match(conf, /^\tvolatile database directory = \/var\/lib\/cairn\/ctdb\/var\/volatile$/m);
  assert.doesNotMatch(conf, /realtime/);
  assert.equal(files!.nodes, '10.0.0.11\n10.0.0.12\n10.0.0.13\n');
  assert.equal(files!.public_addresses, '10.0.0.101/24 eth0\n10.0.0.102/24 eth0,eth1\n');
  assert.equal(files!['ctdb.tunables'], 'KeepaliveInterval=1\nKeepaliveLimit=5\n');
  const more = generateCtdb(want({ realtime: false, tunables: { KeepaliveLimit: 8, MonitorInterval: 5 } }), paths).files!;
  assert.match(more['ctdb.conf'], /^\[legacy\]\n\trealtime scheduling = false$/m);
  assert.equal(more['ctdb.tunables'], 'KeepaliveInterval=1\nKeepaliveLimit=8\nMonitorInterval=5\n');
});

test('generate: a removed node keeps its slot (commented out) so PNNs do not shift', () => {
  const { files } = generateCtdb(want({ nodes: ['10.0.0.11', null, '10.0.0.13'], nodeAddress: '10.0.0.13' }), paths);
  assert.equal(files!.nodes, '10.0.0.11\n#removed-1\n10.0.0.13\n');
});

test('generate: bad input gives dotted problems and no files', () => {
  const { files, problems } = generateCtdb(
    want({
      nodes: ['10.0.0.11', '10.0.0.11', 'node3'],
      nodeAddress: '10.0.0.99',
      publicAddresses: [
        { address: '10.0.0.11', prefix: 24, interfaces: ['eth0'] },
        { address: '10.0.0.200', prefix: 33, interfaces: [] },
        { address: '10.0.0.201', prefix: 24, interfaces: ['eth0 eth1'] },
      ],
      clusterLock: 'relative/reclock',
      tunables: { 'Bad Name': 1 },
    }),
    paths,
  );
  assert.equal(files, null);
  assert.deepEqual(
    problems.map((p) => p.path).sort(),
    ['clusterLock', 'nodeAddress', 'nodes.1', 'nodes.2', 'publicAddresses.0.address', 'publicAddresses.1.interfaces', 'publicAddresses.1.prefix', 'publicAddresses.2.interfaces.0', 'tunables.Bad Name'].sort(),
  );
  assert.ok(generateCtdb(want({ clusterLock: '!/bin/helper' }), paths).problems.some((p) => p.path === 'clusterLock'), 'no helper commands');
});

const STATUS = `|Node|IP|Disconnected|Unknown|Banned|Disabled|Unhealthy|Stopped|Inactive|PartiallyOnline|ThisNode|
|0|10.0.0.11|0|0|0|0|0|0|0|0|N|
|1|10.0.0.12|0|0|0|0|0|0|0|0|Y|
|2|10.0.0.13|1|0|0|0|0|0|1|0|N|
`;

test('parse status -X: flags, this node, ok', () => {
  const nodes = parseStatus(STATUS);
  assert.equal(nodes.length, 3);
  assert.deepEqual(nodes.map((n) => [n.pnn, n.address, n.ok, n.thisNode]), [
    [0, '10.0.0.11', true, false],
    [1, '10.0.0.12', true, true],
    [2, '10.0.0.13', false, false],
  ]);
  assert.equal(nodes[2]!.disconnected, true);
  assert.equal(nodes[2]!.inactive, true);
  assert.equal(nodes[2]!.banned, false);
});

test('parse ip -v -X: hosting pnn (-1 = nobody), interfaces', () => {
  const ips = parseIps(`|Public IP|Node|ActiveInterfaces|AvailableInterfaces|ConfiguredInterfaces|
|10.0.0.101|1|eth0|eth0|eth0|
|10.0.0.102|-1||eth0,eth1|eth0,eth1|
`);
  assert.deepEqual(ips, [
    { address: '10.0.0.101', pnn: 1, activeInterface: 'eth0', availableInterfaces: ['eth0'], configuredInterfaces: ['eth0'] },
    { address: '10.0.0.102', pnn: -1, activeInterface: null, availableInterfaces: ['eth0', 'eth1'], configuredInterfaces: ['eth0', 'eth1'] },
  ]);
  assert.deepEqual(parseIps('|Public IP|Node|\n|10.0.0.101|2|\n')[0]!.pnn, 2, 'without -v');
});

test('parse: output that is not machine-readable is a CTDB_BAD_OUTPUT error, never a guess', () => {
  assert.throws(() => parseMachineReadable('connection to daemon failed'), (e: unknown) => e instanceof CtdbError && e.code === 'CTDB_BAD_OUTPUT');
  assert.throws(() => parseStatus('|Node|IP|\n|x|10.0.0.1|\n'), { code: 'CTDB_BAD_OUTPUT' });
  assert.throws(() => parseMachineReadable('|a|b|\n|1|2|3|\n'), { code: 'CTDB_BAD_OUTPUT' });
});

test('service: configure writes the files once (unchanged = untouched), links the event scripts; bad input writes nothing; no ctdbd = clear errors', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-ctdb-unit-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const svc = new CtdbService({ dataDir: join(dir, 'data'), configDir: join(dir, 'etc'), runDir: join(dir, 'run'), toolTimeoutMs: 5000 });
  await assert.rejects(svc.start(), { code: 'CTDB_BAD_CONFIG' });
  const bad = await svc.configure(want({ nodeAddress: '10.9.9.9' }));
  assert.ok(bad.problems.length > 0);
  await assert.rejects(readFile(join(dir, 'etc', 'nodes')), { code: 'ENOENT' });

  const r = await svc.configure(want());
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.changed.sort(), ['ctdb.conf', 'ctdb.tunables', 'nodes', 'public_addresses']);
  assert.equal(await readFile(join(dir, 'etc', 'nodes'), 'utf8'), '10.0.0.11\n10.0.0.12\n10.0.0.13\n');
  assert.deepEqual((await readdir(join(dir, 'etc', 'events', 'legacy'))).sort(), ['00.ctdb.script', '01.reclock.script', '05.system.script', '10.interface.script']);
  assert.equal(await readlink(join(dir, 'etc', 'events', 'legacy', '10.interface.script')), '/usr/share/ctdb/events/legacy/10.interface.script');
  assert.match(await readFile(join(dir, 'etc', 'functions'), 'utf8'), /ctdb/i, 'the shared functions the event scripts source');
  assert.deepEqual((await svc.configure(want())).changed, []);
  assert.deepEqual((await svc.configure(want({ publicAddresses: [] }))).changed, ['public_addresses']);

  // Nothing runs: the tool is never asked to guess.
  await assert.rejects(svc.status(), (e: unknown) => e instanceof CtdbError && (e.code === 'CTDB_NOT_RUNNING' || e.code === 'CTDB_TOOL_FAILED'));
  await assert.rejects(svc.waitHealthy(1000), { code: 'CTDB_NOT_RUNNING' });
  await svc.stop();
});
