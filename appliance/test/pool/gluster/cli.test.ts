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
