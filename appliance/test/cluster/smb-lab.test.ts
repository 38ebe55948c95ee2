/**
 * Clustered SMB switched on through the API of full cairnds: three lab
 * nodes each run `cairnd run`, join through the API, then the admin sets
 * PUT /cluster/smb on node1 (three public addresses). Through the shared
 * state every cairnd's SMB driver gets the same settings (main.ts →
 * cluster/smb-cluster.ts): PNN table in join order, the `cairn-state`
 * mount as CTDB's lock directory. Checked: `ctdb status` on every node
 * shows three nodes OK in that order, every public address is hosted, and
 * smbclient on the host reads a file through a public address.
 *
 * The product keeps DATA_DIR at /var/lib/cairn on every appliance, so the
 * lock path is the same everywhere (ctdbd compares it); here each node's
 * data directory is bind-mounted on one lab-wide path, and /etc/ctdb
 * (a copy of the package's files) and /var/lib/ctdb get private
 * directories per node, as in ctdb.test.ts.
 *
 * Root only (namespaces, loop devices, FUSE); skipped otherwise.
 */
import assert from 'node:assert/strict';
import { chmod, chown, cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { hashPassword, ntHash } from '../../src/auth/password.js';
import { TokenStore } from '../../src/auth/tokens.js';
import { initialState } from '../../src/state/schema.js';
import { StateStore } from '../../src/state/store.js';
import { Lab, sleep, startCairndOn, type LabCairnd, type LabNode } from '../lab/lab.js';
import { pollUntil } from './helpers.js';
import { freePort, makeClient } from '../smb/client.js';

const isRoot = process.getuid?.() === 0;
const PASSWORD = 'admin-password-1';

interface Appliance {
  c: LabCairnd;
  node: LabNode;
  hostDir: string;
  api: (method: string, path: string, body?: unknown, timeoutMs?: number) => Promise<{ status: number; json: any }>;
}

async function appliance(lab: Lab, node: LabNode, dataDir: string, smbPort: number): Promise<Appliance> {
  const hostDir = join(node.state.dir, 'cairn');
  const store = await StateStore.open(join(hostDir, 'state'), { initial: () => initialState(dataDir) });
  const hash = await hashPassword(PASSWORD, { N: 1024, r: 8, p: 1 });
  await store.update('lab', 'admin', (s) => void s.users.push({ name: 'admin', uid: 1000, fullName: 'Admin', role: 'admin', passwordHash: hash, ntHash: ntHash(PASSWORD), enabled: true }));
  const { token } = await (await TokenStore.open(join(hostDir, 'auth'))).create({ name: 'lab', role: 'admin', createdBy: 'admin' });
  // The same DATA_DIR path on every node (the lock path must match), private per node.
  await node.bindMount(hostDir, dataDir);
  // What the ctdb package installed in /etc/ctdb (functions, notify.sh, events), as on an appliance.
  await cp('/etc/ctdb', join(hostDir, 'ctdb-ns', 'etc'), { recursive: true });
  await mkdir(join(hostDir, 'ctdb-ns', 'var-lib'), { recursive: true });
  await node.bindMount(join(hostDir, 'ctdb-ns', 'etc'), '/etc/ctdb');
  await node.bindMount(join(hostDir, 'ctdb-ns', 'var-lib'), '/var/lib/ctdb');
  const c = await startCairndOn(node, { dataDir, args: ['--smb-port', String(smbPort)] });
  const api = async (method: string, path: string, body?: unknown, timeoutMs = 60_000) => {
    const res = await fetch(`${c.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  };
  return { c, node, hostDir, api };
}

const until = <T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs: number, logs?: () => string) => pollUntil(what, fn, timeoutMs, logs, 1000);

test('three full cairnds: clustered SMB on through the API, ctdb status OK on all, smbclient through a public address', { skip: !isRoot && 'needs root', timeout: 300_000 }, async (t) => {
  const tmp = await mkdtemp(join(tmpdir(), 'cairn-smb-lab-'));
  await chmod(tmp, 0o755);
  t.after(() => rm(tmp, { recursive: true, force: true }));
  const t0 = Date.now();
  const lab = await Lab.up(3);
  t.after(() => lab.down());
  const dataDir = join(lab.state.dir, 'cairn-data');
  await mkdir(dataDir, { recursive: true });
  const smbPort = await freePort();
  const apps: Appliance[] = [];
  t.after(async () => {
    for (const a of apps) await a.c.stop().catch(() => undefined);
  });
  for (const node of lab.nodes) apps.push(await appliance(lab, node, dataDir, smbPort));
  const [n1, n2, n3] = apps as [Appliance, Appliance, Appliance];
  const logs = () => apps.map((a) => `---- ${a.node.name}\n${a.c.log().split('\n').slice(-20).join('\n')}`).join('\n');
  t.diagnostic(`lab up, 3 cairnd listening in ${Date.now() - t0} ms`);

  for (const b of [n2, n3]) {
    const tok = await b.api('POST', '/cluster/join-token');
    assert.equal(tok.status, 201, JSON.stringify(tok.json));
    const added = await n1.api('POST', '/cluster/members', { address: b.node.ip, token: tok.json.token }, 120_000);
    assert.equal(added.status, 201, JSON.stringify(added.json));
  }
  for (const a of apps) {
    await until(`${a.node.name} synced`, async () => (await a.api('GET', '/cluster')).json.sharedState?.phase === 'synced', 90_000, logs);
  }
  t.diagnostic(`joined and synced at ${Date.now() - t0} ms`);

  // One SMB share per appliance on its local pool (local objects stay local), the same file in each.
  for (const a of apps) {
    const sh = await a.api('POST', '/shares', { name: 'pub', pool: 'local', path: 'pub', smb: { enabled: true } });
    assert.equal(sh.status, 201, JSON.stringify(sh.json));
    const dir = join(a.hostDir, 'pools', 'local', 'pub');
    await mkdir(dir, { recursive: true });
    // The share's user (admin, uid 1000) must reach it: the lab's directories are root's 0700.
    for (const d of [lab.state.dir, a.hostDir, join(a.hostDir, 'pools'), join(a.hostDir, 'pools', 'local'), dir]) await chmod(d, 0o755);
    await writeFile(join(dir, 'hello.txt'), 'hello from the cluster\n', { mode: 0o644 });
    await chown(join(dir, 'hello.txt'), 1000, 1000);
    await chown(dir, 1000, 1000);
  }

  const publics = [0, 1, 2].map((i) => lab.spareAddress(i));
  const bad = await n1.api('PUT', '/cluster/smb', { enabled: true, netbiosName: 'CAIRNLAB', publicAddresses: [{ address: 'nope', prefix: 24, interfaces: ['eth0'] }] });
  assert.equal(bad.status, 400);
  const put = await n1.api('PUT', '/cluster/smb', { enabled: true, netbiosName: 'CAIRNLAB', publicAddresses: publics.map((address) => ({ address, prefix: 24, interfaces: ['eth0'] })) });
  assert.equal(put.status, 200, JSON.stringify(put.json));
  assert.deepEqual(put.json.nodes, ['node1', 'node2', 'node3'], 'PNNs in join order');
  const tOn = Date.now();

  // Every appliance: its ctdbd sees three nodes, all OK, in PNN order.
  for (const a of apps) {
    await until(
      `ctdb status OK on ${a.node.name}`,
      async () => {
        const { stdout } = await a.node.exec(['ctdb', 'status'], 20_000);
        const lines = stdout.split('\n').filter((l) => /^pnn:\d+/.test(l));
        return lines.length === 3 && lines.every((l) => /\bOK\b/.test(l)) ? stdout : undefined;
      },
      150_000,
      logs,
    );
    const { stdout } = await a.node.exec(['ctdb', 'listnodes'], 20_000);
    assert.deepEqual(stdout.trim().split('\n'), lab.nodes.map((n) => n.ip), 'the nodes file in join order');
  }
  t.diagnostic(`ctdb status OK on all three ${Date.now() - tOn} ms after PUT /cluster/smb`);
  const ips = await until(
    'every public address hosted',
    async () => {
      const { stdout } = await n1.node.exec(['ctdb', 'ip'], 20_000);
      const hosted = publics.filter((p) => new RegExp(`^${p.replace(/\./g, '\\.')} [0-2]$`, 'm').test(stdout));
      return hosted.length === 3 ? stdout : undefined;
    },
    60_000,
    logs,
  );
  t.diagnostic(`public addresses: ${ips.trim().replace(/\n/g, '; ')}`);

  // Every SMB driver runs smbd clustered.
  for (const a of apps) {
    await until(
      `${a.node.name}: smbd clustered`,
      async () => {
        const st = await a.api('GET', '/status');
        const smb = (st.json?.reconcile?.drivers ?? []).find((d: { name: string }) => d.name === 'smb');
        if (!/clustered \(CTDB, 3 nodes\)/.test(String(smb?.summary))) throw new Error(JSON.stringify(smb ?? st.json));
        return true;
      },
      60_000,
      logs,
    );
  }
  // smbd answers on a public address (clustered, the cluster's name).
  let lastOut = '';
  const client = await makeClient(tmp, smbPort, publics[0]!);
  const got = await until(
    'smbclient reads hello.txt through a public address',
    async () => {
      const r = await client.run('pub', 'get hello.txt -', { user: 'admin', password: PASSWORD, timeoutMs: 30_000 });
      lastOut = r.out;
      return r.out.includes('hello from the cluster') ? r : undefined;
    },
    60_000,
    () => `smbclient said: ${lastOut}\n${logs()}`,
  );
  assert.equal(got.status, null, got.out);
  t.diagnostic(`total ${Date.now() - t0} ms`);
});
