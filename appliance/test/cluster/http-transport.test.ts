/**
 * HttpJoinTransport against a real cairnd (B): B's admin shows a join
 * token (POST /api/v1/cluster/join-token over HTTP, console session with
 * CSRF); appliance A (a ClusterService in this process, its glusterd
 * faked) presents it through HttpJoinTransport to B's POST
 * /api/v1/cluster/join. B keeps A's cluster id and NFS handle secret in
 * the file its NFS driver reads. A reused or wrong token is refused by B
 * and comes back to A with B's code; a cairnd that is not there is
 * JOIN_UNREACHABLE. The token B shows carries its certificate's pin: A
 * joins over HTTPS and refuses a certificate that does not match before
 * sending anything. B's `gluster` is a stub on its PATH that answers
 * "no peers" (the real multi-node probe is test/cluster/failover.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterService, type ClusterError } from '../../src/cluster/index.js';
import { baseUrlOf, HttpJoinTransport } from '../../src/cluster/http-transport.js';
import type { GlusterPeers, Peer } from '../../src/pool/gluster/peers.js';
import type { GlusterVolumes } from '../../src/pool/gluster/volumes.js';
import { CAIRNCTL, runToExit, startCairnd, type RunningCairnd } from '../helpers/cairnd.js';

const NO_PEERS = '<?xml version="1.0"?><cliOutput><opRet>0</opRet><opErrno>0</opErrno><opErrstr/></cliOutput>';
const ALONE =
  '<?xml version="1.0"?><cliOutput><opRet>0</opRet><opErrno>0</opErrno><opErrstr/><peerStatus><peer><uuid>b</uuid><hostname>localhost</hostname><connected>1</connected></peer></peerStatus></cliOutput>';

async function adminSession(url: string, dataDir: string): Promise<Record<string, string>> {
  const token = (await readFile(join(dataDir, 'setup-token'), 'utf8')).trim();
  const res = await fetch(`${url}/api/v1/setup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, password: 'cluster-admin-pw' }) });
  assert.equal(res.status, 201, await res.clone().text());
  const cookies = res.headers.getSetCookie().map((c) => c.split(';')[0]!);
  const csrf = cookies.find((c) => c.startsWith('cairn_csrf='))!.split('=')[1]!;
  return { cookie: cookies.join('; '), 'x-csrf-token': csrf };
}

test('baseUrlOf: host, host:port, [v6]:port, URL; nothing else', () => {
  assert.equal(baseUrlOf('nas-b'), 'http://nas-b:8080');
  assert.equal(baseUrlOf('10.0.0.2:9000'), 'http://10.0.0.2:9000');
  assert.equal(baseUrlOf('[fd00::2]:9000'), 'http://[fd00::2]:9000');
  assert.equal(baseUrlOf('https://nas-b.example:8443/ignored/path'), 'https://nas-b.example:8443');
  for (const bad of ['', 'nas b', '-oProxy', 'host:0', 'host:70000', 'ftp://x', 'a/b']) {
    assert.throws(() => baseUrlOf(bad), (e: ClusterError) => e.code === 'INVALID_ARGUMENT', bad);
  }
});

test('A adds B over HTTP with the token B showed; reused, wrong and unreachable are refused', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-join-http-'));
  let b: RunningCairnd | undefined;
  // One hook, in this order: cairnd B writes below its data dir (in `dir`) until it has stopped.
  t.after(async () => {
    await b?.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const bin = join(dir, 'bin');
  await mkdir(bin);
  await writeFile(join(bin, 'gluster'), `#!/bin/sh\ncase "$*" in\n  *"pool list"*) echo '${ALONE}' ;;\n  *) echo '${NO_PEERS}' ;;\nesac\n`);
  await chmod(join(bin, 'gluster'), 0o755);

  const bDir = join(dir, 'b');
  await mkdir(bDir);
  b = await startCairnd(['--data-dir', bDir, '--host', '127.0.0.1', '--port', '0'], { PATH: `${bin}:${process.env.PATH}`, CAIRN_CLUSTER_HOSTNAME: 'nas-b' });
  const auth = await adminSession(b.url, bDir);

  const issued = await fetch(`${b.url}/api/v1/cluster/join-token`, { method: 'POST', headers: auth });
  assert.equal(issued.status, 201, await issued.clone().text());
  // cairnctl on B, with an API token: a new join token replaces the one above.
  const mk = await fetch(`${b.url}/api/v1/tokens`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'ctl', role: 'admin' }) });
  assert.equal(mk.status, 201);
  const ctlEnv = { CAIRN_TOKEN: ((await mk.json()) as { token: string }).token, CAIRN_URL: b.url };
  const ctl = (...args: string[]) => runToExit(process.execPath, [CAIRNCTL, ...args], ctlEnv);
  const human = await ctl('cluster', 'join-token');
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /join token: [A-Z2-7-]+/);
  const shown = await ctl('cluster', 'join-token', '--json');
  assert.equal(shown.code, 0, shown.stderr);
  const { token, fingerprint, clusterPort } = JSON.parse(shown.stdout) as { token: string; fingerprint: string; clusterPort: number };
  const replaced = /join token: ([A-Z2-7-]+)/.exec(human.stdout)![1]!;
  // The token carries the pin of B's certificate; A joins over HTTPS on B's cluster port and checks it.
  assert.ok(token.endsWith(`.${fingerprint}`), token);
  const listening = b.logs.find((l) => l.msg === 'cluster https listening');
  assert.equal(listening?.fingerprint, fingerprint);
  assert.equal(listening?.port, clusterPort);
  const bTls = `https://127.0.0.1:${clusterPort}`;

  // Appliance A: real ClusterService + HttpJoinTransport; its glusterd is faked (probe stubbed).
  const others: Peer[] = [];
  const probed: string[] = [];
  const peers = {
    status: async () => others,
    list: async () => [...others, { uuid: 'a', hostname: 'localhost', hostnames: ['localhost'], connected: true, state: '', self: true }],
    probe: async (h: string) => {
      probed.push(h);
      others.push({ uuid: 'b', hostname: h, hostnames: [h], connected: true, state: 'Peer in Cluster', self: false });
    },
    waitConnected: async () => others,
    detach: async () => {},
  };
  const transport = new HttpJoinTransport({ timeoutMs: 5000 });
  const a = new ClusterService({
    hostname: 'nas-a',
    peers: peers as unknown as GlusterPeers,
    volumes: { list: async () => [], info: async () => ({ bricks: [] }) } as unknown as GlusterVolumes,
    transport,
    stateDir: join(dir, 'a', 'cluster'),
    handleSecretFile: join(dir, 'a', 'nfs', 'fh-secret'),
  });

  // A certificate other than the pinned one: refused before anything is sent (the token still works below).
  const otherPin = fingerprint.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'));
  const spoofed = await a.addAppliance(bTls, token.replace(fingerprint, otherPin)).then(
    () => assert.fail('a certificate that does not match the pin was accepted'),
    (e: ClusterError) => e,
  );
  assert.equal(spoofed.code, 'JOIN_CERT_MISMATCH', spoofed.message);
  assert.deepEqual(probed, []);
  await assert.rejects(a.addAppliance(b.url, token), (e: ClusterError) => e.code === 'INVALID_ARGUMENT' && /not http:\/\//.test(e.message), 'a pinned token is never sent over plain HTTP');

  const wrong = await a.addAppliance(b.url, replaced).then(
    () => assert.fail('a wrong token was accepted'),
    (e: ClusterError) => e,
  );
  assert.equal(wrong.code, 'JOIN_TOKEN_INVALID', `an earlier token stops working: ${wrong.message}`);
  assert.deepEqual(probed, [], 'no probe after a refusal');

  const member = await a.addAppliance(bTls, token);
  assert.equal(member.hostname, 'nas-b', 'B named itself');
  assert.deepEqual(probed, ['nas-b']);
  const aRecord = JSON.parse(await readFile(join(dir, 'a', 'cluster', 'cluster.json'), 'utf8'));
  const bRecord = JSON.parse(await readFile(join(bDir, 'cluster', 'cluster.json'), 'utf8'));
  assert.equal(bRecord.clusterId, aRecord.clusterId, 'B joined A’s cluster');
  const aSecret = await readFile(join(dir, 'a', 'nfs', 'fh-secret'));
  assert.equal(aSecret.length, 32);
  assert.deepEqual(await readFile(join(bDir, 'nfs', 'fh-secret')), aSecret, 'B signs NFS handles with the cluster secret, in its NFS driver’s file');

  // Reused: refused by B, whose code A sees.
  const again = await transport
    .join(bTls, { token, clusterId: aRecord.clusterId, inviter: 'nas-a', handleSecret: aSecret.toString('base64') })
    .then(
      () => assert.fail('a reused token was accepted'),
      (e: ClusterError) => e,
    );
  assert.equal(again.code, 'JOIN_TOKEN_INVALID');

  // B's GET /cluster shows its record (its glusterd stub lists no peers).
  const view = await fetch(`${b.url}/api/v1/cluster`, { headers: { cookie: auth.cookie! } });
  assert.equal(view.status, 200);
  assert.equal(((await view.json()) as { clusterId: string }).clusterId, aRecord.clusterId);

  const list = await ctl('cluster');
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`cluster ${aRecord.clusterId}`));
  assert.match(list.stdout, /nas-b \(this\)\s+ok/);
  const listJson = await ctl('cluster', '--json');
  assert.equal(JSON.parse(listJson.stdout).clusterId, aRecord.clusterId);
  // B asked to add "itself" with a wrong token: its own join route refuses; exit 1 with the reason.
  const badAdd = await ctl('cluster', 'add', b.url, 'WRONG-TOKN');
  assert.equal(badAdd.code, 1, badAdd.stderr);
  assert.match(badAdd.stderr, /join token does not match/);
  const badRemove = await ctl('cluster', 'remove', 'nas-x');
  assert.equal(badRemove.code, 1);
  assert.match(badRemove.stderr, /nas-x is not another member/);
  const usage = await ctl('cluster', 'add', 'only-address');
  assert.equal(usage.code, 64);

  // Nobody listening.
  await b.stop();
  const gone = await transport.join(bTls, { token, clusterId: aRecord.clusterId, inviter: 'nas-a', handleSecret: aSecret.toString('base64') }).then(
    () => assert.fail('joined a stopped cairnd'),
    (e: ClusterError) => e,
  );
  assert.equal(gone.code, 'JOIN_UNREACHABLE');
});
