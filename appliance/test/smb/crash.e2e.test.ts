/**
 * cairnd killed with SIGKILL leaves its smbd running (smbd is in a session
 * of its own). The next cairnd on the same data dir must take over: stop the
 * orphan (found by its pid file and config path) and run its own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SambaService } from '../../src/smb/samba.js';
import { freePort, makeClient, pidAlive } from './client.js';
import { desired, share, user } from './fixtures.js';

const SAMBA_JS = fileURLToPath(new URL('../../src/smb/samba.js', import.meta.url));

test('a new SambaService takes over from the smbd of a killed predecessor', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-smb-crash-'));
  await chmod(dir, 0o755);
  const data = join(dir, 'share');
  await mkdir(data);
  await chmod(data, 0o777);
  const port = await freePort();
  const state = desired(port, [share('docs', data)], [user('alice', 10001, 'alice-pw')]);
  const dataDir = join(dir, 'samba');
  let svc: SambaService | undefined;
  let orphan = 0;
  t.after(async () => {
    await svc?.stop();
    if (orphan && pidAlive(orphan)) process.kill(-orphan, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  // The predecessor: a separate Node process running the driver.
  const script = `
    import { SambaService } from ${JSON.stringify(SAMBA_JS)};
    const s = new SambaService({ dataDir: process.env.DATA_DIR });
    await s.start();
    const r = await s.apply(JSON.parse(process.env.DESIRED));
    console.log(JSON.stringify({ pid: s.status().pid, problems: r.problems }));
    setInterval(() => {}, 1000);
  `;
  const first = spawn(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, DATA_DIR: dataDir, DESIRED: JSON.stringify(state) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(first.stdout!, 'data')) as [Buffer];
  const report = JSON.parse(line.toString()) as { pid: number; problems: unknown[] };
  assert.deepEqual(report.problems, []);
  orphan = report.pid;
  first.kill('SIGKILL');
  await once(first, 'exit');
  assert.ok(pidAlive(orphan), 'smbd outlives the killed cairnd');
  assert.equal(Number((await readFile(join(dataDir, 'run', 'smbd.pid'), 'utf8')).trim()), orphan);

  svc = new SambaService({ dataDir });
  await svc.start();
  assert.equal(pidAlive(orphan), false, 'the orphan was stopped');
  assert.notEqual(svc.status().pid, orphan);
  assert.equal(svc.status().running, true);
  const client = await makeClient(dir, port);
  assert.equal((await client.run('docs', 'ls', { user: 'alice', password: 'alice-pw' })).status, null);
  assert.deepEqual((await svc.apply(state)).problems, []);
});
