/**
 * The console's Replication page end to end: the built console and the real
 * API (routes, auth, GeoRepReplication's summary) listening on a random
 * port, Debian's Chromium through playwright-core, and georep.ts's command
 * layer faked (a real session needs four appliances: the lab test
 * test/cluster/georep-lab.test.ts covers that). Asserted: the nav entry,
 * the lab's session with state, "in sync" and the last synced time; the
 * page refreshing by itself when the lag changes; a create refused with the
 * API's field error beside the field, then accepted; pause, resume and restart;
 * delete through the confirmation; this appliance's ssh key shown, a pasted
 * key with options refused beside its field, a bare one authorized.
 * Screenshots go to test-artifacts/console/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONSOLE_DIR } from '../../src/api/app.js';
import { GeoRepReplication } from '../../src/pool/gluster/georep.js';
import { RootSshKeys } from '../../src/replication/ssh-keys.js';
import { FakeGeo, labSession } from '../cluster/georep-fake.js';
import { ADMIN_PASSWORD, buildTestApi } from '../helpers/api.js';
import { launchConsoleBrowser } from '../helpers/console-browser.js';

test('console: Replication page shows lag and last synced, refreshes, creates, pauses and deletes sessions', { timeout: 120_000, skip: existsSync(`${DEFAULT_CONSOLE_DIR}/index.html`) ? false : 'console not built (npm run build -w web-ui)' }, async (t) => {
  const lab = await labSession();
  const geo = new FakeGeo(lab);
  geo.sessions.set('gv0 node4::backup', structuredClone(lab));
  // The clock the summary uses: 12 s after the lab's last sync, then moved on by the test.
  const now = { d: new Date(2026, 10, 28, 21, 41, 30) };
  const keyDir = await mkdtemp(join(tmpdir(), 'cairn-e2e-sshkeys-'));
  t.after(() => rm(keyDir, { recursive: true, force: true }));
  const api = await buildTestApi(t, { replication: new GeoRepReplication(geo, () => now.d), sshKeys: new RootSshKeys(join(keyDir, 'ssh')), consoleDir: DEFAULT_CONSOLE_DIR });
  await api.app.listen({ host: '127.0.0.1', port: 0 });
  const addr = api.app.server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const b = await launchConsoleBrowser();
  // Browser first, then the server.
  t.after(async () => {
    await b.close();
    await api.app.close();
  });
  const page = b.page;

  await page.goto(`${url}/`);
  await page.getByLabel('User name').fill('admin');
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Replication' }).click();
  await page.getByRole('heading', { name: 'Replication', level: 1 }).waitFor();
  const row = page.locator('tr[data-session="gv0:node4:backup"]');
  await row.waitFor();
  const text = await row.innerText();
  assert.match(text, /node4::backup/);
  assert.match(text, /active/);
  assert.match(text, /in sync/);
  assert.match(text, /2026-11-28 21:41:18/, 'last synced time, local');
  assert.match(text, /node1: Active/);
  assert.match(text, /node2: Passive/);
  await b.shot('replication-01-in-sync');

  // Changes wait on the secondary: the page shows the lag without a reload.
  const s = geo.sessions.get('gv0 node4::backup')!;
  s.pairs = s.pairs.map((p) => (p.status === 'Active' ? { ...p, data: 7 } : p));
  now.d = new Date(2026, 10, 28, 21, 43, 18);
  await row.locator('.lag').filter({ hasText: '2m 0s behind' }).waitFor({ timeout: 15_000 });
  assert.match(await row.innerText(), /\b7\b/, 'pending operations shown');
  await b.shot('replication-02-behind');

  // Create: a bad remote host is refused by the API, named beside its field.
  const form = page.getByRole('form', { name: 'New replication' });
  await form.getByLabel('Local volume').fill('gv0');
  await form.getByLabel('Remote appliance').fill('-oProxyCommand=x');
  await form.getByLabel('Remote volume').fill('dr');
  await form.getByRole('button', { name: 'Start replication' }).click();
  await page.locator('[name="remoteHost"][aria-invalid="true"]').waitFor();
  assert.equal(geo.calls.filter((c) => c.startsWith('create')).length, 0, 'nothing ran');
  await b.shot('replication-03-field-error');
  await form.getByLabel('Remote appliance').fill('nas-b');
  await form.getByLabel('SSH port').fill('2222');
  await form.getByRole('button', { name: 'Start replication' }).click();
  await page.locator('tr[data-session="gv0:nas-b:dr"]').waitFor();
  assert.ok(geo.calls.includes('create gv0 nas-b::dr ssh-port 2222'), JSON.stringify(geo.calls));

  // Pause and resume.
  const dr = page.locator('tr[data-session="gv0:nas-b:dr"]');
  await dr.getByRole('button', { name: 'Pause replication of gv0' }).click();
  await dr.locator('.badge').filter({ hasText: 'paused' }).waitFor();
  await dr.getByRole('button', { name: 'Resume replication of gv0' }).click();
  await dr.locator('.badge').filter({ hasText: 'active' }).waitFor();
  await dr.getByRole('button', { name: 'Restart replication of gv0' }).click();
  for (let i = 0; i < 100 && geo.calls.at(-1) !== 'start gv0 nas-b::dr'; i++) await page.waitForTimeout(100);
  assert.deepEqual(geo.calls.slice(-2), ['stop gv0 nas-b::dr force', 'start gv0 nas-b::dr']);

  // Delete, confirmed.
  await dr.getByRole('button', { name: 'Delete replication of gv0' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await dr.waitFor({ state: 'detached' });
  assert.deepEqual(geo.calls.slice(-2), ['stop gv0 nas-b::dr force', 'delete gv0 nas-b::dr']);
  await b.shot('replication-04-after-delete');

  // SSH keys: this appliance's key shown; a pasted key with options refused beside the field, a bare one authorized.
  await page.getByRole('button', { name: "Show this appliance's key" }).click();
  const own = (await page.getByLabel("This appliance's public key", { exact: true }).innerText()).trim();
  assert.match(own, /^ssh-ed25519 /);
  const keys = page.getByRole('form', { name: 'Authorize a primary appliance' });
  await keys.getByLabel('Its public key').fill(`command="id" ${own}`);
  await keys.getByRole('button', { name: 'Authorize' }).click();
  await page.locator('[name="key"][aria-invalid="true"]').waitFor();
  await keys.getByLabel('Its public key').fill(own);
  await keys.getByRole('button', { name: 'Authorize' }).click();
  await keys.getByText('Key authorized').waitFor();
  assert.equal((await readFile(join(keyDir, 'ssh', 'authorized_keys'), 'utf8')).trim(), own);
  await b.shot('replication-05-keys');
});
