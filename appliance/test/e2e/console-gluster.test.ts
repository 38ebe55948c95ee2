/**
 * The console against a real cairnd whose pool is a real Gluster volume,
 * in Debian's Chromium. cairnd runs inside a GlusterLab's mount and
 * network namespaces (its gluster CLI reaches the lab's glusterd, the
 * bricks it mounts are the ones glusterd serves; the browser reaches it
 * over the lab's veth); its disks are loop files. Through the UI only:
 *
 * - first boot picks three disks: an empty replica-3 pool, then the disks
 *   as a task whose progress shows; the reconciler makes the volume;
 * - Pools and disks: add three more disks (add-brick) with progress;
 * - a brick's disk vanishes (detached, its process killed, unmounted):
 *   the brick shows down, Replace swaps it for a fresh disk and the task
 *   follows heal to the end;
 * - Cluster: a join token shown with its validity; adding an appliance
 *   with a wrong token or an address where no cairnd answers is refused
 *   with the API's sentence beside the field.
 *
 * Each result is checked through the API and against Gluster itself
 * (volume info and status). console-cluster.test.ts adds an appliance.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { launchConsoleBrowser, type ConsoleBrowser } from '../helpers/console-browser.js';
import { inNamespacesOf, setupTokenOf, startCairndVia } from '../helpers/console-cairnd.js';
import type { RunningCairnd } from '../helpers/cairnd.js';
import { GlusterLab, killAndWait } from '../pool/gluster/lab.js';
import { createLoopDisk, detachLoopDisk } from '../../src/pool/gluster/disks.js';

const run = promisify(execFile);
const PASSWORD = 'correct horse battery staple';
const DISK_BYTES = 512 << 20;

interface PoolView {
  id: string;
  kind: string;
  replica: number;
  bricks: Array<{ host: string; path: string }>;
  capacity: { totalBytes: number } | null;
}

async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) assert.fail(`not within ${ms} ms: ${what}${last ? ` (${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** One after-hook running steps in order; a failed run keeps a screenshot. */
function cleanupList(t: { after: (f: () => unknown) => void }) {
  const steps: Array<() => Promise<unknown>> = [];
  t.after(async () => {
    for (const s of steps) await s().catch((e: unknown) => console.error('cleanup:', e));
  });
  return steps;
}

async function setUpAndSignIn(page: Page, d: RunningCairnd, dataDir: string): Promise<void> {
  await page.goto(`${d.url}/`);
  await page.getByRole('heading', { name: 'Set up Cairn' }).waitFor();
  await page.getByLabel('Setup token').fill(await setupTokenOf(dataDir));
  await page.getByLabel('Appliance name').fill('nas1');
  await page.getByLabel('Administrator password').fill(PASSWORD);
  await page.getByLabel('Password again').fill(PASSWORD);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('form', { name: 'Storage pool' }).waitFor();
}

