/**
 * The SMB driver's choice between standalone and clustered Samba, with a
 * real smbd but no ctdbd: one appliance (or CTDB off) stays standalone;
 * clustered SMB wanted while the lock volume is not mounted leaves a clear
 * driver problem and the standalone smbd serving. The clustered path with
 * real ctdbd runs in test/cluster/ctdb.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/log.js';
import { SmbDriver, type SmbClusterSettings } from '../../src/smb/driver.js';
import { ntHash } from '../../src/smb/users.js';
import { DEFAULT_SMB, initialState } from '../../src/state/schema.js';

test('SMB driver: standalone with one appliance or CTDB off; clustered without a lock volume waits with a problem', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-smb-cl-'));
  await chmod(dir, 0o755);
  let settings: SmbClusterSettings | null = {
    enabled: true,
    nodes: ['10.0.0.11'],
    nodeAddress: '10.0.0.11',
    publicAddresses: [{ address: '10.0.0.101', prefix: 24, interfaces: ['eth0'] }],
    lockDir: join(dir, 'not-mounted'),
    netbiosName: 'CAIRNCL',
  };
  const driver = new SmbDriver({
    dataDir: join(dir, 'data'),
    log: createLogger('silent'),
    port: 0,
    cluster: async () => settings,
    // Never the host's /etc/ctdb or /run/ctdb.
    ctdb: { configDir: join(dir, 'ctdb-etc'), runDir: join(dir, 'ctdb-run') },
  });
  t.after(async () => {
    await driver.close();
    await rm(dir, { recursive: true, force: true });
  });
  const state = initialState(join(dir, 'data'));
  const pool = state.pools[0]! as { path: string };
  await mkdir(join(pool.path, 'docs'), { recursive: true });
  state.shares.push({ name: 'docs', pool: 'local', path: 'docs', nfs: { enabled: false, clients: [] }, smb: { ...DEFAULT_SMB, enabled: true } });
  state.users.push({ name: 'alice', uid: 10001, fullName: 'Alice', passwordHash: 'scrypt$16384$8$1$c2FsdA$aGFzaA', ntHash: ntHash('pw'), enabled: true });
  const signal = new AbortController().signal;

  // One appliance: standalone, whatever the setting says.
  let r = await driver.apply(state, signal);
  assert.deepEqual(r.problems, []);
  assert.doesNotMatch(r.summary!, /clustered/);
  const conf = () => readFile(driver.sambaService.paths.config, 'utf8');
  assert.doesNotMatch(await conf(), /clustering|ctdbd socket/);
  assert.equal(driver.sambaService.status().running, true);

  // Two appliances but CTDB off: standalone.
  settings = { ...settings!, enabled: false, nodes: ['10.0.0.11', '10.0.0.12'] };
  r = await driver.apply(state, signal);
  assert.deepEqual(r.problems, []);
  assert.doesNotMatch(await conf(), /clustering/);

  // CTDB on, but the lock volume is not mounted: a driver problem; the
  // standalone smbd keeps serving, no ctdbd is started, nothing is written.
  settings = { ...settings, enabled: true };
  r = await driver.apply(state, signal);
  assert.equal(r.summary, 'SMB waiting for CTDB');
  assert.equal(r.problems.length, 1);
  assert.deepEqual([r.problems[0]!.objectKind, r.problems[0]!.objectId], ['driver', 'smb']);
  assert.match(r.problems[0]!.message, /lock volume is not mounted at .*not-mounted/);
  assert.doesNotMatch(await conf(), /clustering/);
  assert.equal(driver.sambaService.status().running, true);
  assert.equal(driver.ctdbService.pid, null);
  await assert.rejects(readFile(join(dir, 'ctdb-etc', 'nodes')), { code: 'ENOENT' });

  // Back to none: still standalone, no problem.
  settings = null;
  assert.deepEqual((await driver.apply(state, signal)).problems, []);
});
