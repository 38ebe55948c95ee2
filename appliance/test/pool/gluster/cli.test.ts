// GlusterCli's failure modes: each is a typed error, quickly, never a hang.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GlusterCli } from '../../../src/pool/gluster/cli.js';

test('no glusterd answering is GLUSTERD_UNREACHABLE, at once', async () => {
  const cli = new GlusterCli({ command: ['gluster', '--glusterd-sock=/nonexistent/cairn/glusterd.socket'] });
  const t0 = Date.now();
  await assert.rejects(cli.run(['volume', 'list']), { name: 'GlusterError', code: 'GLUSTERD_UNREACHABLE' });
  assert.ok(Date.now() - t0 < 20_000);
});

test('a missing binary is GLUSTER_NOT_INSTALLED', async () => {
  const cli = new GlusterCli({ command: ['/nonexistent/gluster'] });
  await assert.rejects(cli.run(['volume', 'list']), { code: 'GLUSTER_NOT_INSTALLED' });
});

test('a CLI that does not finish is killed: GLUSTER_TIMEOUT', async () => {
  // sh -c 'sleep 30' sh --mode=script --xml volume list: the extra words become $1…
  const cli = new GlusterCli({ command: ['sh', '-c', 'sleep 30', 'sh'], timeoutMs: 300 });
  await assert.rejects(cli.run(['volume', 'list']), { code: 'GLUSTER_TIMEOUT' });
});

test('XML with opRet -1 on a non-zero exit is GLUSTER_FAILED with the message', async () => {
  const xml =
    '<?xml version="1.0"?><cliOutput><opRet>-1</opRet><opErrno>2</opErrno><opErrstr>Volume x does not exist</opErrstr></cliOutput>';
  const cli = new GlusterCli({ command: ['sh', '-c', `printf '%s' '${xml}'; exit 1`, 'sh'] });
  await assert.rejects(cli.run(['volume', 'info', 'x']), { code: 'GLUSTER_FAILED', message: /Volume x does not exist/ });
});

test('glusterd busy with another transaction on the volume: retried, then the answer', async (t) => {
  const { mkdtemp, rm, readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = await mkdtemp(join(tmpdir(), 'cairn-cli-busy-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const count = join(dir, 'n');
  const busy = '<cliOutput><opRet>-1</opRet><opErrno>30806</opErrno><opErrstr>Another transaction is in progress for v. Please try again after some time.</opErrstr></cliOutput>';
  const ok = '<cliOutput><opRet>0</opRet><opErrno>0</opErrno><opErrstr/><volList><count>1</count><volume>v</volume></volList></cliOutput>';
  // Busy twice, then the real answer; $1 is the counter file.
  const script = `echo x >> "$1"; if [ $(wc -l < "$1") -le 2 ]; then printf '%s' '${busy}'; else printf '%s' '${ok}'; fi`;
  const cli = new GlusterCli({ command: ['sh', '-c', script, 'sh', count] });
  const out = await cli.run(['volume', 'list']);
  assert.ok(out['volList']);
  assert.equal((await readFile(count, 'utf8')).split('\n').filter(Boolean).length, 3);
  // Another failure is not retried.
  const once = join(dir, 'once');
  const fail = '<cliOutput><opRet>-1</opRet><opErrno>2</opErrno><opErrstr>Volume x does not exist</opErrstr></cliOutput>';
  const cli2 = new GlusterCli({ command: ['sh', '-c', `echo x >> "$1"; printf '%s' '${fail}'`, 'sh', once] });
  await assert.rejects(cli2.run(['volume', 'info', 'x']), { code: 'GLUSTER_FAILED' });
  assert.equal((await readFile(once, 'utf8')).split('\n').filter(Boolean).length, 1);
});