test('console on a Gluster pool: first-boot disks, add disks, replace a dead brick, cluster join token and refused joins', { timeout: 180_000 }, async (t) => {
  const started = Date.now();
  const first = cleanupList(t);
  const dir = await mkdtemp(join(tmpdir(), 'cairn-console-gl-'));
  await chmod(dir, 0o755);
  const dataDir = join(dir, 'data');
  let browser: ConsoleBrowser | undefined;
  let d: RunningCairnd | undefined;
  let finished = false;
  const pageErrors: string[] = [];
  first.push(async () => {
    if (browser && !finished) await browser.shot('gluster-failure').catch(() => {});
    if (!finished && pageErrors.length) console.error('page errors:', pageErrors);
    await browser?.close();
  });
  first.push(async () => d?.stop());
  // After cairnd: the lab kills what is left in its namespaces; the bricks
  // cairnd mounted there go with its mount namespace. Then the loop devices.
  const lab = await GlusterLab.start(t);
  const loops: string[] = [];
  const last = cleanupList(t);
  last.push(async () => {
    for (const l of loops) await detachLoopDisk(l).catch(() => undefined);
  });
  last.push(() => rm(dir, { recursive: true, force: true }));
  for (let i = 0; i < 7; i++) loops.push(await createLoopDisk(join(dir, `disk${i}.img`), DISK_BYTES));
  const [setupDisks, moreDisks, spareDisk] = [loops.slice(0, 3), loops.slice(3, 6), loops[6]!];
  // Too small for XFS: refused before anything is erased.
  const small = await createLoopDisk(join(dir, 'small.img'), 128 << 20);
  loops.push(small);

  await mkdir(dataDir, { mode: 0o755 });
  d = await startCairndVia(inNamespacesOf(lab.anchorPid), ['--data-dir', dataDir, '--host', lab.host, '--port', '0'], { CAIRN_CLUSTER_HOSTNAME: lab.host });
  browser = await launchConsoleBrowser();
  const b = browser;
  const { page } = b;
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  const api = async <T>(path: string): Promise<T> => {
    const r = await page.request.get(`${d!.url}/api/v1${path}`);
    assert.equal(r.status(), 200, `GET ${path}: ${await r.text()}`);
    return (await r.json()) as T;
  };
  const brickNames = (p: PoolView) => p.bricks.map((x) => `${x.host}:${x.path}`);
  const disk = (dev: string) => page.getByLabel(new RegExp(`^${dev} — .*loop device`));

  // --- First boot: three disks become a replica-3 pool -------------------------
  await setUpAndSignIn(page, d, dataDir);
  const poolForm = page.getByRole('form', { name: 'Storage pool' });
  const pick = (dev: string) => poolForm.locator('label').filter({ hasText: new RegExp(`^${dev} — `) }).click();
  await pick(setupDisks[0]!);
  await pick(setupDisks[1]!);
  await pick(small);
  assert.equal(await poolForm.getByLabel('Copies').inputValue(), '3+0', 'three disks: three copies by default');
  await poolForm.getByRole('alert').filter({ hasText: 'will be erased' }).waitFor();
  // Nothing happens before "erase" is typed.
  assert.equal(await poolForm.getByRole('button', { name: 'Erase the disks and create the pool' }).isDisabled(), true);
  await poolForm.getByLabel('Type "erase" to confirm').fill('erase');
  await poolForm.getByRole('button', { name: 'Erase the disks and create the pool' }).click();
  // The API refuses the small disk before any task: its reason shows beside it.
  const tooSmall = poolForm.locator(`[data-field="disks.${small}"]`);
  await tooSmall.waitFor();
  assert.match(await tooSmall.innerText(), /^Is too small \(128 MiB\): a brick needs at least 300 MiB\.$/);
  await b.shot('gl-01-setup-small-disk');
  assert.equal(await poolForm.locator('section.task').count(), 0, 'no task started');
  // Retried with another disk: the empty pool made by the first try is reused.
  await pick(small);
  await pick(setupDisks[2]!);
  await b.shot('gl-01-setup-disks');
  await poolForm.getByRole('button', { name: 'Erase the disks and create the pool' }).click();
  const setupTask = poolForm.locator('section.task');
  await setupTask.waitFor();
  await poolForm.getByRole('status').filter({ hasText: 'The disks are ready' }).waitFor({ timeout: 60_000 });
  assert.match(await setupTask.innerText(), /done/);
  await b.shot('gl-02-setup-disks-done');
  await poolForm.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('form', { name: 'First shares' }).waitFor();
  await page.getByRole('button', { name: 'Skip' }).click();
  await page.getByRole('button', { name: 'Open the dashboard' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();

  let pool = await api<PoolView>('/pools/data');
  assert.equal(pool.kind, 'gluster');
  assert.equal(pool.replica, 3);
  assert.equal(pool.bricks.length, 3);
  assert.ok(pool.bricks.every((x) => x.host === lab.host));
  const volume = await eventually('the reconciler creates and starts volume data', async () => {
    const v = await lab.volumes.info('data');
    return v.state === 'Started' && v;
  });
  assert.deepEqual(volume.bricks.map((x) => x.name), brickNames(pool));
  assert.equal(volume.replicaCount, 3);

  // --- Pools and disks: add three disks ---------------------------------------
  await page.getByRole('link', { name: 'Pools and disks', exact: true }).click();
  await page.getByRole('heading', { name: 'Pools and disks' }).waitFor();
  const card = page.locator('section.pool').filter({ has: page.getByRole('heading', { name: /^data/ }) });
  await card.getByText('replica 3, 3 bricks').waitFor();
  // By keyboard: Enter opens the form and focus lands on its heading.
  // The button stays disabled until the page has read the API's schemas and the spare disks
  // (slow on a loaded machine); a key pressed on a disabled button does nothing.
  const addButton = card.getByRole('button', { name: 'Add disks', disabled: false });
  await addButton.waitFor();
  await addButton.press('Enter');
  const add = page.getByRole('form', { name: 'Add disks to data' });
  await add.waitFor();
  await page.waitForFunction(`document.activeElement?.tagName === 'H3' && document.activeElement.textContent === 'Add disks to data'`);
  await add.getByText('Disks join the pool in sets of 3').waitFor();
  await add.locator('label').filter({ hasText: new RegExp(`^${moreDisks[0]} — `) }).click();
  // Two disks do not make a replica set: refused on the page already.
  await add.locator('label').filter({ hasText: new RegExp(`^${moreDisks[1]} — `) }).click();
  await add.getByText('2 disks picked: pick a multiple of 3.').waitFor();
  await add.locator('label').filter({ hasText: new RegExp(`^${moreDisks[2]} — `) }).click();
  await add.getByLabel('Type "erase" to confirm').fill('erase');
  await b.shot('gl-03-add-disks');
  await add.getByRole('button', { name: 'Erase and add' }).click();
  const addTask = page.locator('section.task').filter({ hasText: 'Add 3 disk(s) to pool data' });
  await addTask.waitFor();
  await addTask.filter({ hasText: /done/ }).waitFor({ timeout: 60_000 });
  assert.match(await addTask.innerText(), /added 3 brick\(s\) to pool data/);
  await card.getByText('replica 3, 6 bricks').waitFor();
  await b.shot('gl-04-added');
  pool = await api<PoolView>('/pools/data');
  assert.equal(pool.bricks.length, 6);
  const grown = await lab.volumes.info('data');
  assert.deepEqual(grown.bricks.map((x) => x.name), brickNames(pool), 'Gluster and the state list the same six bricks');
  assert.equal(grown.replicaCount, 3);
  assert.equal(await disk(moreDisks[0]!).count(), 0, 'disks that became bricks are no longer offered');
  // Each brick names its disk; each of those disks names its pool.
  const brickRows = card.locator('tbody tr');
  assert.deepEqual(
    (await brickRows.locator('td:nth-child(2)').allInnerTexts()).map((x) => x.trim()),
    [...setupDisks, ...moreDisks],
  );
  const diskRow = page.locator('section[aria-labelledby="disks-h"] tr').filter({ has: page.getByText(moreDisks[2]!, { exact: true }) });
  assert.match(await diskRow.innerText(), /pool data/);

  // --- A brick dies; Replace swaps it for a fresh disk, heal is followed -------
  const victim = pool.bricks[4]!;
  const victimName = `${victim.host}:${victim.path}`;
  const before = await lab.volumes.status('data', { detail: false });
  const pid = before.bricks.find((x) => x.brick === victimName)?.pid;
  assert.ok(pid, `brick ${victimName} runs (${JSON.stringify(before.bricks)})`);
  // The disk goes away for good (a restarted brick process or a re-mount
  // by filesystem UUID must not bring it back): detached (cleared once
  // unused), the brick process killed, unmounted in cairnd's namespace.
  const inLab = (...args: string[]) => run('nsenter', ['-t', String(lab.anchorPid), '-m', '--', ...args]);
  const victimMount = victim.path.replace(/\/brick$/, '');
  const victimDisk = (await inLab('findmnt', '-n', '-o', 'SOURCE', victimMount)).stdout.trim();
  assert.ok(loops.includes(victimDisk), `${victimMount} is on one of the test's disks (${victimDisk})`);
  await detachLoopDisk(victimDisk);
  await killAndWait([pid]);
  await inLab('umount', '-l', victimMount);
  // The driver notices on its next pass: ask for one from the dashboard.
  await page.getByRole('link', { name: 'Dashboard', exact: true }).click();
  await page.getByRole('button', { name: 'Apply now' }).click();
  await page.getByRole('link', { name: 'Pools and disks', exact: true }).click();
  const replace = card.getByRole('button', { name: `Replace brick ${victimName}` });
  await replace.waitFor({ timeout: 30_000 });
  await b.shot('gl-05-brick-down');
  await replace.click();
  const form = page.getByRole('form', { name: `Replace brick ${victimName}` });
  await form.locator('label').filter({ hasText: new RegExp(`^${spareDisk} — `) }).click();
  await form.getByLabel('Type "erase" to confirm').fill('erase');
  await form.getByRole('button', { name: 'Erase and replace' }).click();
  const replaceTask = page.locator('section.task').filter({ hasText: `Replace brick ${victimName} of pool data` });
  await replaceTask.waitFor();
  await replaceTask.filter({ hasText: /done/ }).waitFor({ timeout: 90_000 });
  assert.match(await replaceTask.innerText(), /brick replaced; heal complete/);
  await b.shot('gl-06-replaced');
  pool = await api<PoolView>('/pools/data');
  assert.equal(pool.bricks.length, 6);
  assert.ok(!brickNames(pool).includes(victimName), 'the dead brick left the state');
  const fresh = pool.bricks[4]!;
  assert.equal(fresh.host, lab.host);
  const after = await lab.volumes.info('data');
  assert.deepEqual(after.bricks.map((x) => x.name), brickNames(pool), 'Gluster and the state agree on the new brick');
  await eventually('every brick of the volume is online', async () => {
    const s = await lab.volumes.status('data', { detail: false });
    return s.bricks.length === 6 && s.bricks.every((x) => x.online);
  });
  assert.equal((await lab.volumes.heal('data')).pending, 0);
  await card.getByRole('button', { name: /^Replace brick/ }).waitFor({ state: 'detached', timeout: 30_000 });
  // Heal progress, where this cairnd's GET /pools/:id reports it (heal: null or absent shows nothing).
  const withHeal = await api<{ heal?: { pending: number } | null }>('/pools/data');
  const healLine = card.getByRole('status', { name: 'Heal progress of data' });
  if (withHeal.heal) await healLine.filter({ hasText: /waiting to heal|Nothing waiting to heal/ }).waitFor();
  else assert.equal(await healLine.count(), 0);

  // --- Cluster: a join token; refused joins with their reasons beside the fields
  await page.getByRole('link', { name: 'Cluster', exact: true }).click();
  await page.getByRole('heading', { name: 'Cluster', exact: true }).waitFor();
  await page.getByRole('heading', { name: `This appliance: ${lab.host}` }).waitFor();
  const self = page.locator(`tr[data-member="${lab.host}"]`);
  await self.waitFor();
  assert.match(await self.innerText(), /this appliance/);
  assert.match(await self.innerText(), /6 bricks/);
  await page.getByRole('button', { name: 'Show a join token' }).click();
  const shown = (await page.getByLabel('Join token', { exact: true }).innerText()).trim();
  assert.match(shown, /^\S{16,}$/);
  assert.match(await page.getByTestId('token-validity').innerText(), /valid for 1[45] more minutes \(until \d\d:\d\d\)/);
  await page.getByRole('button', { name: 'Copy Join token' }).waitFor();
  await b.shot('gl-07-cluster-token');

  const addForm = page.getByRole('form', { name: 'Add an appliance' });
  await addForm.getByLabel('Address of the new appliance').fill(new URL(d.url).host);
  await addForm.getByLabel('Join token shown on it').fill('not-the-token-at-all');
  await addForm.getByRole('button', { name: 'Add the appliance' }).click();
  const tokenError = addForm.locator('[data-field="token"]');
  await tokenError.waitFor();
  assert.match(await tokenError.innerText(), /join token does not match/i);
  assert.equal(await addForm.getByLabel('Join token shown on it').getAttribute('aria-invalid'), 'true');
  await b.shot('gl-08-cluster-bad-token');

  await addForm.getByLabel('Address of the new appliance').fill('127.0.0.1:1');
  await addForm.getByLabel('Join token shown on it').fill(shown);
  await addForm.getByRole('button', { name: 'Add the appliance' }).click();
  const addressError = addForm.locator('[data-field="address"]');
  await addressError.waitFor();
  assert.match(await addressError.innerText(), /^No cairnd answered at https:\/\/127\.0\.0\.1:1 \(.+\)\. Check the address/);
  assert.equal(await addForm.locator('[data-field="token"]').count(), 0, 'the token is not blamed for an address nobody answers at');
  await b.shot('gl-09-cluster-bad-address');
  const cluster = await api<{ members: Array<{ hostname: string }> }>('/cluster');
  assert.deepEqual(
    cluster.members.map((m) => m.hostname),
    [lab.host],
    'no appliance was added',
  );

  // A narrow screen: neither page scrolls sideways (wide tables scroll inside themselves).
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = async () => (await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')) as number;
  assert.ok((await overflow()) <= 1, `no sideways scrolling on a narrow screen (overflow ${await overflow()}px)`);
  await b.shot('gl-10-cluster-narrow');
  await page.getByRole('link', { name: 'Pools and disks', exact: true }).click();
  await card.getByText('replica 3, 6 bricks').waitFor();
  const wide = await page.evaluate(`[...document.querySelectorAll('main *')].filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1).slice(0, 8).map((e) => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))`);
  assert.ok((await overflow()) <= 1, `pools: no sideways scrolling on a narrow screen (overflow ${await overflow()}px: ${JSON.stringify(wide)})`);
  await b.shot('gl-11-pools-narrow');
  assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
  finished = true;
  t.diagnostic(`run time ${((Date.now() - started) / 1000).toFixed(1)} s`);
});
