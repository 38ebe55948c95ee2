import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferPool, RecordArena, RecordDecoder, RecordTooLargeError, recordHeader } from '../../src/nfs/rpc/record.js';

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

/**
 * Drives a RecordArena as net.Socket's onread does: ask for a buffer, let
 * the "socket" fill at most `chunk` bytes of it, report the count.
 */
function feedArena(a: RecordArena, stream: Buffer, chunk: number): void {
  let o = 0;
  while (o < stream.length) {
    const into = a.next();
    assert.ok(into.length > 0, 'the arena always offers room');
    const n = stream.copy(into, 0, o, Math.min(stream.length, o + Math.min(chunk, into.length)));
    o += n;
    a.received(n);
  }
}

test('record arena: the same records as the decoder, at any read size, small ones as views of one arena', () => {
  const stream = Buffer.concat([
    fragment(Buffer.from('first'), true),
    fragment(Buffer.from('ab'), false),
    fragment(Buffer.alloc(0), false),
    fragment(Buffer.from('cd'), true),
    ...Array.from({ length: 3000 }, (_, i) => fragment(Buffer.from(`call-${i}`), true)),
  ]);
  for (const chunk of [1, 3, 700, 65536]) {
    const got: Buffer[] = [];
    const a = new RecordArena(1024, (r, release) => {
      assert.equal(release, undefined, 'small records are plain views');
      got.push(r);
    });
    feedArena(a, stream, chunk);
    assert.equal(a.buffered, 0);
    assert.deepEqual(
      got.map((r) => r.toString()),
      ['first', 'abcd', ...Array.from({ length: 3000 }, (_, i) => `call-${i}`)],
      `read size ${chunk}`,
    );
    // Views handed out before the arena moved on still hold their bytes.
    assert.equal(got[5]!.toString(), 'call-3');
    assert.ok(got[2]!.buffer === got[3]!.buffer, 'consecutive small records share an arena');
  }
});

test('record arena: a big record is read into a pooled buffer, no copy after its first bytes, reused after release', () => {
  const pool = new BufferPool(4100, 1024);
  const got: Array<{ data: string; buffer: ArrayBufferLike; release?: () => void }> = [];
  const a = new RecordArena(4096, (r, release) => got.push({ data: r.toString('latin1'), buffer: r.buffer, release }), pool);
  const big = (c: string) => fragment(Buffer.alloc(4000, c), true);
  const offered: number[] = [];
  const feed = (b: Buffer, chunk: number) => {
    let o = 0;
    while (o < b.length) {
      const into = a.next();
      offered.push(into.length);
      const n = b.copy(into, 0, o, Math.min(b.length, o + Math.min(chunk, into.length)));
      o += n;
      a.received(n);
    }
  };
  feed(Buffer.concat([fragment(Buffer.from('x'), true), big('a'), fragment(Buffer.from('y'), true)]), 1000);
  assert.deepEqual(
    got.map((g) => g.data),
    ['x', 'a'.repeat(4000), 'y'],
  );
  assert.ok(got[1]!.release, 'the big record is pooled');
  // The first read held 'x' (5 bytes) and 995 of the big record's 4004:
  // the socket is then asked for exactly the other 3009, into the pooled buffer.
  assert.equal(offered[1], 3009);
  got[1]!.release!();
  feed(big('b'), 1000);
  assert.equal(got[3]!.data, 'b'.repeat(4000));
  assert.ok(got[3]!.buffer === got[1]!.buffer, 'the released buffer was reused');
  feed(big('c'), 333);
  assert.ok(got[4]!.release && got[4]!.buffer !== got[3]!.buffer, 'an unreleased buffer is never handed out twice');
  assert.equal(a.buffered, 0);
});

test('record arena: the first read of a record of unknown size is small, so a big WRITE costs neither a copy nor an arena', () => {
  const MIB = 1 << 20;
  const pool = new BufferPool(MIB + 4, 64 * 1024);
  const got: Buffer[] = [];
  const a = new RecordArena(2 * MIB, (r, release) => {
    got.push(Buffer.from(r));
    release?.();
  }, pool);
  const record = fragment(Buffer.alloc(MIB, 'w'), true);
  const offered: number[] = [];
  // A socket with plenty waiting: every read fills what it is offered, up to 256 KiB.
  for (let round = 0; round < 3; round++) {
    let o = 0;
    while (o < record.length) {
      const into = a.next();
      offered.push(into.length);
      const n = record.copy(into, 0, o, Math.min(record.length, o + Math.min(256 * 1024, into.length)));
      o += n;
      a.received(n);
    }
  }
  assert.equal(got.length, 3);
  assert.ok(got.every((r) => r.length === MIB && r[0] === 0x77 && r[MIB - 1] === 0x77));
  // Per record: one read of at most 16 KiB (header and first bytes), then
  // the rest straight into the pooled buffer.
  assert.ok(offered[0]! <= 16 * 1024, `first read offered ${offered[0]} bytes`);
  assert.equal(offered[1], MIB + 4 - offered[0]!, 'the rest goes into the pooled buffer');
});

test('record arena: over-limit records and endless empty fragments throw', () => {
  const a = new RecordArena(100, () => assert.fail('no record expected'));
  assert.throws(() => feedArena(a, recordHeader(101), 64), RecordTooLargeError);
  const b = new RecordArena(1 << 20, () => assert.fail('no record expected'));
  const empty = fragment(Buffer.alloc(0), false);
  assert.throws(() => feedArena(b, Buffer.concat(Array.from({ length: 5000 }, () => empty)), 4096), RecordTooLargeError);
});
