import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDaemonArgs, DEFAULT_DATA_DIR } from '../src/cli/args.js';
import { UsageError } from '../src/cli/errors.js';

test('defaults', () => {
  assert.deepEqual(parseDaemonArgs([]), { dataDir: DEFAULT_DATA_DIR, host: '0.0.0.0', port: 8080, logLevel: 'info', smbPort: 445, rpcbind: true });
});

test('flags are read', () => {
  const o = parseDaemonArgs([
    '--data-dir', '/tmp/x', '--port', '0', '--host', '127.0.0.1', '--log-level', 'debug',
    '--nfs-port', '0', '--smb-port', '4450', '--no-rpcbind',
  ]);
  assert.deepEqual(o, { dataDir: '/tmp/x', host: '127.0.0.1', port: 0, logLevel: 'debug', nfsPort: 0, smbPort: 4450, rpcbind: false });
});

test('bad input is one UsageError line each', () => {
  for (const argv of [['--bogus'], ['--port', '70000'], ['--port', 'http'], ['--log-level', 'loud'], ['--nfs-port', '-1'], ['--smb-port', 'x'], ['--data-dir', ''], ['extra']]) {
    assert.throws(
      () => parseDaemonArgs(argv),
      (e: unknown) => e instanceof UsageError && !e.message.includes('\n') && e.exitCode === 64,
      argv.join(' '),
    );
  }
});
