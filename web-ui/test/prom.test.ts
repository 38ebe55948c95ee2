import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProm, PromParseError, pushPoint, rate, seriesKey, sum } from '../src/lib/prom.js';

const TEXT = `# HELP cairn_nfs_bytes_total Bytes moved by NFS.
# TYPE cairn_nfs_bytes_total counter
cairn_nfs_bytes_total{direction="read",export="/media"} 1000
cairn_nfs_bytes_total{direction="write",export="/media"} 500
cairn_nfs_bytes_total{direction="read",export="/vm"} 3000 1700000000000
# TYPE cairn_pool_capacity_bytes gauge
cairn_pool_capacity_bytes{pool="local",kind="used"} 1.5e9
weird_label{path="a \\"quoted\\" \\\\ back\\nslash",x="}"} NaN
up +Inf
# a free comment
`;

test('parses names, labels with escapes, exponents, NaN/Inf and timestamps', () => {
  const s = parseProm(TEXT, 42);
  assert.equal(s.at, 42);
  assert.equal(s.types.cairn_nfs_bytes_total, 'counter');
  assert.equal(s.types.cairn_pool_capacity_bytes, 'gauge');
  assert.equal(s.help.cairn_nfs_bytes_total, 'Bytes moved by NFS.');
  assert.equal(s.samples.length, 6);
  assert.deepEqual(s.samples[2], { name: 'cairn_nfs_bytes_total', labels: { direction: 'read', export: '/vm' }, value: 3000 });
  assert.equal(s.samples[3]!.value, 1.5e9);
  assert.equal(s.samples[4]!.labels.path, 'a "quoted" \\ back\nslash');
  assert.equal(s.samples[4]!.labels.x, '}');
  assert.ok(Number.isNaN(s.samples[4]!.value));
  assert.equal(s.samples[5]!.value, Infinity);
});

test('a malformed line is an error naming the line', () => {
  assert.throws(() => parseProm('ok 1\nbad{x=1} 2\n'), (e: unknown) => e instanceof PromParseError && e.line === 2);
  assert.throws(() => parseProm('x{a="1"} notanumber'), /bad value/);
  assert.throws(() => parseProm('x{a="1} 3'), /unterminated/);
});

test('sum adds matching gauges; label selectors take strings or regexps', () => {
  const s = parseProm(TEXT);
  assert.equal(sum(s, { name: 'cairn_nfs_bytes_total', labels: { direction: 'read' } }), 4000);
  assert.equal(sum(s, { name: /^cairn_nfs_/, labels: { export: /^\/m/ } }), 1500);
  assert.equal(sum(s, { name: 'absent' }), null);
});

test('rate is the per-second increase summed over series; resets count from zero; new series wait', () => {
  const a = parseProm('c{x="1"} 100\nc{x="2"} 1000\n', 0);
  const b = parseProm('c{x="1"} 300\nc{x="2"} 50\nc{x="3"} 999\n', 2000);
  // x=1: +200, x=2 reset: +50, x=3 new: 0 → 250 over 2 s
  assert.equal(rate(a, b, { name: 'c' }), 125);
  assert.equal(rate(b, a, { name: 'c' }), null, 'time going backwards gives no rate');
  assert.equal(rate(a, b, { name: 'nothing' }), null);
});

test('seriesKey is independent of label order', () => {
  assert.equal(seriesKey({ name: 'm', labels: { b: '2', a: '1' } }), seriesKey({ name: 'm', labels: { a: '1', b: '2' } }));
});

test('pushPoint keeps the newest max points', () => {
  let p: number[] = [];
  for (let i = 0; i < 5; i++) p = pushPoint(p, i, 3);
  assert.deepEqual(p, [2, 3, 4]);
});
