import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type Daemon } from '../src/daemon.js';
import { createLogger } from '../src/log.js';
import type { Driver } from '../src/reconcile/driver.js';
import { Metrics } from '../src/system/metrics.js';

test('a hung driver does not keep cairnd from starting; it is reported and stopped at shutdown', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cairnd-hang-'));
  let d: Daemon | undefined;
  // One hook, in this order: the daemon writes its state and audit log in `dir` until it has stopped.
  t.after(async () => {
    await d?.close();
    await rm(dir, { recursive: true, force: true });
  });
  let aborted = false;
  const hang: Driver = {
    name: 'hang',
    apply: (_s, signal) =>
      new Promise((_r, reject) =>
        signal.addEventListener('abort', () => {
          aborted = true;
          reject(new Error('aborted'));
        }),
      ),
  };
  d = await startDaemon({ dataDir: dir, host: '127.0.0.1', port: 0, logLevel: 'silent', smbPort: 0, rpcbind: false }, createLogger('silent'), {
    drivers: () => [hang],
    firstReconcileWaitMs: 100,
    metrics: new Metrics(),
  });
  assert.equal(d.reconciler.status().phase, 'running');
  const health = (await (await fetch(`${d.url}/api/v1/health`)).json()) as { status: string; components: Record<string, { detail?: string }> };
  assert.match(health.components.reconcile!.detail!, /first reconcile running/);
  await d.close();
  assert.ok(aborted, 'shutdown aborts the driver');
});
