/**
 * Cairn users as Samba sees them: the NT hash of a password, the Unix
 * accounts smbd needs behind every Samba user, and the passdb
 * synchronisation plan. Pure functions; samba.ts does the I/O.
 *
 * Unix accounts: smbd maps every authenticated user to a Unix uid/gid. Cairn
 * does not add them to the host's /etc/passwd; it writes its own passwd and
 * group files and runs smbd and pdbedit with nss_wrapper preloaded
 * (NSS_WRAPPER_PASSWD / NSS_WRAPPER_GROUP), so the accounts exist for Samba
 * alone and disappear with the data directory.
 *
 * This is the appliance's mechanism too, not only the tests'. Cairn users are
 * file-sharing identities, not logins: outside /etc/passwd, sshd, PAM and
 * cron never see them, cairnd never edits system files, and what CI tests is
 * what ships. The cost: only processes started with this environment resolve
 * the names (`ls -l` on the appliance shows uids; the NFS server works with
 * numeric ids anyway), and a systemd unit for smbd must carry the environment
 * `SambaService.smbdCommand()` returns.
 */
import type { SmbGroup, SmbUser } from './types.js';

// ---------------------------------------------------------------- MD4 ------
// RFC 1320. Node's OpenSSL 3 only offers md4 with the legacy provider loaded,
// so it is written out here; it is used for NT hashes only, never as a
// general-purpose hash.

const ROUND2 = [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15];
const ROUND3 = [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15];
const SHIFTS = [
  [3, 7, 11, 19],
  [3, 5, 9, 13],
  [3, 9, 11, 15],
];

function rotl(x: number, s: number): number {
  return ((x << s) | (x >>> (32 - s))) >>> 0;
}

export function md4(message: Uint8Array): Buffer {
  // RFC 1320 §3.1–3.2: pad with 0x80 then zeros to 56 mod 64, then the
  // bit length as a 64-bit little-endian integer.
  const padded = Buffer.alloc((((message.length + 8) >> 6) + 1) * 64);
  padded.set(message);
  padded[message.length] = 0x80;
  const bits = BigInt(message.length) * 8n;
  padded.writeBigUInt64LE(bits & 0xffffffffffffffffn, padded.length - 8);

  // §3.3: A, B, C, D.
  const st = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
  const x = new Array<number>(16);
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) x[i] = padded.readUInt32LE(off + 4 * i);
    const saved = st.slice();
    // §3.4: three rounds of 16 steps; the step's target register walks
    // A, D, C, B and the other three, in order after it, are its arguments.
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 16; i++) {
        const t = (4 - (i % 4)) % 4;
        const b = st[(t + 1) % 4]!;
        const c = st[(t + 2) % 4]!;
        const d = st[(t + 3) % 4]!;
        let f: number;
        let k: number;
        let add: number;
        if (round === 0) {
          f = (b & c) | (~b & d);
          k = i;
          add = 0;
        } else if (round === 1) {
          f = (b & c) | (b & d) | (c & d);
          k = ROUND2[i]!;
          add = 0x5a827999;
        } else {
          f = b ^ c ^ d;
          k = ROUND3[i]!;
          add = 0x6ed9eba1;
        }
        st[t] = rotl((st[t]! + f + x[k]! + add) >>> 0, SHIFTS[round]![i % 4]!);
      }
    }
    for (let i = 0; i < 4; i++) st[i] = (st[i]! + saved[i]!) >>> 0;
  }
  const out = Buffer.alloc(16);
  st.forEach((v, i) => out.writeUInt32LE(v, 4 * i));
  return out;
}

/** The NT hash (MS-NLMP §3.3.1 NTOWFv1): MD4 of the UTF-16LE password, as 32 upper-case hex digits. */
export function ntHash(password: string): string {
  return md4(Buffer.from(password, 'utf16le')).toString('hex').toUpperCase();
}

// ------------------------------------------------------- Unix accounts ----

export interface AccountFiles {
  passwd: string;
  group: string;
}

/**
 * passwd and group files for nss_wrapper. root and nobody/nogroup are always
 * there (smbd runs as root and maps guests to nobody). A user whose primary
 * gid is not one of the desired groups gets a private group of that gid,
 * named after the user (or `cairn-<gid>` if that name is a desired group).
 */
export function accountFiles(users: SmbUser[], groups: SmbGroup[]): AccountFiles {
  const passwd = ['root:x:0:0:root:/root:/bin/false', 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin'];
  for (const u of users) passwd.push(`${u.name}:x:${u.uid}:${u.gid ?? u.uid}:${u.name}:/nonexistent:/usr/sbin/nologin`);

  const group = ['root:x:0:', 'nogroup:x:65534:'];
  const byGid = new Set(groups.map((g) => g.gid));
  const names = new Set(groups.map((g) => g.name));
  for (const g of groups) group.push(`${g.name}:x:${g.gid}:${g.members.join(',')}`);
  for (const u of users) {
    const gid = u.gid ?? u.uid;
    if (byGid.has(gid)) continue;
    const name = names.has(u.name) ? `cairn-${gid}` : u.name;
    group.push(`${name}:x:${gid}:`);
    byGid.add(gid);
    names.add(name);
  }
  return { passwd: passwd.join('\n') + '\n', group: group.join('\n') + '\n' };
}

// ------------------------------------------------------------- passdb -----

/** One account as `pdbedit -L -w` (smbpasswd format) lists it. */
export interface PassdbEntry {
  name: string;
  uid: number;
  ntHash: string;
  disabled: boolean;
}

/** Parses `pdbedit -L -w`: `name:uid:LMHASH:NTHASH:[FLAGS]:LCT-hex:`. */
export function parsePassdbList(text: string): PassdbEntry[] {
  const out: PassdbEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 6 || !/^\[[A-Z ]{11}\]$/.test(f[4]!)) continue;
    out.push({ name: f[0]!, uid: Number(f[1]), ntHash: f[3]!.toUpperCase(), disabled: f[4]!.includes('D') });
  }
  return out;
}

/**
 * A line of the smbpasswd file format that `pdbedit -i smbpasswd:FILE`
 * imports (man 5 smbpasswd). The LM hash is never set. Flags: U = normal
 * user, X = password does not expire, D = disabled.
 */
export function smbpasswdLine(u: SmbUser, now: Date): string {
  const flags = (u.enabled ? 'UX' : 'DUX').padEnd(11, ' ');
  const lct = Math.floor(now.getTime() / 1000)
    .toString(16)
    .toUpperCase()
    .padStart(8, '0');
  return `${u.name}:${u.uid}:${'X'.repeat(32)}:${u.ntHash.toUpperCase()}:[${flags}]:LCT-${lct}:`;
}

export interface PassdbPlan {
  /** Users to import (added, or changed: hash or enabled flag). */
  upsert: SmbUser[];
  /** Account names to delete from passdb (gone, or their uid changed). */
  remove: string[];
}

/** What must change so passdb holds exactly the desired users. */
export function planPassdb(desired: SmbUser[], current: PassdbEntry[]): PassdbPlan {
  const have = new Map(current.map((e) => [e.name, e]));
  const want = new Set(desired.map((u) => u.name));
  const plan: PassdbPlan = { upsert: [], remove: [] };
  for (const e of current) if (!want.has(e.name)) plan.remove.push(e.name);
  for (const u of desired) {
    const e = have.get(u.name);
    if (e && e.uid !== u.uid) plan.remove.push(u.name);
    if (!e || e.uid !== u.uid || e.ntHash !== u.ntHash.toUpperCase() || e.disabled === u.enabled) plan.upsert.push(u);
  }
  return plan;
}
