import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferPool, RecordDecoder, RecordTooLargeError, recordHeader } from '../../src/nfs/rpc/record.js';

function fragment(data: Buffer, last: boolean): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(((last ? 0x80000000 : 0) | data.length) >>> 0);
  return Buffer.concat([h, data]);
}

test('record marking: single records in one chunk, split across chunks, byte by byte', () => {
  const got: string[] = [];
  const d = new RecordDecoder(1024, (r) => got.push(r.toString()));
  const a = fragment(Buffer.from('first'), true);
  const b = fragment(Buffer.from('second'), true);
  d.push(Buffer.concat([a, b]));
  const c = fragment(Buffer.from('third-record'), true);
  for (const byte of c) d.push(Buffer.from([byte]));
  d.push(Buffer.concat([a.subarray(0, 6)]));
  d.push(a.subarray(6));
  assert.deepEqual(got, ['first', 'second', 'third-record', 'first']);
  assert.equal(d.buffered, 0);
});

test('record marking: multi-fragment records are joined in order', () => {
  const got: string[] = [];
  const d = new RecordDecoder(1024, (r) => got.push(r.toString()));
  const stream = Buffer.concat([fragment(Buffer.from('ab'), false), fragment(Buffer.from(''), false), fragment(Buffer.from('cd'), false), fragment(Buffer.from('e'), true)]);
  for (let i = 0; i < stream.length; i += 3) d.push(stream.subarray(i, i + 3));
  assert.deepEqual(got, ['abcde']);
});

test('record marking: a record over the limit throws, also when fragments add up past it', () => {
  const d = new RecordDecoder(100, () => assert.fail('no record expected'));
  assert.throws(() => d.push(recordHeader(101)), RecordTooLargeError);
  const d2 = new RecordDecoder(100, () => assert.fail('no record expected'));
  d2.push(fragment(Buffer.alloc(60), false));
  assert.throws(() => d2.push(fragment(Buffer.alloc(60), true).subarray(0, 4)), RecordTooLargeError);
});

test('record marking: endless empty fragments are refused, not accumulated', () => {
  const d = new RecordDecoder(1 << 20, () => assert.fail('no record expected'));
  const empty = fragment(Buffer.alloc(0), false);
  assert.throws(() => {
    for (let i = 0; i < 5000; i++) d.push(empty);
  }, RecordTooLargeError);
});

test('record marking: empty fragments (also at the end of a chunk) are fine', () => {
  const got: string[] = [];
  const d = new RecordDecoder(1024, (r) => got.push(r.toString()));
  d.push(fragment(Buffer.from('ab'), false));
  d.push(fragment(Buffer.alloc(0), false));
  d.push(fragment(Buffer.from('c'), false));
  d.push(fragment(Buffer.alloc(0), true));
  d.push(fragment(Buffer.alloc(0), true));
  assert.deepEqual(got, ['abc', '']);
});

test('record marking: big records spread over chunks land in pooled buffers, reused after release', () => {
  const pool = new BufferPool(4096, 1024);
  const got: Array<{ data: string; buffer: ArrayBufferLike; release?: () => void }> = [];
  const d = new RecordDecoder(4096, (r, release) => got.push({ data: r.toString('latin1'), buffer: r.buffer, release }), pool);
  const big = (c: string) => fragment(Buffer.alloc(2000, c), true);
  const feed = (b: Buffer) => {
    for (let i = 0; i < b.length; i += 700) d.push(b.subarray(i, i + 700));
  };
  feed(big('a'));
  assert.equal(got[0]!.data, 'a'.repeat(2000));
  assert.ok(got[0]!.release, 'pooled');
  got[0]!.release!();
  feed(big('b'));
  assert.equal(got[1]!.data, 'b'.repeat(2000));
  assert.equal(got[1]!.buffer, got[0]!.buffer, 'the released buffer was reused');
  feed(big('c'));
  assert.notEqual(got[2]!.buffer, got[1]!.buffer, 'an unreleased buffer is never handed out twice');
  // A small record, or one inside a single chunk, is a plain view (nothing to release).
  d.push(fragment(Buffer.from('small'), true));
  assert.equal(got[3]!.release, undefined);
});
