import { test } from 'node:test';
import assert from 'node:assert/strict';
import { XdrDecodeError, XdrReader } from '../../src/nfs/xdr/reader.js';
import { XdrWriter } from '../../src/nfs/xdr/writer.js';

test('XDR round-trips integers, 64-bit values, bools, opaques and strings with padding', () => {
  const big = Buffer.alloc(5000, 7);
  const w = new XdrWriter(8);
  w.u32(0xffffffff).i32(-2).u64(0xfffffffffffffffen).i64(-5n).bool(true).opaque(Buffer.from('abcde')).string('héllo').opaqueRef(big).u32(42);
  const chunks = w.chunks();
  assert.ok(chunks.includes(big), 'large opaque is sent by reference, not copied');
  const buf = Buffer.concat(chunks as Buffer[]);
  assert.equal(buf.length, w.length);
  assert.equal(buf.length % 4, 0);
  const r = new XdrReader(buf);
  assert.equal(r.u32(), 0xffffffff);
  assert.equal(r.i32(), -2);
  assert.equal(r.u64(), 0xfffffffffffffffen);
  assert.equal(r.i64(), -5n);
  assert.equal(r.bool(), true);
  assert.equal(r.opaque(100).toString(), 'abcde');
  assert.equal(r.string(100), 'héllo');
  assert.ok(r.opaque(10000).equals(big));
  assert.equal(r.u32(), 42);
  r.done();
});

test('XDR reader refuses short input, oversized lengths, bad bools and bad enums with XdrDecodeError', () => {
  assert.throws(() => new XdrReader(Buffer.alloc(3)).u32(), XdrDecodeError);
  assert.throws(() => new XdrReader(Buffer.alloc(7)).u64(), XdrDecodeError);
  const len = (n: number) => new XdrWriter().u32(n).toBuffer();
  assert.throws(() => new XdrReader(len(65)).opaque(64), /over its limit/);
  assert.throws(() => new XdrReader(len(0xffffffff)).string(1 << 20), XdrDecodeError);
  // Length within the limit but the data is missing (padding included).
  assert.throws(() => new XdrReader(Buffer.concat([len(5), Buffer.alloc(5)])).opaque(64), /short input/);
  assert.throws(() => new XdrReader(len(2)).bool(), /bool/);
  assert.throws(() => new XdrReader(len(9)).enumOf([0, 1, 2], 'stable_how'), /stable_how/);
  // A huge array count is refused before looping.
  assert.throws(() => new XdrReader(len(1000)).array(16, () => 0), /over its limit/);
  assert.throws(() => new XdrReader(Buffer.concat([len(10), Buffer.alloc(8)])).array(100, () => 0), /short/);
  assert.throws(() => new XdrReader(Buffer.alloc(8)).done(), /trailing/);
});

test('XDR opaque results are views of the input (no copy)', () => {
  const buf = new XdrWriter().opaque(Buffer.from('payload!')).toBuffer();
  const v = new XdrReader(buf).opaque(64);
  assert.equal(v.buffer, buf.buffer);
});
