/**
 * The console end to end: the real cairnd (local pool, temp data dir, port
 * 0) and Debian's Chromium through playwright-core. First-boot setup with
 * the setup token (a wrong one first), sign out and in, apply the
 * configuration as a task with progress, create a share (a client-side
 * schema error first) and see it listed with its mount command and UNC
 * path, edit it with a bad CIDR and see the API's field error beside the
 * field, settings with a refused and a saved workgroup, roll the creation
 * back from History, a narrow screen, a read-only
 * user made in the console who changes their own password, an API token
 * made in the console scraping
 * /metrics until it is revoked, sign out. Screenshots of every page go to
 * test-artifacts/console/. The share made in the console is checked over
 * the protocols cairnd serves: a file put with smbclient is listed and read
 * back with libnfs (nfs-ls, nfs-cp); after the rollback neither protocol
 * offers it any more.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCairnd, type RunningCairnd } from '../helpers/cairnd.js';
import { tool } from '../nfs/helpers/nfs-serve.js';
import { makeClient } from '../smb/client.js';
import { launchConsoleBrowser } from '../helpers/console-browser.js';

const PASSWORD = 'correct horse battery staple';

async function logLine(d: RunningCairnd, msg: string, ms = 20_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const hit = d.logs.find((l) => l.msg === msg);
    if (hit) return hit;
    if (Date.now() > deadline) throw new Error(`no "${msg}" log line from cairnd; stderr: ${d.stderr()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function eventually(what: string, check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('console: setup, sign in, create and edit a share with a field error, roll back from History, sign out', { timeout: 120_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-console-e2e-'));
  // One after-hook, in order: the browser, then cairnd (and the smbd it runs),
  // then their directory — removing it while smbd still writes fails.
  const cleanup: Array<() => Promise<unknown>> = [() => rm(dir, { recursive: true, force: true })];
  t.after(async () => {
    for (const step of cleanup.reverse()) await step().catch((e: unknown) => console.error('cleanup:', e));
  });
  // As /var/lib/cairn on the appliance: smbd serves share folders under it to users.
  await chmod(dir, 0o755);
  const d = await startCairnd(['--data-dir', dir, '--host', '127.0.0.1', '--port', '0']);
  cleanup.push(() => d.stop());
  const b = await launchConsoleBrowser();
  let finished = false;
  cleanup.push(async () => {
    // Keep what the page looked like when something failed.
    if (!finished) await b.shot('failure').catch(() => {});
    await b.close();
  });
  const { page } = b;
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  const api = async <T>(path: string): Promise<{ status: number; body: T }> => {
    const r = await page.request.get(`${d.url}${path}`);
    return { status: r.status(), body: (r.headers()['content-type'] ?? '').includes('json') ? ((await r.json()) as T) : ((await r.text()) as T) };
  };

  // --- First boot ----------------------------------------------------------
  await page.goto(`${d.url}/`);
  await page.getByRole('heading', { name: 'Set up Cairn' }).waitFor();
  await b.shot('01-setup-admin');
  const token = (await readFile(join(dir, 'setup-token'), 'utf8')).trim();
  assert.ok(
    d.logs.some((l) => String(l.msg).includes(token)),
    'the setup token is in the log too',
  );

  // A wrong token is refused with the API's sentence, and nothing is set up.
  await page.getByLabel('Setup token').fill('wrong-token-0000');
  await page.getByLabel('Appliance name').fill('nas1');
  await page.getByLabel('Administrator password').fill(PASSWORD);
  await page.getByLabel('Password again').fill(PASSWORD);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('alert').filter({ hasText: 'setup token is wrong' }).waitFor();

  await page.getByLabel('Setup token').fill(token);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('form', { name: 'Storage pool' }).waitFor();
  assert.match(await page.getByRole('form', { name: 'Storage pool' }).innerText(), /unreplicated/);
  await page.getByText(/No unused disks were found|Unused disks:|build a replicated pool from these disks|No disks to offer/).waitFor();
  await b.shot('02-setup-pool');
  await page.getByRole('button', { name: 'Use the local pool' }).click();

  await page.getByRole('form', { name: 'First shares' }).waitFor();
  await page.getByLabel('SMB share name').fill('projects');
  await page.getByLabel('NFS export name').fill('vmstore');
  await page.getByLabel('Allowed clients').fill('127.0.0.1/32, 10.0.0.0/8');
  await b.shot('03-setup-shares');
  await page.getByRole('button', { name: 'Create and finish' }).click();
  await page.getByRole('button', { name: 'Open the dashboard' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();

  const settings = await api<{ applianceName: string }>('/api/v1/settings');
  assert.equal(settings.body.applianceName, 'nas1');
  const firstShares = await api<{ items: Array<{ name: string; smb: { enabled: boolean }; nfs: { enabled: boolean; clients: Array<{ match: string }> } }> }>('/api/v1/shares');
  assert.deepEqual(
    firstShares.body.items.map((s) => [s.name, s.smb.enabled, s.nfs.enabled, s.nfs.clients.map((c) => c.match)]),
    [
      ['projects', true, false, []],
      ['vmstore', false, true, ['127.0.0.1/32', '10.0.0.0/8']],
    ],
  );

  // --- Sign out, sign in -----------------------------------------------------
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to Cairn' }).waitFor();
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'Wrong user name or password' }).waitFor();
  await b.shot('04-login-error');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  // The dashboard polls /metrics: wait for two scrapes so the plots have a point.
  await page.waitForTimeout(3500);
  const dash = await page.getByRole('main').innerText();
  assert.match(dash, /local\s+unreplicated/);
  assert.match(dash, /2\s*\n*\s*1 SMB, 1 NFS/);
  assert.doesNotMatch(dash, /Live throughput is unavailable/);
  // The components the reconciler drives, with what they serve (polled: wait for it).
  const components = page.getByRole('list', { name: 'Components' });
  await components.getByText(/NFS :\d+ 1 export/).waitFor();
  await components.getByText(/SMB :\d+ 1 share/).waitFor();
  await b.shot('05-dashboard');

  // Keyboard: a new page puts focus on its heading (screen readers announce
  // it); Tab goes on into the page, not back to the top of the navigation.
  assert.equal(await page.evaluate('document.activeElement?.id'), 'page-title');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate('document.activeElement?.closest("main") !== null'), true);

  // A long action with progress: apply the configuration now (a task).
  await page.getByRole('button', { name: 'Apply now' }).click();
  const task = page.locator('section.task');
  await task.filter({ hasText: /done/ }).waitFor();
  assert.match(await task.innerText(), /Reconcile all components/);
  await page.getByRole('button', { name: 'Apply now' }).waitFor({ state: 'visible' });

  // --- Create a share and see it listed ------------------------------------
  await page.getByRole('link', { name: 'Shares', exact: true }).click();
  await page.getByRole('heading', { name: 'Shares' }).waitFor();
  await page.getByRole('link', { name: 'New share' }).click();
  await page.getByRole('heading', { name: 'New share' }).waitFor();

  // The client validates against the API's own schema before sending.
  await page.getByLabel('Name', { exact: true }).fill('bad name!');
  await page.getByRole('button', { name: 'Create share' }).click();
  await page.locator('[data-field="name"]').waitFor();
  assert.match(await page.locator('[data-field="name"]').innerText(), /expected form|share name/i);

  await page.getByLabel('Name', { exact: true }).fill('media');
  await page.getByLabel('Export over NFS (v3)').check();
  await page.getByLabel('Client 1', { exact: true }).fill('127.0.0.1');
  await page.getByLabel('Share over SMB (Windows, macOS)').check();
  await page.getByLabel('Recycle bin (deleted files go to .recycle)').check();
  await b.shot('06-share-new');
  await page.getByRole('button', { name: 'Create share' }).click();
  await page.getByRole('heading', { name: 'Shares' }).waitFor();
  const card = page.locator('[data-share="media"]');
  await card.waitFor();
  const cardText = await card.innerText();
  assert.match(cardText, /mount -t nfs -o vers=3 127\.0\.0\.1:\/media \/mnt/);
  assert.match(cardText, /\\\\127\.0\.0\.1\\media/);
  await b.shot('07-shares');

  // --- The share over the protocols: SMB in, NFS out ---------------------------
  await eventually('the reconciler applies the share', async () => {
    const r = await api<{ problems?: unknown[] }>('/api/v1/shares/media');
    return r.status === 200 && Array.isArray(r.body.problems) && r.body.problems.length === 0;
  });
  const nfsPort = Number((await logLine(d, 'nfs listening')).port);
  const smbPort = Number((await logLine(d, 'smb listening')).port);
  const nfsUrl = (p: string) => `nfs://127.0.0.1/media${p}?version=3&nfsport=${nfsPort}&mountport=${nfsPort}`;
  const text = `written over SMB, read over NFS ${Date.now()}\n`;
  await writeFile(join(dir, 'hello.txt'), text);
  const smb = await makeClient(join(dir, 'smbclient'), smbPort);
  const put = await smb.run('media', 'put hello.txt hello.txt', { user: 'admin', password: PASSWORD, cwd: dir });
  assert.equal(put.status, null, put.out);
  assert.match((await tool('nfs-ls', [nfsUrl('')], 20_000)).stdout, /hello\.txt/);
  const cp = await tool('nfs-cp', [nfsUrl('/hello.txt'), join(dir, 'via-nfs.txt')], 20_000);
  assert.equal(cp.code, 0, cp.stderr);
  assert.equal(await readFile(join(dir, 'via-nfs.txt'), 'utf8'), text);

  // --- Edit with a bad CIDR: the API's field error shows beside the field ----
  await page.getByRole('link', { name: 'Edit media' }).click();
  await page.getByRole('heading', { name: 'Edit share media' }).waitFor();
  await page.getByLabel('Client 1', { exact: true }).fill('10.0.0.300/8');
  await page.getByRole('button', { name: 'Save changes' }).click();
  const fieldError = page.locator('[data-field="nfs.clients.0.match"]');
  await fieldError.waitFor();
  assert.ok((await fieldError.innerText()).length > 3);
  assert.equal(await page.getByLabel('Client 1', { exact: true }).getAttribute('aria-invalid'), 'true');
  assert.match(await page.getByRole('alert').first().innerText(), /invalid|not valid|check the marked field/i);
  await b.shot('08-share-edit-bad-cidr');
  const unchanged = await api<{ nfs: { clients: Array<{ match: string }> } }>('/api/v1/shares/media');
  assert.deepEqual(
    unchanged.body.nfs.clients.map((c) => c.match),
    ['127.0.0.1'],
    'a refused edit changes nothing',
  );
  await page.getByLabel('Client 1', { exact: true }).fill('127.0.0.0/8');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByRole('heading', { name: 'Shares' }).waitFor();
  const edited = await api<{ nfs: { clients: Array<{ match: string }> }; smb: { recycleBin: boolean } }>('/api/v1/shares/media');
  assert.deepEqual(
    edited.body.nfs.clients.map((c) => c.match),
    ['127.0.0.0/8'],
  );
  assert.equal(edited.body.smb.recycleBin, true);

  // --- The other pages render ------------------------------------------------
  for (const [link, heading, shot] of [
    ['Pools and disks', 'Pools and disks', '09-pools'],
    ['Users and groups', 'Users and groups', '10-users'],
    ['API tokens', 'API tokens', '11-tokens'],
    ['Settings', 'Settings', '12-settings'],
  ] as const) {
    await page.getByRole('link', { name: link, exact: true }).click();
    await page.getByRole('heading', { name: heading, exact: true }).waitFor();
    await page.waitForLoadState('networkidle');
    await b.shot(shot);
  }

  // --- Settings: a bad workgroup is refused beside its field, a good one saved --
  await page.getByRole('link', { name: 'Settings', exact: true }).click();
  await page.getByLabel('SMB workgroup').fill('not a workgroup!');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.locator('[data-field="smb.workgroup"]').waitFor();
  await page.getByLabel('SMB workgroup').fill('OFFICE');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
  assert.equal((await api<{ smb: { workgroup: string } }>('/api/v1/settings')).body.smb.workgroup, 'OFFICE');

  // --- An API token made in the console works for /metrics, then is revoked ---
  await page.getByRole('link', { name: 'API tokens', exact: true }).click();
  const newToken = page.getByRole('form', { name: 'New token' });
  await newToken.getByLabel('Name').fill('monitoring');
  await newToken.getByRole('button', { name: 'Create token' }).click();
  const secret = (await page.getByLabel('New API token', { exact: true }).innerText()).trim();
  assert.match(secret, /^\S{20,}$/);
  const scrape = await fetch(`${d.url}/metrics`, { headers: { authorization: `Bearer ${secret}` } });
  assert.equal(scrape.status, 200);
  assert.match(await scrape.text(), /cairn_state_revision/);
  await b.shot('11-tokens-created');
  await page.getByRole('button', { name: 'Revoke token monitoring' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
  await page.getByRole('button', { name: 'Revoke token monitoring' }).waitFor({ state: 'detached' });
  assert.equal((await fetch(`${d.url}/metrics`, { headers: { authorization: `Bearer ${secret}` } })).status, 401);

  // --- Roll the share's creation back from History ---------------------------
  await page.getByRole('link', { name: 'History', exact: true }).click();
  await page.getByRole('heading', { name: 'History' }).waitFor();
  const created = page.locator('li.revision').filter({ hasText: 'create share media' });
  await created.waitFor();
  const createdRev = Number(await created.getAttribute('data-revision'));
  assert.ok(createdRev > 1);
  await created.getByRole('button', { name: 'Show changes' }).click();
  await created.locator('table.diff').waitFor();
  const diffText = await created.locator('table.diff').innerText();
  assert.match(diffText, /shares\[media\]\.name\s+"media"/);
  assert.match(diffText, /shares\[media\]\.nfs\.clients\.0\.match\s+"127\.0\.0\.1"/);
  await b.shot('13-history');
  const before = page.locator(`li.revision[data-revision="${createdRev - 1}"]`);
  await before.getByRole('button', { name: `Roll back to revision ${createdRev - 1}` }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Roll back' }).click();
  await page.getByRole('status').filter({ hasText: `Rolled back to revision ${createdRev - 1}.` }).waitFor();
  await page.locator('li.revision').filter({ hasText: /roll/i }).first().waitFor();
  await b.shot('14-history-rolled-back');
  const after = await api<{ items: Array<{ name: string }> }>('/api/v1/shares');
  assert.deepEqual(
    after.body.items.map((s) => s.name),
    ['projects', 'vmstore'],
    'the share created after that revision is gone',
  );
  await page.getByRole('link', { name: 'Shares', exact: true }).click();
  await page.locator('[data-share="vmstore"]').waitFor();
  assert.equal(await page.locator('[data-share="media"]').count(), 0);
  // …and no protocol offers it any more (its files stay in the pool).
  await eventually('the NFS export is withdrawn', async () => (await tool('nfs-ls', [nfsUrl('')], 20_000)).code !== 0);
  await eventually('the SMB share is withdrawn', async () => {
    const r = await smb.run('media', 'ls', { user: 'admin', password: PASSWORD, cwd: dir });
    return r.status === 'NT_STATUS_BAD_NETWORK_NAME';
  });

  // --- A narrow screen -------------------------------------------------------
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByRole('link', { name: 'Edit vmstore' }).click();
  await page.getByRole('heading', { name: 'Edit share vmstore' }).waitFor();
  const overflow = (await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')) as number;
  assert.ok(overflow <= 1, `no sideways scrolling on a narrow screen (overflow ${overflow}px)`);
  await b.shot('15-narrow-share-edit');
  await page.setViewportSize({ width: 1280, height: 800 });

  // --- A read-only user made in the console (after the rollback, which would undo it)
  await page.getByRole('link', { name: 'Users and groups', exact: true }).click();
  const newUser = page.getByRole('form', { name: 'New user' });
  await newUser.waitFor();
  await newUser.getByLabel('User name').fill('viewer');
  await newUser.getByLabel('Full name').fill('Read Only');
  await newUser.getByLabel('Password').fill('short');
  await newUser.getByLabel('Console access').selectOption('read-only');
  await newUser.getByRole('button', { name: 'Add user' }).click();
  await newUser.locator('[data-field="password"]').waitFor(); // too short, says the API's schema
  await newUser.getByLabel('Password').fill(PASSWORD);
  await newUser.getByRole('button', { name: 'Add user' }).click();
  await page.getByRole('cell', { name: 'Read Only' }).waitFor();

  // --- Sign out ---------------------------------------------------------------
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to Cairn' }).waitFor();
  assert.equal((await api('/api/v1/sessions/me')).status, 401, 'the session is over on the server too');
  await b.shot('16-signed-out');

  // The read-only user sees shares but is offered no changes.
  await page.getByLabel('User name').fill('viewer');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Apply now' }).count(), 0);
  await page.getByRole('link', { name: 'Shares', exact: true }).click();
  await page.locator('[data-share="vmstore"]').waitFor();
  assert.equal(await page.getByRole('link', { name: 'New share' }).count(), 0);
  assert.equal(await page.getByRole('link', { name: 'Edit vmstore' }).count(), 0);
  await b.shot('17-read-only-shares');
  // Any role changes its own password; a wrong current one is a field error, not a sign-out.
  await page.getByRole('link', { name: 'Your account: viewer' }).click();
  await page.getByLabel('Current password').fill('not it at all');
  await page.getByLabel('New password', { exact: true }).fill(`${PASSWORD} 2`);
  await page.getByLabel('New password again').fill(`${PASSWORD} 2`);
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.locator('[data-field="currentPassword"]').waitFor();
  await page.getByLabel('Current password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.getByRole('status').filter({ hasText: 'Password changed.' }).waitFor();
  await b.shot('18-account');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to Cairn' }).waitFor();
  await page.getByLabel('User name').fill('viewer');
  await page.getByLabel('Password').fill(`${PASSWORD} 2`);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to Cairn' }).waitFor();
  assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
  finished = true;
});
