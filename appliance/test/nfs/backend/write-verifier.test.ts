// The write verifier changes after a WRITE or COMMIT error that may stand
// for lost UNSTABLE data, and only then (src/nfs/backend/write-verifier.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WriteVerifier } from '../../../src/nfs/backend/write-verifier.js';
import { BackendError } from '../../../src/nfs/backend/errors.js';

test('write verifier: errors about the call keep it; errors that may have lost data renew it', () => {
  const first = Buffer.from('01234567');
  const v = new WriteVerifier(first);
  assert.ok(v.current.equals(first));
  for (const code of ['EACCES', 'EPERM', 'ESTALE', 'EFBIG', 'EINVAL']) {
    const e = new BackendError(code, code);
    assert.throws(() => v.failed(e), (x) => x === e, 'rethrown as it was');
    assert.ok(v.current.equals(first), `${code} keeps the verifier`);
  }
  const seen: Buffer[] = [first];
  for (const e of [new BackendError('EIO', 'eio'), Object.assign(new Error('brick'), { code: 'ENOTCONN' }), new BackendError('ENOSPC', 'full'), new Error('no code')]) {
    assert.throws(() => v.failed(e), (x) => x === e);
    assert.equal(v.current.length, 8);
    assert.ok(!seen.some((s) => s.equals(v.current)), `${(e as { code?: string }).code ?? 'an error without a code'} gives a new verifier`);
    seen.push(v.current);
  }
});
