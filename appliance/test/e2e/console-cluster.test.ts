/**
 * The console's Cluster page in Debian's Chromium against real cairnds:
 *
 * - two appliances of the multi-appliance lab (test/lab/lab.ts: each its
 *   own network, mount and UTS namespaces and glusterd), a cairnd in each:
 *   B's console shows a join token, A's console adds B with it; both see
 *   one cluster, Gluster's pool lists both; A removes B again after a
 *   confirmation (Escape cancels it first), following the task that moves
 *   B's bricks away when it holds any;
 * - a cairnd where no glusterd answers: the page says so in a sentence
 *   and offers nothing that could only fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { launchConsoleBrowser, type ConsoleBrowser } from '../helpers/console-browser.js';
import { setupTokenOf, startCairndVia, withoutGlusterd } from '../helpers/console-cairnd.js';
import type { RunningCairnd } from '../helpers/cairnd.js';
import { Lab } from '../lab/lab.js';

const PASSWORD = 'correct horse battery staple';

/** One after-hook running steps in order. */
function cleanupList(t: { after: (f: () => unknown) => void }) {
  const steps: Array<() => Promise<unknown>> = [];
  t.after(async () => {
    for (const s of steps) await s().catch((e: unknown) => console.error('cleanup:', e));
  });
  return steps;
}

/** First-boot setup through the API in the page's context (which keeps the session it answers with), then the dashboard. */
async function setUpThroughApi(page: Page, d: RunningCairnd, dataDir: string, name: string): Promise<void> {
  const r = await page.request.post(`${d.url}/api/v1/setup`, { data: { token: await setupTokenOf(dataDir), password: PASSWORD, applianceName: name } });
  assert.equal(r.status(), 201, await r.text());
  await page.goto(`${d.url}/#/cluster`);
  await page.getByRole('heading', { name: 'Cluster', exact: true }).waitFor();
}

interface ClusterView {
  hostname: string;
  clusterId: string | null;
  members: Array<{ hostname: string; health: string; self: boolean; bricks: string[] }>;
}

