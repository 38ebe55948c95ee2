/**
 * The Cluster page's "Clustered SMB" section in Debian's Chromium against
 * real cairnds running real CTDB: two appliances of the multi-appliance lab
 * (test/lab/lab.ts), each a full `cairnd run` with a local SMB share (the
 * SMB driver only runs with a share), joined through the API. On node1's
 * console:
 *
 * - the section says clustered SMB is off;
 * - a bad public address line is refused beside the field before anything
 *   is sent; an error only the API finds (nine interfaces, the schema
 *   allows eight) shows beside the same field as "Line 1: …";
 * - turning it on with two public addresses: both appliances' CTDB nodes
 *   show OK, each address shows the appliance holding it — the same one
 *   `ctdb ip` names — and the lock volume (cairn-state, mounted);
 * - turning it off asks first (Escape cancels and nothing changes), then
 *   the state says off and CTDB stops.
 *
 * No part of cluster SMB is faked. Set-up as in test/cluster/smb-lab.test.ts
 * (the same DATA_DIR path on every node for CTDB's lock path, private
 * /etc/ctdb and /var/lib/ctdb per node). Root only; skipped otherwise.
 */
import assert from 'node:assert/strict';
import { cp, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { hashPassword, ntHash } from '../../src/auth/password.js';
import { TokenStore } from '../../src/auth/tokens.js';
import { initialState } from '../../src/state/schema.js';
import { StateStore } from '../../src/state/store.js';
import { launchConsoleBrowser, type ConsoleBrowser } from '../helpers/console-browser.js';
import { Lab, startCairndOn, type LabCairnd, type LabNode } from '../lab/lab.js';
import { pollUntil } from '../cluster/helpers.js';
import { freePort } from '../smb/client.js';

const isRoot = process.getuid?.() === 0;
const PASSWORD = 'admin-password-1';

interface Appliance {
  c: LabCairnd;
  node: LabNode;
  api: (method: string, path: string, body?: unknown, timeoutMs?: number) => Promise<{ status: number; json: any }>;
}

async function appliance(node: LabNode, dataDir: string, smbPort: number, stopLater: (a: LabCairnd) => void): Promise<Appliance> {
  const hostDir = join(node.state.dir, 'cairn');
  const store = await StateStore.open(join(hostDir, 'state'), { initial: () => initialState(dataDir) });
  const hash = await hashPassword(PASSWORD, { N: 1024, r: 8, p: 1 });
  await store.update('lab', 'admin', (s) => void s.users.push({ name: 'admin', uid: 1000, fullName: 'Admin', role: 'admin', passwordHash: hash, ntHash: ntHash(PASSWORD), enabled: true }));
  const { token } = await (await TokenStore.open(join(hostDir, 'auth'))).create({ name: 'lab', role: 'admin', createdBy: 'admin' });
  await node.bindMount(hostDir, dataDir);
  await cp('/etc/ctdb', join(hostDir, 'ctdb-ns', 'etc'), { recursive: true });
  await mkdir(join(hostDir, 'ctdb-ns', 'var-lib'), { recursive: true });
  await node.bindMount(join(hostDir, 'ctdb-ns', 'etc'), '/etc/ctdb');
  await node.bindMount(join(hostDir, 'ctdb-ns', 'var-lib'), '/var/lib/ctdb');
  const c = await startCairndOn(node, { dataDir, args: ['--smb-port', String(smbPort)] });
  stopLater(c);
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
  // A local share with SMB on: without one the SMB driver (and so CTDB) stays idle.
  const sh = await api('POST', '/shares', { name: 'pub', pool: 'local', path: 'pub', smb: { enabled: true } });
  assert.equal(sh.status, 201, JSON.stringify(sh.json));
  await mkdir(join(hostDir, 'pools', 'local', 'pub'), { recursive: true });
  return { c, node, api };
}

const until = <T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs: number, logs?: () => string) => pollUntil(what, fn, timeoutMs, logs, 1000);

async function login(page: Page, url: string): Promise<void> {
  const r = await page.request.post(`${url}/api/v1/sessions`, { data: { username: 'admin', password: PASSWORD } });
  assert.equal(r.status(), 200, await r.text());
}

