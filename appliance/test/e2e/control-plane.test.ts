/**
 * End to end over real processes: cairnd's first start prints the setup
 * token once; setup over HTTP makes the admin; the admin makes an API
 * token through its console session (with CSRF); cairnctl drives shares,
 * status, history and rollback with that token; a restart keeps the state
 * and no longer prints a setup token.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CAIRNCTL, runToExit, startCairnd } from '../helpers/cairnd.js';

test('first boot → setup → token → cairnctl shares/status/history/rollback → restart', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cairnd-cp-'));
  const args = ['--data-dir', dir, '--host', '127.0.0.1', '--port', '0'];
  let d = await startCairnd(args);
  // cairnd (and the smbd it runs) first: smbd writes below the data dir
  // until it is gone (rm raced it once: ENOTEMPTY on samba/lock/msg.sock).
  t.after(async () => {
    await d.stop();
    await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  });

  // The setup line comes right after "listening".
  const deadline = Date.now() + 10_000;
  while (!d.logs.some((l) => String(l.msg).startsWith('first boot')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const setupLines = d.logs.filter((l) => String(l.msg).startsWith('first boot'));
  assert.equal(setupLines.length, 1, 'printed once');
  const token = (await readFile(join(dir, 'setup-token'), 'utf8')).trim();
  assert.ok(String(setupLines[0]!.msg).includes(token), 'the log line carries the token');
  assert.ok(String(setupLines[0]!.msg).includes(d.url), 'and the URL to open');

  const setup = await fetch(`${d.url}/api/v1/setup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, password: 'e2e-admin-password' }) });
  assert.equal(setup.status, 201);
  const cookies = setup.headers.getSetCookie().map((c) => c.split(';')[0]!);
  const csrf = cookies.find((c) => c.startsWith('cairn_csrf='))!.split('=')[1]!;
  const mk = await fetch(`${d.url}/api/v1/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie: cookies.join('; '), 'x-csrf-token': csrf },
    body: JSON.stringify({ name: 'cli', role: 'admin' }),
  });
  assert.equal(mk.status, 201);
  const apiToken = ((await mk.json()) as { token: string }).token;
  const tokenFile = join(dir, 'cli-token');
  await writeFile(tokenFile, `${apiToken}\n`, { mode: 0o600 });

  const ctl = (...a: string[]) => runToExit(process.execPath, [CAIRNCTL, '--url', d.url, '--token-file', tokenFile, ...a]);
  const noToken = await runToExit(process.execPath, [CAIRNCTL, '--url', d.url, 'shares'], { CAIRN_TOKEN: '' });
  assert.equal(noToken.code, 77);
  assert.match(noToken.stderr, /no token/);

  let r = await ctl('shares', 'create', 'projects', '--nfs', '10.0.0.0/24', '--nfs', '*:ro', '--smb');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /created share projects in pool local/);
  r = await ctl('shares', 'create', 'bad', '--nfs', 'not-an-ip');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /nfs\.clients\.0\.match: must be/);
  r = await ctl('shares');
  assert.match(r.stdout, /^NAME\s+POOL\s+PATH\s+NFS\s+SMB\s+PROBLEMS\nprojects\s+local\s+projects\s+10\.0\.0\.0\/24\(rw\),\*\(ro\)\s+rw\s+-\n$/);
  const json = JSON.parse((await ctl('--json', 'shares')).stdout);
  assert.equal(json.items[0].name, 'projects');
  // The reconciler made the share's directory in the local pool.
  assert.ok((await stat(join(dir, 'pools/local/projects'))).isDirectory());

  r = await ctl('status');
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /pool\/local\s+yes\s+0/);
  r = await ctl('pools');
  assert.match(r.stdout, /local\s+local\s+unreplicated\s+[\d.]+ GiB/);
  const disks = await fetch(`${d.url}/api/v1/disks`, { headers: { authorization: `Bearer ${apiToken}` } });
  assert.equal(disks.status, 200, 'real lsblk listing');
  assert.ok(Array.isArray(((await disks.json()) as { items: unknown[] }).items));
  r = await ctl('users');
  assert.match(r.stdout, /admin\s+1000\s+admin\s+yes/);
  r = await ctl('--json', 'history', '--limit', '3');
  const hist = JSON.parse(r.stdout) as { items: Array<{ revision: number; message: string }> };
  assert.equal(hist.items[0]!.message, 'create share projects');
  r = await ctl('history');
  assert.match(r.stdout, /create share projects/);

  r = await ctl('shares', 'delete', 'projects');
  assert.equal(r.code, 0);
  r = await ctl('rollback', String(hist.items[0]!.revision));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /rolled back to revision \d+: now revision \d+/);
  assert.match((await ctl('shares')).stdout, /projects/);
  r = await ctl('rollback', 'x');
  assert.equal(r.code, 64);

  assert.equal(await d.stop(), 0);
  d = await startCairnd(args);
  assert.ok(!d.logs.some((l) => String(l.msg).startsWith('first boot')), 'no setup token once set up');
  await assert.rejects(stat(join(dir, 'setup-token')));
  r = await ctl('--json', 'shares');
  assert.equal(JSON.parse(r.stdout).items[0].name, 'projects', 'state survives a restart');
  const me = await fetch(`${d.url}/api/v1/sessions/me`, { headers: { cookie: cookies.join('; ') } });
  assert.equal(me.status, 200, 'the console session survives a restart');
  const csrfCheck = await fetch(`${d.url}/api/v1/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie: cookies.join('; '), 'x-csrf-token': csrf },
    body: JSON.stringify({ name: 'after-restart', role: 'read-only' }),
  });
  assert.equal(csrfCheck.status, 201, 'with its CSRF token');
  assert.equal(((await stat(join(dir, 'auth/sessions.json'))).mode & 0o777).toString(8), '600');
  const audit = await readFile(join(dir, 'audit.log'), 'utf8');
  assert.match(audit, /"action":"create share","target":"projects"/);
  assert.match(audit, /"action":"rollback"/);
});
