/**
 * Clustered SMB from the shared state (cluster/smb-cluster.ts): the pure
 * derivation of SmbClusterSettings and the PNN table, the callback cairnd
 * gives the SMB driver, and the schema 2 → 3 migration that adds the
 * setting (state document and the shared document on the state volume).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterSmbRuntimeOf, nodeTableAppend, nodeTableWith, nodeTableWithout, smbClusterCallback, smbClusterSettingsOf, type SmbMember } from '../../src/cluster/smb-cluster.js';
import { checkSharedPart, mergeState, sharedPartOf, upgradeSharedPart } from '../../src/cluster/shared-state.js';
import { migrate } from '../../src/state/migrations.js';
import { initialState, SCHEMA_VERSION, type ClusterSmb, type State } from '../../src/state/schema.js';
import { StateValidationError, validateState } from '../../src/state/validate.js';

const ADDR: Record<string, string> = { 'nas-a': '10.0.0.1', 'nas-b': '10.0.0.2', 'nas-c': '10.0.0.3', 'nas-d': '10.0.0.4' };
const resolve = async (h: string) => {
  const a = ADDR[h];
  if (!a) throw new Error(`${h} does not resolve`);
  return a;
};
const members = (self: string, ...names: string[]): SmbMember[] => names.map((hostname) => ({ hostname, self: hostname === self }));
const LOCK = '/var/lib/cairn/cluster/state';

function stateWith(smb: Partial<ClusterSmb>): State {
  const s = initialState('/var/lib/cairn');
  s.cluster = { smb: { enabled: true, netbiosName: 'cairn-smb', publicAddresses: [{ address: '10.0.0.100', prefix: 24, interfaces: ['eth0'] }], nodes: [], ...smb } };
  return s;
}

test('alone → null, even when enabled', async () => {
  const s = stateWith({ nodes: ['nas-a'] });
  assert.equal(await smbClusterSettingsOf(s, members('nas-a', 'nas-a'), LOCK, resolve), null);
});

test('disabled → null with three members', async () => {
  const s = stateWith({ enabled: false, nodes: ['nas-a', 'nas-b', 'nas-c'] });
  assert.equal(await smbClusterSettingsOf(s, members('nas-b', 'nas-c', 'nas-a', 'nas-b'), LOCK, resolve), null);
  // A document without the part (schema default) is disabled too.
  const bare = initialState('/x');
  delete bare.cluster;
  assert.equal(await smbClusterSettingsOf(bare, members('nas-b', 'nas-a', 'nas-b'), LOCK, resolve), null);
});

test('three members: nodes in PNN (table) order whatever order glusterd lists them, this appliance, name, lock dir', async () => {
  const s = stateWith({ nodes: ['nas-a', 'nas-b', 'nas-c'] });
  // glusterd lists peers first and itself last: the table decides, not this order.
  const onB = await smbClusterSettingsOf(s, members('nas-b', 'nas-c', 'nas-a', 'nas-b'), LOCK, resolve);
  assert.deepEqual(onB, {
    enabled: true,
    nodes: ['10.0.0.1', '10.0.0.2', '10.0.0.3'],
    nodeAddress: '10.0.0.2',
    publicAddresses: [{ address: '10.0.0.100', prefix: 24, interfaces: ['eth0'] }],
    lockDir: LOCK,
    netbiosName: 'CAIRN-SMB',
  });
  const onC = await smbClusterSettingsOf(s, members('nas-c', 'nas-a', 'nas-b', 'nas-c'), LOCK, resolve);
  assert.deepEqual(onC?.nodes, onB?.nodes, 'the same nodes file on every appliance');
  assert.equal(onC?.nodeAddress, '10.0.0.3');
});

test('a removed member: its slot is null (before and after the table records it), the others keep their PNN', async () => {
  // Detached, table not updated yet: the departed name is a null slot.
  const before = await smbClusterSettingsOf(stateWith({ nodes: ['nas-a', 'nas-b', 'nas-c'] }), members('nas-a', 'nas-a', 'nas-c'), LOCK, resolve);
  assert.deepEqual(before?.nodes, ['10.0.0.1', null, '10.0.0.3']);
  const table = nodeTableWithout(['nas-a', 'nas-b', 'nas-c'], 'nas-b');
  assert.deepEqual(table, ['nas-a', null, 'nas-c']);
  const after = await smbClusterSettingsOf(stateWith({ nodes: table }), members('nas-c', 'nas-a', 'nas-c'), LOCK, resolve);
  assert.deepEqual(after?.nodes, ['10.0.0.1', null, '10.0.0.3']);
  assert.equal(after?.nodeAddress, '10.0.0.3', 'nas-c keeps PNN 2');
  // It comes back later: a new slot at the end, never the old one.
  assert.deepEqual(nodeTableAppend(table, ['nas-a', 'nas-b']), ['nas-a', null, 'nas-c', 'nas-b']);
  // The removed appliance itself, alone again: standalone.
  assert.equal(await smbClusterSettingsOf(stateWith({ nodes: table }), members('nas-b', 'nas-b'), LOCK, resolve), null);
});

test('a member without a slot yet is left out; this appliance without one runs standalone', async () => {
  const s = stateWith({ nodes: ['nas-a', 'nas-b'] });
  const onA = await smbClusterSettingsOf(s, members('nas-a', 'nas-a', 'nas-b', 'nas-d'), LOCK, resolve);
  assert.deepEqual(onA?.nodes, ['10.0.0.1', '10.0.0.2']);
  assert.equal(await smbClusterSettingsOf(s, members('nas-d', 'nas-a', 'nas-b', 'nas-d'), LOCK, resolve), null);
});

test('nodeTableWith: keeps slots, nulls departed names, appends newcomers sorted', () => {
  assert.deepEqual(nodeTableWith([], [{ hostname: 'nas-b' }, { hostname: 'nas-a' }]), ['nas-a', 'nas-b']);
  assert.deepEqual(nodeTableWith(['nas-c', null, 'nas-a'], [{ hostname: 'nas-d' }, { hostname: 'nas-a' }, { hostname: 'nas-b' }]), [null, null, 'nas-a', 'nas-b', 'nas-d']);
  assert.deepEqual(nodeTableAppend(['nas-a'], ['nas-a', 'nas-b']), ['nas-a', 'nas-b']);
});

test('an address that does not resolve fails the derivation (the callback keeps the last settings)', async () => {
  const s = stateWith({ nodes: ['nas-a', 'nas-x'] });
  await assert.rejects(smbClusterSettingsOf(s, members('nas-a', 'nas-a', 'nas-x'), LOCK, resolve), /nas-x does not resolve/);

  let state = stateWith({ nodes: ['nas-a', 'nas-b'] });
  let list = members('nas-a', 'nas-a', 'nas-b');
  let record: unknown = { clusterId: 'c' };
  let asked = 0;
  const cb = smbClusterCallback({
    dataDir: '/var/lib/cairn',
    store: { get state() { return state; } },
    cluster: {
      record: async () => record,
      members: async () => {
        asked++;
        if (!list.length) throw new Error('glusterd is not running');
        return list;
      },
    },
    resolve,
  });
  const first = await cb();
  assert.deepEqual(first?.nodes, ['10.0.0.1', '10.0.0.2']);
  assert.equal(first?.lockDir, LOCK, 'the cairn-state mount');
  list = [];
  assert.deepEqual(await cb(), first, 'glusterd away: the last settings stay');
  state = stateWith({ enabled: false, nodes: ['nas-a', 'nas-b'] });
  assert.equal(await cb(), null);
  state = stateWith({ nodes: ['nas-a', 'nas-b'] });
  record = undefined;
  const before = asked;
  assert.equal(await cb(), null, 'never joined a cluster: standalone');
  assert.equal(asked, before, 'and glusterd is not asked');
});

test('the callback never hands CTDB a bare mount point, and fails rather than guessing without glusterd', async () => {
  const state = stateWith({ nodes: ['nas-a', 'nas-b'] });
  const shared = { mounted: false };
  let list: SmbMember[] = [];
  const cb = smbClusterCallback({
    dataDir: '/var/lib/cairn',
    store: { state },
    cluster: {
      record: async () => ({ clusterId: 'c' }),
      members: async () => {
        if (!list.length) throw new Error('glusterd is not running');
        return list;
      },
      sharedState: () => shared,
    },
    resolve,
  });
  await assert.rejects(cb(), /glusterd is not running/, 'no settings yet: the SMB driver reports it and retries');
  list = members('nas-a', 'nas-a', 'nas-b');
  await assert.rejects(cb(), /waits for the cairn-state volume to be mounted at \/var\/lib\/cairn\/cluster\/state/);
  shared.mounted = true;
  const on = await cb();
  assert.deepEqual(on?.nodes, ['10.0.0.1', '10.0.0.2']);
  shared.mounted = false;
  assert.deepEqual(await cb(), on, 'CTDB already runs: unchanged while the mount comes back');
});

test('schema 3: a version 2 document gets clustered SMB off; a version 2 shared document is upgraded', () => {
  const v2 = { ...initialState('/var/lib/cairn'), schemaVersion: 2 } as Record<string, unknown>;
  delete v2.cluster;
  const { doc, from } = migrate(v2);
  assert.equal(from, 2);
  assert.equal(SCHEMA_VERSION, 3);
  validateState(doc);
  assert.deepEqual((doc as State).cluster, { smb: { enabled: false, netbiosName: 'CAIRN', publicAddresses: [], nodes: [] } });

  const shared = sharedPartOf(stateWith({ nodes: ['nas-a', 'nas-b'] }));
  const oldShared = { ...shared, schemaVersion: 2 } as Record<string, unknown>;
  delete oldShared.cluster;
  assert.equal(checkSharedPart(oldShared), false);
  const up = upgradeSharedPart(oldShared);
  assert.equal(checkSharedPart(up), true);
  // The cluster setting travels with the shared part and replaces a joiner's own.
  const joiner = initialState('/var/lib/cairn');
  const merged = mergeState(joiner, shared);
  assert.deepEqual(merged.cluster?.smb.nodes, ['nas-a', 'nas-b']);
  assert.equal(merged.cluster?.smb.enabled, true);
});

test('the document refuses bad public addresses and a name twice in the PNN table, with field paths', () => {
  const s = stateWith({
    publicAddresses: [
      { address: '10.0.0.300', prefix: 24, interfaces: ['eth0'] },
      { address: '10.0.0.9', prefix: 40, interfaces: ['eth0'] },
      { address: '10.0.0.9', prefix: 24, interfaces: ['eth0'] },
    ],
    nodes: ['nas-a', 'nas-b', 'nas-a'],
  });
  try {
    validateState(s);
    assert.fail('accepted');
  } catch (e) {
    assert.ok(e instanceof StateValidationError);
    assert.deepEqual(e.fields.map((f) => f.path).sort(), [
      'cluster.smb.nodes.2',
      'cluster.smb.publicAddresses.0.address',
      'cluster.smb.publicAddresses.1.prefix',
      'cluster.smb.publicAddresses.2',
    ]);
  }
});

test("GET /cluster/smb's runtime: CTDB nodes by host name with one health word, who holds each public address, the lock volume", () => {
  const smb: ClusterSmb = {
    enabled: true,
    netbiosName: 'CAIRN',
    publicAddresses: [
      { address: '10.0.0.100', prefix: 24, interfaces: ['eth0'] },
      { address: '10.0.0.101', prefix: 24, interfaces: ['eth0'] },
      { address: '10.0.0.102', prefix: 24, interfaces: ['eth0'] },
    ],
    nodes: ['nas-a', null, 'nas-c'],
  };
  const flags = { disconnected: false, unknown: false, banned: false, stopped: false, disabled: false, unhealthy: false, inactive: false };
  const rt = clusterSmbRuntimeOf(
    smb,
    {
      running: true,
      error: null,
      lockFile: '/var/lib/cairn/cluster/state/.ctdb-cluster-lock',
      status: {
        leader: 2,
        nodes: [
          { pnn: 0, address: '10.0.0.1', thisNode: true, ...flags },
          { pnn: 1, address: '10.0.0.2', thisNode: false, ...flags, disconnected: true, inactive: true },
          { pnn: 2, address: '10.0.0.3', thisNode: false, ...flags, unhealthy: true },
        ],
      },
      ips: [
        { address: '10.0.0.100', pnn: 0, activeInterface: 'eth0' },
        { address: '10.0.0.101', pnn: 2, activeInterface: null },
        { address: '10.0.0.102', pnn: -1, activeInterface: null },
      ],
    },
    { volume: 'cairn-state', mounted: true },
  );
  assert.deepEqual(rt.nodes.map((n) => [n.pnn, n.hostname, n.health, n.thisNode]), [
    [0, 'nas-a', 'ok', true],
    [1, null, 'disconnected', false],
    [2, 'nas-c', 'unhealthy', false],
  ]);
  assert.deepEqual(rt.publicAddresses.map((a) => [a.address, a.pnn, a.hostname, a.interface]), [
    ['10.0.0.100', 0, 'nas-a', 'eth0'],
    ['10.0.0.101', 2, 'nas-c', null],
    ['10.0.0.102', null, null, null],
  ]);
  assert.deepEqual([rt.ctdb, rt.leader, rt.lock], ['running', 2, { volume: 'cairn-state', mounted: true, file: '/var/lib/cairn/cluster/state/.ctdb-cluster-lock' }]);
  // Not running here: the configured addresses, held by nobody known; no SMB driver at all: 'unknown'.
  const stopped = clusterSmbRuntimeOf(smb, { running: false, error: null, status: null, ips: [], lockFile: null }, null);
  assert.deepEqual([stopped.ctdb, stopped.nodes, stopped.publicAddresses.map((a) => a.hostname), stopped.lock], ['stopped', [], [null, null, null], { volume: null, mounted: null, file: null }]);
  assert.equal(clusterSmbRuntimeOf(smb, null, undefined).ctdb, 'unknown');
});
