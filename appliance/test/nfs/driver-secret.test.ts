/**
 * NfsDriver and the cluster's handle secret: when the file
 * DATA_DIR/nfs/fh-secret is replaced (an appliance joins a cluster:
 * cluster/cluster.ts acceptJoin writes the cluster-wide secret there), the
 * next pass restarts the NFS server with it; an unchanged secret keeps the
 * running server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/log.js';
import { NfsDriver } from '../../src/nfs/driver.js';
import { initialState } from '../../src/state/schema.js';

test('a replaced handle secret restarts the NFS server; an unchanged one does not', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-nfs-secret-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const messages: string[] = [];
  const log = createLogger('silent');
  const info = log.info.bind(log);
  log.info = ((...args: unknown[]) => {
    messages.push(String(args.find((a) => typeof a === 'string') ?? ''));
    return (info as (...a: unknown[]) => void)(...args);
  }) as typeof log.info;
  const driver = new NfsDriver({ dataDir: dir, log, port: 0, host: '127.0.0.1', rpcbind: false });
  t.after(() => driver.close());
  const state = initialState(dir);
  const signal = new AbortController().signal;

  await driver.apply(state, signal);
  const secret = await readFile(join(dir, 'nfs', 'fh-secret'));
  assert.ok(secret.length >= 16, 'the driver made its own secret');
  assert.equal(messages.filter((m) => m === 'nfs listening').length, 1);

  await driver.apply(state, signal);
  assert.equal(messages.filter((m) => m === 'nfs listening').length, 1, 'same secret: same server');

  await writeFile(join(dir, 'nfs', 'fh-secret'), Buffer.alloc(32, 9), { mode: 0o600 });
  await driver.apply(state, signal);
  assert.ok(messages.some((m) => /handle secret changed/.test(m)), messages.join(' | '));
  assert.equal(messages.filter((m) => m === 'nfs listening').length, 2, 'restarted with the cluster secret');
  assert.ok(driver.listeningPort! > 0);
});
