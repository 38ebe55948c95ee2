/**
 * Registration with the system rpcbind: `nfs-serve --rpcbind --mount-port 0`
 * inside private network, mount and pid namespaces (its own /run, so the
 * host's rpcbind, if any, is untouched). A libnfs client that is given no
 * ports finds NFS and MOUNT through rpcbind; on SIGTERM both are
 * unregistered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CAIRND } from '../helpers/cairnd.js';
import { tool } from './helpers/nfs-serve.js';
import { PRIVATE_RPCBIND } from './helpers/rpcbind-shell.js';

const missing = !existsSync('/usr/sbin/rpcbind') || !existsSync('/usr/sbin/rpcinfo') ? 'no rpcbind/rpcinfo' : process.getuid?.() !== 0 ? 'needs root for namespaces' : undefined;

// A fixed script; everything variable arrives as arguments ("$@").
const SCRIPT = `set -e
${PRIVATE_RPCBIND}"$@" > /run/serve.log 2>&1 &
SRV=$!
for i in $(seq 1 150); do rpcinfo -p 127.0.0.1 2>/dev/null | grep -q 100005 && break; sleep 0.1; done
echo "== registered"
rpcinfo -p 127.0.0.1
grep -o '"port":[0-9]*,"mountPort":[0-9]*' /run/serve.log
echo "== nfs-ls"
timeout 20 nfs-ls 'nfs://127.0.0.1/export?version=3' && echo "ls-ok"
kill -TERM $SRV
wait $SRV || true
echo "== after stop"
rpcinfo -p 127.0.0.1
`;

test('nfs-serve --rpcbind registers NFS and MOUNT (on its own port), clients find them, SIGTERM unregisters', { skip: missing }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-rpcbind-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const r = await tool(
    'unshare',
    ['--mount', '--net', '--pid', '--fork', '--kill-child', '--propagation', 'private', 'sh', '-c', SCRIPT, 'sh',
      process.execPath, CAIRND, 'nfs-serve', '--backend', 'memory', '--dir', dir, '--port', '0', '--mount-port', '0', '--rpcbind', '--fh-secret', join(dir, 'fh.secret')],
    60_000,
  );
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const [registered, rest] = r.stdout.split('== nfs-ls');
  const [ls, after] = rest!.split('== after stop');
  const m = /"port":(\d+),"mountPort":(\d+)/.exec(registered!);
  assert.ok(m, registered);
  const [, port, mountPort] = m;
  assert.notEqual(port, mountPort);
  assert.match(registered!, new RegExp(`100003\\s+3\\s+tcp\\s+${port}\\s`));
  assert.match(registered!, new RegExp(`100005\\s+3\\s+tcp\\s+${mountPort}\\s`));
  // The Linux client finds the lock manager and the status monitor through rpcbind too.
  assert.match(registered!, new RegExp(`100021\\s+4\\s+tcp\\s+${port}\\s`), 'nlockmgr v4');
  assert.match(registered!, new RegExp(`100024\\s+1\\s+tcp\\s+${port}\\s`), 'status v1');
  assert.match(ls!, /ls-ok/, 'libnfs mounted through rpcbind');
  assert.doesNotMatch(after!, /1000(0[35]|2[14])/, 'unregistered on SIGTERM');
});
