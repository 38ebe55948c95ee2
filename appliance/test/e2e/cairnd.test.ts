import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CAIRNCTL, CAIRND, runToExit, startCairnd, type RunningCairnd } from '../helpers/cairnd.js';
import { NotifySocket } from '../helpers/notify-socket.js';

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cairnd-e2e-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('cairnd serves health, tells systemd READY, feeds the watchdog, and stops cleanly on SIGTERM', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cairnd-e2e-'));
  let notify: NotifySocket | undefined;
  let d: RunningCairnd | undefined;
  // One hook, in this order: cairnd writes below its data dir until it has stopped.
  t.after(async () => {
    await d?.stop();
    notify?.close();
    await rm(dir, { recursive: true, force: true });
  });
  notify = await NotifySocket.listen(join(dir, 'notify'));
  d = await startCairnd(['--data-dir', dir, '--host', '127.0.0.1', '--port', '0'], {
    NOTIFY_SOCKET: notify.address,
    WATCHDOG_USEC: '200000',
  });

  const res = await fetch(`${d.url}/api/v1/health`);
  assert.equal(res.status, 200);
  const body = (await res.json()) as { status: string; components: Record<string, unknown> };
  assert.equal(body.status, 'ok');
  assert.ok('api' in body.components);

  const ready = await notify.waitFor('READY=1');
  assert.match(ready, /STATUS=serving API on :\d+/);
  assert.match(ready, new RegExp(`MAINPID=${d.proc.pid}`));
  await notify.waitFor('WATCHDOG=1');
  const before = notify.messages.filter((m) => m === 'WATCHDOG=1').length;
  await new Promise((r) => setTimeout(r, 450));
  assert.ok(notify.messages.filter((m) => m === 'WATCHDOG=1').length > before, 'watchdog pings keep coming');

  const ctl = await runToExit(process.execPath, [CAIRNCTL, '--url', d.url, 'health']);
  assert.equal(ctl.code, 0, ctl.stderr);
  assert.match(ctl.stdout, /: ok \(up \d+s\)/);
  const json = await runToExit(process.execPath, [CAIRNCTL, '--url', d.url, '--json', 'health']);
  assert.equal(JSON.parse(json.stdout).status, 'ok');

  assert.equal(await d.stop(), 0);
  await notify.waitFor('STOPPING=1');
  assert.ok(d.logs.some((l) => l.msg === 'cairnd stopped'));
});

test('SIGINT also stops cairnd with exit 0', async (t) => {
  const dir = await tempDir(t);
  const d = await startCairnd(['--data-dir', dir, '--host', '127.0.0.1', '--port', '0']);
  d.proc.kill('SIGINT');
  const code = await new Promise((r) => d.proc.once('exit', r));
  assert.equal(code, 0);
});

/** Runs cairnd expecting a refusal: non-zero exit and exactly one line on stderr. */
async function refused(args: string[]): Promise<string> {
  const r = await runToExit(process.execPath, [CAIRND, ...args]);
  assert.notEqual(r.code, 0, `expected failure for ${args.join(' ')}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line expected, got: ${r.stderr}`);
  assert.match(lines[0]!, /^cairnd: /);
  return lines[0]!;
}

test('bad start-up input: one clear line and a non-zero exit', async (t) => {
  const dir = await tempDir(t);
  assert.match(await refused(['--data-dir', join(dir, 'missing'), '--port', '0']), /does not exist: create it/);

  const file = join(dir, 'file');
  await writeFile(file, 'x');
  assert.match(await refused(['--data-dir', file, '--port', '0']), /is not a directory/);

  assert.match(await refused(['--bogus']), /Unknown option '--bogus'/);
  assert.match(await refused(['--port', 'eighty']), /is not a port number/);
  assert.match(await refused(['frobnicate']), /unknown command "frobnicate"/);

  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  t.after(() => busy.close());
  const port = (busy.address() as { port: number }).port;
  assert.match(await refused(['--data-dir', dir, '--host', '127.0.0.1', '--port', String(port)]), /already in use/);
});

test('an unwritable data directory is refused', async (t) => {
  // root writes through permissions; a read-only bind is not available to
  // every test runner, so use a directory made read-only for a non-root run
  // or /proc (never writable) for root.
  const dir = await tempDir(t);
  await chmod(dir, 0o500);
  const target = process.getuid?.() === 0 ? '/proc/self' : dir;
  assert.match(await refused(['--data-dir', target, '--port', '0']), /is not writable/);
});

test('cairnctl says clearly when cairnd is not running', async () => {
  const r = await runToExit(process.execPath, [CAIRNCTL, '--url', 'http://127.0.0.1:1', 'health']);
  assert.equal(r.code, 69);
  assert.match(r.stderr, /cannot reach cairnd at http:\/\/127.0.0.1:1/);
});
