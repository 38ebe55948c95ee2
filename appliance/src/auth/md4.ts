/**
 * MD4 (RFC 1320), only for Samba's NT password hash: OpenSSL 3 moved MD4 to
 * its legacy provider, so node:crypto refuses it. Never use it for anything
 * that needs a secure hash.
 */
export function md4(input: Uint8Array): Buffer {
  const len = input.length;
  const padded = Buffer.alloc((((len + 8) >> 6) + 1) << 6);
  padded.set(input);
  padded[len] = 0x80;
  padded.writeUInt32LE((len * 8) >>> 0, padded.length - 8);
  padded.writeUInt32LE(Math.floor((len * 8) / 0x100000000), padded.length - 4);
  let a = 0x67452301, b = 0xefcdab89, c = 0x98badcfe, d = 0x10325476;
  const rotl = (x: number, n: number) => (x << n) | (x >>> (32 - n));
  const F = (x: number, y: number, z: number) => (x & y) | (~x & z);
  const G = (x: number, y: number, z: number) => (x & y) | (x & z) | (y & z);
  const H = (x: number, y: number, z: number) => x ^ y ^ z;
  const X = new Array<number>(16);
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) X[i] = padded.readUInt32LE(off + i * 4);
    const [aa, bb, cc, dd] = [a, b, c, d];
    const r1 = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
    const s1 = [3, 7, 11, 19];
    for (let i = 0; i < 16; i++) {
      const t = (a + F(b, c, d) + X[r1[i]!]!) | 0;
      [a, b, c, d] = [d, rotl(t, s1[i % 4]!), b, c];
    }
    const r2 = [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15];
    const s2 = [3, 5, 9, 13];
    for (let i = 0; i < 16; i++) {
      const t = (a + G(b, c, d) + X[r2[i]!]! + 0x5a827999) | 0;
      [a, b, c, d] = [d, rotl(t, s2[i % 4]!), b, c];
    }
    const r3 = [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15];
    const s3 = [3, 9, 11, 15];
    for (let i = 0; i < 16; i++) {
      const t = (a + H(b, c, d) + X[r3[i]!]! + 0x6ed9eba1) | 0;
      [a, b, c, d] = [d, rotl(t, s3[i % 4]!), b, c];
    }
    a = (a + aa) | 0;
    b = (b + bb) | 0;
    c = (c + cc) | 0;
    d = (d + dd) | 0;
  }
  const out = Buffer.alloc(16);
  out.writeInt32LE(a, 0);
  out.writeInt32LE(b, 4);
  out.writeInt32LE(c, 8);
  out.writeInt32LE(d, 12);
  return out;
}
