import { test } from 'node:test';
import assert from 'node:assert/strict';
import { brickHealth, brickKey } from '../src/lib/bricks.js';
import { parseProm } from '../src/lib/prom.js';

test('brick state and heal backlog by pool and brick', () => {
  const h = brickHealth(
    parseProm(`cairn_brick_healthy{pool="data",brick="nas1:/bricks/a"} 1
cairn_brick_healthy{pool="data",brick="nas2:/bricks/b"} 0
cairn_heal_pending_entries{pool="data",brick="nas1:/bricks/a"} 12
cairn_pool_used_bytes{pool="data"} 5
cairn_heal_pending_entries{pool="data",brick="nas3:/bricks/c"} NaN
`),
  );
  assert.deepEqual(h.get(brickKey('data', 'nas1', '/bricks/a')), { healthy: true, healPending: 12 });
  assert.deepEqual(h.get(brickKey('data', 'nas2', '/bricks/b')), { healthy: false });
  assert.equal(h.size, 2, 'no entry for pool-only gauges or NaN values');
});