test('console: clustered SMB shown, turned on with public addresses and off again, against real CTDB', { skip: !isRoot && 'needs root', timeout: 420_000 }, async (t) => {
  const t0 = Date.now();
  // One hook, in this order (node:test runs after-hooks first-registered
  // first): the failure screenshot while the appliances still answer, the
  // browser, the cairnds, then the lab they run in.
  let lab: Lab | undefined;
  const cairnds: LabCairnd[] = [];
  let b: ConsoleBrowser | undefined;
  let finished = false;
  const pageErrors: string[] = [];
  t.after(async () => {
    if (b && !finished) await b.shot('cluster-smb-failure').catch(() => undefined);
    if (!finished && pageErrors.length) console.error('page errors:', pageErrors);
    await b?.close();
    for (const c of cairnds) await c.stop().catch(() => undefined);
    await lab?.down();
  });
  lab = await Lab.up(2);

  const dataDir = join(lab.state.dir, 'cairn-data');
  await mkdir(dataDir, { recursive: true });
  const smbPort = await freePort();
  const apps: Appliance[] = [];
  for (const node of lab.nodes) apps.push(await appliance(node, dataDir, smbPort, (c) => cairnds.push(c)));
  const [n1, n2] = apps as [Appliance, Appliance];
  const logs = () => apps.map((a) => `---- ${a.node.name}\n${a.c.log().split('\n').slice(-25).join('\n')}`).join('\n');

  const tok = await n2.api('POST', '/cluster/join-token');
  assert.equal(tok.status, 201, JSON.stringify(tok.json));
  const added = await n1.api('POST', '/cluster/members', { address: n2.node.ip, token: tok.json.token }, 120_000);
  assert.equal(added.status, 201, JSON.stringify(added.json));
  for (const a of apps) await until(`${a.node.name} synced`, async () => (await a.api('GET', '/cluster')).json.sharedState?.phase === 'synced', 90_000, logs);
  t.diagnostic(`lab up, two cairnds joined and synced in ${Date.now() - t0} ms`);

  b = await launchConsoleBrowser();
  const { page } = b;
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  const failed: string[] = [];
  page.on('requestfailed', (r) => failed.push(`${new Date().toISOString()} ${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
  t.after(() => failed.length && t.diagnostic(`requests that failed: ${failed.join('; ')}`));
  await login(page, n1.c.url);
  await page.goto(`${n1.c.url}/#/cluster`);
  const section = page.getByTestId('cluster-smb');
  const state = page.getByTestId('cluster-smb-state');
  await state.waitFor();
  assert.match(await state.innerText(), /Clustered SMB is off/);
  const form = page.getByRole('form', { name: 'Clustered SMB settings' });
  const addresses = form.getByLabel('Public addresses');
  const fieldError = form.locator('[data-field="publicAddresses"]');
  const puts: string[] = [];
  page.on('request', (r) => void (r.method() === 'PUT' && r.url().endsWith('/cluster/smb') && puts.push(r.postData() ?? '')));

  // Checked beside the field before anything is sent.
  const publics = [lab.spareAddress(0), lab.spareAddress(1)];
  await form.getByLabel('NetBIOS name of the cluster').fill('CAIRNLAB');
  await addresses.fill(`${publics[0]}/24@eth0\n10.0.0.300/24@eth0`);
  await form.getByRole('button', { name: 'Turn on clustered SMB' }).click();
  await fieldError.waitFor();
  assert.equal(await fieldError.innerText(), 'Line 2: 10.0.0.300 is not an IPv4 or IPv6 address.');
  assert.equal(await addresses.getAttribute('aria-invalid'), 'true');
  assert.deepEqual(puts, [], 'nothing sent while a line is bad');

  // The API's schema, checked in the page (at most eight interfaces): beside the same field, by line.
  await addresses.fill(`\n${publics[0]}/24@a,b,c,d,e,f,g,h,i`);
  await form.getByRole('button', { name: 'Turn on clustered SMB' }).click();
  await until('the schema error beside the field', async () => /^Line 2: /.test((await fieldError.innerText().catch(() => '')) || '') || undefined, 20_000);
  assert.equal(await fieldError.innerText(), 'Line 2: At most 8 entries.');
  assert.deepEqual(puts, []);
  // What only the API finds (a duplicate address) comes back from it beside the same field, by line.
  await addresses.fill(`${publics[0]}/24@eth0\n\n${publics[1]}/24@eth0\n${publics[0]}/24@eth1`);
  await form.getByRole('button', { name: 'Turn on clustered SMB' }).click();
  await until('the API error beside the field', async () => /^Line 4: /.test((await fieldError.innerText().catch(() => '')) || '') || undefined, 20_000);
  assert.equal(await fieldError.innerText(), `Line 4: Address "${publics[0]}" is already used by line 1.`);
  assert.equal(puts.length, 1, 'sent once, refused by the API');
  assert.equal((await n1.api('GET', '/cluster/smb')).json.enabled, false, 'refused: nothing changed');
  await b.shot('cluster-smb-01-errors');

  // On with two public addresses.
  await addresses.fill(publics.map((p) => `${p}/24@eth0`).join('\n'));
  await form.getByRole('button', { name: 'Turn on clustered SMB' }).click();
  await section.getByRole('status').filter({ hasText: 'Clustered SMB settings saved' }).waitFor({ timeout: 30_000 });
  const tOn = Date.now();
  const api = (await n1.api('GET', '/cluster/smb')).json;
  assert.equal(api.enabled, true);
  assert.deepEqual(api.nodes, [n1.node.name, n2.node.name]);
  assert.deepEqual(
    api.publicAddresses.map((a: { address: string }) => a.address),
    publics,
  );

  // Both CTDB nodes OK on the page, every address held by an appliance.
  const nodeRows = page.getByTestId('ctdb-nodes').locator('tbody tr');
  await until(
    'both CTDB nodes ok and both addresses held, on the page',
    async () => {
      const rows = await nodeRows.allInnerTexts();
      const held = await page.getByTestId('smb-public-addresses').locator('tbody tr').allInnerTexts();
      return rows.length === 2 && rows.every((r) => /\bok\b/.test(r)) && held.length === 2 && held.every((h) => /\bnode[12]\b/.test(h)) ? true : undefined;
    },
    180_000,
    logs,
  );
  t.diagnostic(`CTDB OK and addresses held on the page ${Date.now() - tOn} ms after turning it on`);
  assert.match(await nodeRows.nth(0).innerText(), new RegExp(`^0\\s+${n1.node.name} ${n1.node.ip.replace(/\./g, '\\.')} \\(this one\\)`));
  assert.match(await nodeRows.nth(1).innerText(), new RegExp(`^1\\s+${n2.node.name} ${n2.node.ip.replace(/\./g, '\\.')}`));
  assert.match(await page.getByTestId('cluster-smb-lock').innerText(), /Lock volume: Gluster volume cairn-state, mounted; CTDB's cluster lock is \S+\/cluster\/state\/\.ctdb-cluster-lock\./);
  // The holder shown is the one CTDB names.
  const { stdout } = await n1.node.exec(['ctdb', 'ip'], 20_000);
  for (const p of publics) {
    const pnn = Number(new RegExp(`^${p.replace(/\./g, '\\.')} (\\d+)$`, 'm').exec(stdout)?.[1]);
    const row = await page.getByTestId('smb-public-addresses').locator(`tr[data-address="${p}"]`).innerText();
    // The interface is known for the addresses this appliance holds (`ctdb ip -v` reports only its own).
    const holder = [n1, n2][pnn]!.node.name;
    assert.match(row, new RegExp(`\\s${holder}${holder === n1.node.name ? ' on eth0' : ''}$`), `${p}: page says "${row}", ctdb ip says\n${stdout}`);
  }
  await b.shot('cluster-smb-02-on');

  // Off: Escape cancels the confirmation, the dialog's button turns it off.
  await form.getByRole('button', { name: 'Turn off clustered SMB' }).click();
  const dialog = page.getByRole('dialog', { name: 'Turn off clustered SMB?' });
  await dialog.waitFor();
  assert.match(await dialog.innerText(), new RegExp(`public addresses ${publics.join(', ').replace(/\./g, '\\.')} go away`));
  await b.shot('cluster-smb-03-confirm-off');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  assert.equal((await n1.api('GET', '/cluster/smb')).json.enabled, true, 'cancelled: still on');
  await form.getByRole('button', { name: 'Turn off clustered SMB' }).click();
  await dialog.getByRole('button', { name: 'Turn off' }).click();
  await section.getByRole('status').filter({ hasText: 'Clustered SMB is turned off' }).waitFor({ timeout: 30_000 });
  assert.match(await state.innerText(), /Clustered SMB is off/);
  const offApi = (await n1.api('GET', '/cluster/smb')).json;
  assert.equal(offApi.enabled, false);
  assert.deepEqual(offApi.publicAddresses.map((a: { address: string }) => a.address), publics, 'the addresses are kept');
  for (const a of apps) await until(`CTDB stopped on ${a.node.name}`, async () => (await a.api('GET', '/cluster/smb')).json.runtime?.ctdb === 'stopped', 120_000, logs);
  await page.getByTestId('ctdb-nodes').waitFor({ state: 'detached', timeout: 15_000 });
  await b.shot('cluster-smb-04-off');
  assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
  finished = true;
  t.diagnostic(`run time ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});
