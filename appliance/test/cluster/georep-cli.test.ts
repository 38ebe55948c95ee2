/** cairn-georep (src/georep-cli.ts): usage and argument errors, before any gluster command runs. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { main } from '../../src/georep-cli.js';

test('cairn-georep: usage errors exit 64, bad names exit 1 naming the problem, --help exits 0', async () => {
  const errs: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => (errs.push(String(s)), true)) as typeof process.stderr.write;
  try {
    assert.equal(await main([]), 64);
    assert.equal(await main(['frobnicate']), 64);
    assert.equal(await main(['drain', 'gv0', 'siteb']), 64, 'three names needed');
    assert.equal(await main(['promote']), 64);
    assert.equal(await main(['--timeout', 'soon', 'drain', 'gv0', 'siteb', 'backup']), 64);
    assert.equal(await main(['--help']), 0);
    assert.equal(await main(['promote', 'bad name']), 1);
    assert.equal(await main(['resume', 'gv0', '-oProxyCommand=x', 'backup']), 64, 'an option-looking name is refused as an option');
    assert.equal(await main(['resume', '--', 'gv0', '-oProxyCommand=x', 'backup']), 1);
  } finally {
    process.stderr.write = write;
  }
  assert.match(errs.join(''), /usage: cairn-georep/);
  assert.match(errs.join(''), /INVALID_ARGUMENT: volume name "bad name"/);
  assert.match(errs.join(''), /INVALID_ARGUMENT: not a host name/);
});
