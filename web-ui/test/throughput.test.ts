import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProm } from '../src/lib/prom.js';
import { quantityRate, quantityValue } from '../src/lib/throughput.js';

// The names cairnd exports (appliance/src/system/metrics.ts).
const at = (t: number, read: number, write: number, ops: number, sessions: number) =>
  parseProm(
    `# TYPE cairn_nfs_bytes_total counter
cairn_nfs_bytes_total{proc="READ",export="/a",direction="read"} ${read}
cairn_nfs_bytes_total{proc="WRITE",export="/a",direction="write"} ${write}
# TYPE cairn_nfs_ops_total counter
cairn_nfs_ops_total{proc="READ",export="/a"} ${ops}
cairn_nfs_ops_total{proc="GETATTR",export="/a"} ${ops * 2}
# TYPE cairn_smb_sessions gauge
cairn_smb_sessions ${sessions}
`,
    t,
  );

test('dashboard quantities come from cairnd metric names', () => {
  const a = at(0, 0, 1000, 10, 1);
  const b = at(4000, 4096, 5000, 30, 3);
  assert.equal(quantityRate(a, b, 'nfsRead'), 1024);
  assert.equal(quantityRate(a, b, 'nfsWrite'), 1000);
  assert.equal(quantityRate(a, b, 'nfsOps'), 15, 'all procedures count: (20 + 40) / 4 s');
  assert.equal(quantityValue(b, 'smbSessions'), 3);
  assert.equal(quantityRate(a, b, 'smbRead'), null, 'not exported: no plot, not a zero');
});

test('a known counter family without samples yet is a zero rate', () => {
  const a = parseProm('# HELP cairn_nfs_bytes_total x\n# TYPE cairn_nfs_bytes_total counter\n', 0);
  const b = parseProm('# HELP cairn_nfs_bytes_total x\n# TYPE cairn_nfs_bytes_total counter\n', 1000);
  assert.equal(quantityRate(a, b, 'nfsRead'), 0);
  assert.equal(quantityRate(a, b, 'nfsOps'), null);
});
