/**
 * The appliance as a whole, over real processes and real clients: cairnd
 * (its NFS server and the smbd it supervises) is set up through the REST
 * API, a user and a share are made, and the same files are written and read
 * over SMB (smbclient) and NFS (libnfs) — the cross-protocol promise of a
 * share. Stopping cairnd stops its NFS server and smbd.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCairnd, type RunningCairnd } from '../helpers/cairnd.js';
import { tool } from '../nfs/helpers/nfs-serve.js';
import { makeClient, pidAlive } from '../smb/client.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function waitForLog(d: RunningCairnd, msg: string, ms = 20_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const hit = d.logs.find((l) => l.msg === msg);
    if (hit) return hit;
    if (Date.now() > deadline) throw new Error(`no "${msg}" log line; stderr: ${d.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

test('a share made through the API is served over SMB and NFS, and the same files are seen on both', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cairnd-appliance-'));
  // As /var/lib/cairn on the appliance: users must be able to reach their shares.
  await chmod(dir, 0o755);
  const d = await startCairnd(['--data-dir', dir, '--host', '127.0.0.1', '--port', '0']).catch(async (e: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw e;
  });
  // cairnd (and its smbd) before the data dir: after-hooks run in the order added.
  t.after(async () => {
    await d.stop();
    await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  });
  const nfsPort = Number((await waitForLog(d, 'nfs listening')).port);

  // First boot: the admin is made with the setup token; then a session.
  const token = (await readFile(join(dir, 'setup-token'), 'utf8')).trim();
  const setup = await fetch(`${d.url}/api/v1/setup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token, password: 'appliance-admin-pw' }),
  });
  assert.equal(setup.status, 201, await setup.text());
  const cookies = setup.headers.getSetCookie().map((c) => c.split(';')[0]!);
  const csrf = cookies.find((c) => c.startsWith('cairn_csrf='))!.split('=')[1]!;
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${d.url}/api/v1${path}`, {
      method,
      headers: { 'content-type': 'application/json', cookie: cookies.join('; '), 'x-csrf-token': csrf },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };

  let r = await api('POST', '/users', { name: 'alice', password: 'alice-secret-pw', fullName: 'Alice' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const uid = Number(r.body.uid);
  // NFS writes land as alice (all_squash to her uid), so she owns them over SMB too.
  r = await api('POST', '/shares', {
    name: 'documents',
    nfs: { enabled: true, clients: [{ match: '127.0.0.1', access: 'rw', squash: 'all_squash', anonUid: uid, anonGid: uid, secure: false }] },
    smb: { enabled: true, validUsers: ['alice'] },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const smbPort = Number((await waitForLog(d, 'smb listening')).port);

  // The reconciler reports no problem for the share.
  const deadline = Date.now() + 20_000;
  for (;;) {
    const share = await api('GET', '/shares/documents');
    if (Array.isArray(share.body.problems) && share.body.problems.length === 0) break;
    if (Date.now() > deadline) assert.fail(`share problems: ${JSON.stringify(share.body.problems)}`);
    await new Promise((res) => setTimeout(res, 200));
  }

  const work = join(dir, 'client');
  const smb = await makeClient(work, smbPort);
  const payload = randomBytes(3 * 1024 * 1024 + 17);
  await writeFile(join(dir, 'from-smb.bin'), payload);

  // SMB → NFS
  const put = await smb.run('documents', `put from-smb.bin from-smb.bin`, { user: 'alice', password: 'alice-secret-pw', cwd: dir });
  assert.equal(put.status, null, put.out);
  const url = (p: string) => `nfs://127.0.0.1/documents${p}?version=3&nfsport=${nfsPort}&mountport=${nfsPort}`;
  const cat = await tool('nfs-cp', [url('/from-smb.bin'), join(dir, 'via-nfs.bin')]);
  assert.equal(cat.code, 0, cat.stderr);
  assert.equal(sha(await readFile(join(dir, 'via-nfs.bin'))), sha(payload));

  // NFS → SMB
  const other = randomBytes(1024 * 1024 + 3);
  await writeFile(join(dir, 'from-nfs.bin'), other);
  const cp = await tool('nfs-cp', [join(dir, 'from-nfs.bin'), url('/from-nfs.bin')]);
  assert.equal(cp.code, 0, cp.stderr);
  const get = await smb.run('documents', `get from-nfs.bin via-smb.bin`, { user: 'alice', password: 'alice-secret-pw', cwd: dir });
  assert.equal(get.status, null, get.out);
  assert.equal(sha(await readFile(join(dir, 'via-smb.bin'))), sha(other));

  const ls = await tool('nfs-ls', [url('')]);
  assert.match(ls.stdout, /from-smb\.bin/);
  assert.match(ls.stdout, /from-nfs\.bin/);

  // Wrong password and unknown share are refused.
  const bad = await smb.run('documents', 'ls', { user: 'alice', password: 'wrong-password', cwd: dir });
  assert.equal(bad.status, 'NT_STATUS_LOGON_FAILURE', bad.out);
  const missing = await tool('nfs-ls', [`nfs://127.0.0.1/nothing?version=3&nfsport=${nfsPort}&mountport=${nfsPort}`]);
  assert.notEqual(missing.code, 0);

  // Disabling the NFS side removes the export; SMB goes on.
  r = await api('PATCH', '/shares/documents', { nfs: { enabled: false } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const gone = Date.now() + 10_000;
  while ((await tool('nfs-ls', [url('')])).code === 0) {
    if (Date.now() > gone) assert.fail('export still served after nfs.enabled=false');
    await new Promise((res) => setTimeout(res, 200));
  }

  // Stopping cairnd stops smbd and the NFS server.
  const smbdPid = Number((await readFile(join(dir, 'samba', 'run', 'smbd.pid'), 'utf8').catch(() => '0')).trim());
  assert.equal(await d.stop(), 0);
  assert.equal(await portOpen(nfsPort), false, 'NFS port closed');
  assert.equal(await portOpen(smbPort), false, 'SMB port closed');
  if (smbdPid > 0) assert.equal(pidAlive(smbdPid), false, 'smbd stopped');
});