test('console: add an appliance with the join token shown on it, then remove it', { timeout: 240_000 }, async (t) => {
  const started = Date.now();
  const steps = cleanupList(t);
  let b: ConsoleBrowser | undefined;
  let finished = false;
  const cairnds: RunningCairnd[] = [];
  const pageErrors: string[] = [];
  steps.push(async () => {
    if (b && !finished) await b.shot('cluster-failure').catch(() => {});
    if (!finished && pageErrors.length) console.error('page errors:', pageErrors);
    await b?.close();
  });
  steps.push(async () => Promise.all(cairnds.map((d) => d.stop())));
  let lab: Lab | undefined;
  steps.push(async () => lab?.down());
  const dir = await mkdtemp(join(tmpdir(), 'cairn-console-cl-'));
  steps.push(() => rm(dir, { recursive: true, force: true }));
  await chmod(dir, 0o755);

  lab = await Lab.up(2, { brickBytes: 512 << 20 });
  const [n1, n2] = lab.nodes as [NonNullable<(typeof lab.nodes)[0]>, NonNullable<(typeof lab.nodes)[0]>];
  const start = async (node: typeof n1) => {
    const data = join(dir, node.name);
    await node.exec(['mkdir', '-m', '0755', data]);
    const d = await startCairndVia(node.enter(), ['--data-dir', data, '--host', node.ip, '--port', '0']);
    cairnds.push(d);
    return { d, data };
  };
  const [a, bb] = [await start(n1), await start(n2)];

  b = await launchConsoleBrowser();
  const pageA = b.page;
  const pageB = await b.context.newPage();
  for (const p of [pageA, pageB]) p.on('pageerror', (e) => pageErrors.push(String(e)));
  await setUpThroughApi(pageA, a.d, a.data, 'nas1');
  await setUpThroughApi(pageB, bb.d, bb.data, 'nas2');
  const api = async (page: Page, d: RunningCairnd) => {
    const r = await page.request.get(`${d.url}/api/v1/cluster`);
    assert.equal(r.status(), 200, await r.text());
    return (await r.json()) as ClusterView;
  };

  // On B: a join token.
  await pageB.getByRole('heading', { name: `This appliance: ${n2.name}` }).waitFor();
  await pageB.getByRole('button', { name: 'Show a join token' }).click();
  const token = (await pageB.getByLabel('Join token', { exact: true }).innerText()).trim();
  // cairnd on a free port (tests) serves cairnd-to-cairnd HTTPS on a free port too; the page says which.
  const joinAddress = (await pageB.getByTestId('join-address').locator('code').first().innerText()).trim();
  assert.match(joinAddress, new RegExp(`^${n2.name}:\\d+$`));
  await b.shot('cl-01-b-token', pageB);

  // On A: add B by its address and that token.
  await pageA.getByRole('heading', { name: `This appliance: ${n1.name}` }).waitFor();
  assert.match(await pageA.locator('#cluster-self ~ p').innerText(), /Not in a cluster yet/);
  const add = pageA.getByRole('form', { name: 'Add an appliance' });
  await add.getByLabel('Address of the new appliance').fill(joinAddress);
  await add.getByLabel('Join token shown on it').fill(token);
  await add.getByRole('button', { name: 'Add the appliance' }).click();
  await pageA.getByRole('status').filter({ hasText: `${n2.name} joined the cluster.` }).waitFor({ timeout: 60_000 });
  const row = pageA.locator(`tr[data-member="${n2.name}"]`);
  await row.waitFor();
  assert.match(await row.innerText(), /connected/);
  assert.match(await pageA.locator('#cluster-self ~ p').innerText(), /Member of cluster [0-9a-f-]{36}/);
  assert.equal(await pageA.getByText('does not reach a majority').count(), 0, 'both appliances reach each other: no quorum warning');
  await b.shot('cl-02-a-added');

  const onA = await api(pageA, a.d);
  assert.deepEqual(onA.members.map((m) => [m.hostname, m.health]).sort(), [
    [n1.name, 'ok'],
    [n2.name, 'ok'],
  ]);
  assert.ok(onA.clusterId);
  assert.equal((await api(pageB, bb.d)).clusterId, onA.clusterId, 'B keeps the cluster id A gave it');
  const pool = (await n1.exec(['gluster', '--mode=script', 'pool', 'list'])).stdout;
  assert.match(pool, new RegExp(`\\b${n2.name}\\s+Connected`), pool);
  // B's page shows the cluster once reloaded.
  await pageB.reload();
  await pageB.locator(`tr[data-member="${n1.name}"]`).waitFor();

  // A token works once: the same one is refused now, beside the token field.
  await add.getByLabel('Address of the new appliance').fill(joinAddress);
  await add.getByLabel('Join token shown on it').fill(token);
  await add.getByRole('button', { name: 'Add the appliance' }).click();
  await add.locator('[data-field="token"]').waitFor();
  assert.match(await add.locator('[data-field="token"]').innerText(), /^The appliance at https:\/\/node2:\d+ answered: /);

  // Remove B: Escape cancels the confirmation (keyboard), the dialog's Remove removes.
  await row.getByRole('button', { name: `Remove appliance ${n2.name}` }).click();
  const dialog = pageA.getByRole('dialog', { name: `Remove ${n2.name}?` });
  await dialog.waitFor();
  await b.shot('cl-03-remove-confirm');
  await pageA.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  assert.equal((await api(pageA, a.d)).members.length, 2, 'cancelled: nothing removed');
  const holds = (await api(pageA, a.d)).members.find((m) => m.hostname === n2.name)!.bricks.length;
  await row.getByRole('button', { name: `Remove appliance ${n2.name}` }).click();
  await dialog.getByRole('button', { name: 'Remove' }).click();
  // With bricks (the shared state volume's), a task moves them first and shows its progress.
  if (holds) assert.match(await pageA.locator('section.task').filter({ hasText: `remove appliance ${n2.name}` }).filter({ hasText: /done/ }).innerText({ timeout: 60_000 }), /brick move\(s\) done/);
  await pageA.getByRole('status').filter({ hasText: `${n2.name} was removed from the cluster.` }).waitFor({ timeout: 60_000 });
  await row.waitFor({ state: 'detached' });
  await b.shot('cl-04-removed');
  assert.deepEqual(
    (await api(pageA, a.d)).members.map((m) => m.hostname),
    [n1.name],
  );
  const after = (await n1.exec(['gluster', '--mode=script', 'pool', 'list'])).stdout;
  assert.doesNotMatch(after, new RegExp(`\\b${n2.name}\\b`), after);
  assert.deepEqual(pageErrors, [], 'no uncaught errors in the pages');
  finished = true;
  t.diagnostic(`run time ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

test('console: the Cluster page without glusterd says so in a sentence', { timeout: 60_000 }, async (t) => {
  const steps = cleanupList(t);
  const dir = await mkdtemp(join(tmpdir(), 'cairn-console-nogl-'));
  let d: RunningCairnd | undefined;
  let b: ConsoleBrowser | undefined;
  steps.push(async () => b?.close());
  steps.push(async () => d?.stop());
  steps.push(() => rm(dir, { recursive: true, force: true }));
  d = await startCairndVia(withoutGlusterd(), ['--data-dir', dir, '--host', '127.0.0.1', '--port', '0']);
  b = await launchConsoleBrowser();
  const { page } = b;
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await setUpThroughApi(page, d, dir, 'nas1');
  const said = page.getByRole('status').filter({ hasText: 'Gluster (glusterd) is not running on this appliance' });
  await said.waitFor();
  assert.match(await said.innerText(), /Start glusterd \(systemctl start glusterd\) and reload this page\./);
  // Nothing is offered that could only fail.
  assert.equal(await page.getByRole('form', { name: 'Add an appliance' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: 'Show a join token' }).count(), 0);
  const r = await page.request.get(`${d.url}/api/v1/cluster`);
  assert.equal(r.status(), 503);
  assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'glusterd_unavailable');
  await b.shot('cluster-no-glusterd');
  assert.deepEqual(pageErrors, []);
});
