/**
 * The desired SMB state → an smb.conf model: `[global]` plus one section per
 * share, as ordered parameter maps. Pure: no I/O, no clock; render.ts turns
 * the model into text and samba.ts has testparm check it.
 *
 * Input that would corrupt the file (newlines, brackets in share names) or
 * widen access by accident (an unparsable user name in `valid users`, a
 * malformed network in `hosts allow`) is refused here: the share or user is
 * left out and a problem with a dotted path says why. Everything else about
 * parameter values is Samba's to judge (testparm).
 */
import { isIP } from 'node:net';
import { posix } from 'node:path';
import type { SambaPaths } from './paths.js';
import type { SmbDesired, SmbGroup, SmbProblem, SmbShare, SmbUser } from './types.js';

/** smb.conf parameters in the order they are written. */
export type SmbConfSection = Record<string, string>;

export interface SmbConfModel {
  global: SmbConfSection;
  /** Share name → parameters, in the order of the desired shares. */
  shares: Record<string, SmbConfSection>;
}

export interface Generated {
  model: SmbConfModel;
  /** Users and groups that passed validation (accounts and passdb use these). */
  users: SmbUser[];
  groups: SmbGroup[];
  problems: SmbProblem[];
}

/** Files Windows and Office leave behind that a recycle bin should not keep. */
export const RECYCLE_EXCLUDE_DEFAULT = ['*.tmp', '*.temp', '~$*', '~*.tmp', '*.swp', '.~lock.*#', 'Thumbs.db', '.DS_Store'];

/** Share names Samba reserves or treats specially. */
const RESERVED_SHARES = new Set(['global', 'homes', 'printers', 'print$', 'ipc$']);
/** Characters Windows does not allow in a share name, plus smb.conf's brackets. */
const SHARE_NAME_BAD = /[\x00-\x1f\x7f"\/\\\[\]:|<>+=;,*?%]/;
/** POSIX-portable account names, like Debian's adduser default. */
const ACCOUNT_NAME = /^[a-z_][a-z0-9_.-]{0,31}$/;
const NT_HASH = /^[0-9a-fA-F]{32}$/;
const NETBIOS_NAME = /^[A-Za-z0-9][A-Za-z0-9-]{0,14}$/;
const WORKGROUP = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;
const SIZE = /^\d+[KMGTP]?$/;
/** First uid/gid Cairn hands out; below are system accounts. */
export const MIN_ID = 1000;
const MAX_ID = 2 ** 31 - 1;
const NOBODY_ID = 65534;
/**
 * Clustered Samba: ids idmap hands out for SIDs that are not Cairn accounts
 * (BUILTIN groups, well-known SIDs). The idmap database is a CTDB persistent
 * database, so every appliance hands out the same id for the same SID; the
 * range lies above the ids Cairn gives its accounts in practice, and an
 * account inside it is refused in a cluster.
 */
export const CLUSTER_IDMAP_RANGE: readonly [number, number] = [2_000_000_000, 2_099_999_999];

function safeValue(v: string): boolean {
  return !/[\r\n\x00]/.test(v) && v.trim() === v;
}

function validId(n: number): boolean {
  return Number.isInteger(n) && n >= MIN_ID && n <= MAX_ID && n !== NOBODY_ID;
}

/** `a.b.c.d`, `a.b.c.d/nn`, an IPv6 address, or `addr6/nn`. */
export function validNetwork(s: string): boolean {
  const [addr, prefix, ...rest] = s.split('/');
  if (rest.length > 0 || addr === undefined) return false;
  const family = isIP(addr);
  if (family === 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

function checkUsers(users: SmbUser[], problems: SmbProblem[]): SmbUser[] {
  const ok: SmbUser[] = [];
  const names = new Set<string>();
  const uids = new Set<number>();
  users.forEach((u, i) => {
    const at = `users.${i}`;
    const before = problems.length;
    if (!ACCOUNT_NAME.test(u.name)) problems.push({ path: `${at}.name`, message: `user name "${u.name}" must match ${ACCOUNT_NAME}` });
    else if (u.name === 'root' || u.name === 'nobody') problems.push({ path: `${at}.name`, message: `user name "${u.name}" is reserved` });
    else if (names.has(u.name)) problems.push({ path: `${at}.name`, message: `user "${u.name}" appears twice` });
    if (!validId(u.uid)) problems.push({ path: `${at}.uid`, message: `uid ${u.uid} must be an integer from ${MIN_ID} to ${MAX_ID}, not ${NOBODY_ID}` });
    else if (uids.has(u.uid)) problems.push({ path: `${at}.uid`, message: `uid ${u.uid} is used by another user` });
    if (u.gid !== undefined && !validId(u.gid)) problems.push({ path: `${at}.gid`, message: `gid ${u.gid} must be an integer from ${MIN_ID} to ${MAX_ID}, not ${NOBODY_ID}` });
    // Never echo the hash itself.
    if (typeof u.ntHash !== 'string' || !NT_HASH.test(u.ntHash)) problems.push({ path: `${at}.ntHash`, message: 'NT hash must be 32 hex digits' });
    if (problems.length === before) {
      ok.push(u);
      names.add(u.name);
      uids.add(u.uid);
    }
  });
  return ok;
}

function checkGroups(groups: SmbGroup[], userNames: Set<string>, problems: SmbProblem[]): SmbGroup[] {
  const ok: SmbGroup[] = [];
  const names = new Set<string>();
  const gids = new Set<number>();
  groups.forEach((g, i) => {
    const at = `groups.${i}`;
    const before = problems.length;
    if (!ACCOUNT_NAME.test(g.name)) problems.push({ path: `${at}.name`, message: `group name "${g.name}" must match ${ACCOUNT_NAME}` });
    else if (g.name === 'root' || g.name === 'nogroup') problems.push({ path: `${at}.name`, message: `group name "${g.name}" is reserved` });
    else if (names.has(g.name)) problems.push({ path: `${at}.name`, message: `group "${g.name}" appears twice` });
    if (!validId(g.gid)) problems.push({ path: `${at}.gid`, message: `gid ${g.gid} must be an integer from ${MIN_ID} to ${MAX_ID}, not ${NOBODY_ID}` });
    else if (gids.has(g.gid)) problems.push({ path: `${at}.gid`, message: `gid ${g.gid} is used by another group` });
    if (problems.length === before) {
      // Members that are not (valid) users are dropped: membership only grants.
      ok.push({ ...g, members: g.members.filter((m) => userNames.has(m)) });
      names.add(g.name);
      gids.add(g.gid);
    }
  });
  return ok;
}

function checkShare(s: SmbShare, at: string, seen: Set<string>, problems: SmbProblem[]): boolean {
  const before = problems.length;
  const lower = s.name.toLowerCase();
  if (s.name.length < 1 || s.name.length > 80 || SHARE_NAME_BAD.test(s.name) || s.name.trim() !== s.name) {
    problems.push({ path: `${at}.name`, message: `share name "${s.name}" must be 1–80 characters without control characters or "/\\[]:|<>+=;,*?%` });
  } else if (RESERVED_SHARES.has(lower)) {
    problems.push({ path: `${at}.name`, message: `share name "${s.name}" is reserved by Samba` });
  } else if (seen.has(lower)) {
    problems.push({ path: `${at}.name`, message: `share name "${s.name}" is used twice (share names ignore case)` });
  }
  const p = s.backend.path;
  if (typeof p !== 'string' || !p.startsWith('/') || !safeValue(p) || posix.normalize(p) !== p.replace(/(.)\/$/, '$1')) {
    problems.push({ path: `${at}.backend.path`, message: `path "${String(p)}" must be absolute and normalized` });
  }
  if (s.backend.kind === 'gluster') {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(s.backend.volume)) {
      problems.push({ path: `${at}.backend.volume`, message: `Gluster volume name "${s.backend.volume}" is not valid` });
    }
    if (s.backend.volfileServers.length === 0) {
      problems.push({ path: `${at}.backend.volfileServers`, message: 'at least one volfile server is needed' });
    }
    s.backend.volfileServers.forEach((h, j) => {
      if (!/^[A-Za-z0-9_.:+\[\]\/-]+$/.test(h)) problems.push({ path: `${at}.backend.volfileServers.${j}`, message: `"${h}" is not a host name, address or unix+/path` });
    });
  }
  if (s.encryption !== undefined && !['off', 'if_required', 'desired', 'required'].includes(s.encryption)) {
    problems.push({ path: `${at}.encryption`, message: `"${String(s.encryption)}" must be off, if_required, desired or required` });
  }
  if (s.comment !== undefined && !safeValue(s.comment)) problems.push({ path: `${at}.comment`, message: 'comment must be one line' });
  s.validUsers.forEach((u, j) => {
    if (!ACCOUNT_NAME.test(u)) problems.push({ path: `${at}.validUsers.${j}`, message: `"${u}" is not a valid user name` });
  });
  s.validGroups.forEach((g, j) => {
    if (!ACCOUNT_NAME.test(g)) problems.push({ path: `${at}.validGroups.${j}`, message: `"${g}" is not a valid group name` });
  });
  s.hostsAllow.forEach((h, j) => {
    if (!validNetwork(h)) problems.push({ path: `${at}.hostsAllow.${j}`, message: `"${h}" is not an address or CIDR network` });
  });
  (s.recycleBin?.exclude ?? []).forEach((x, j) => {
    // Samba splits this list on white space, "," and ";".
    if (!/^[^\s,;%]+$/.test(x)) problems.push({ path: `${at}.recycleBin.exclude.${j}`, message: `pattern "${x}" must not contain white space, ",", ";" or "%"` });
  });
  const maxSize = s.recycleBin?.maxSize;
  if (maxSize !== undefined && (!Number.isSafeInteger(maxSize) || maxSize < 0)) {
    problems.push({ path: `${at}.recycleBin.maxSize`, message: 'must be a whole number of bytes' });
  }
  const tmSize = s.macos?.timeMachineMaxSize;
  if (tmSize !== undefined && !SIZE.test(tmSize)) {
    problems.push({ path: `${at}.macos.timeMachineMaxSize`, message: `"${tmSize}" must be a size like 500G or 2T` });
  }
  for (const [k, v] of Object.entries(s.extraOptions ?? {})) {
    if (!/^[a-z0-9 _:.-]+$/i.test(k) || !safeValue(k) || !safeValue(v)) {
      problems.push({ path: `${at}.extraOptions.${k}`, message: 'parameter names and values must be one line' });
    }
  }
  if (problems.length > before) return false;
  seen.add(lower);
  return true;
}

/** `valid users` syntax: names, and `+group` for Unix groups only (no NIS netgroup lookups). */
function validUsersValue(s: SmbShare): string {
  return [...s.validUsers, ...s.validGroups.map((g) => `+${g}`)].join(' ');
}

function globalSection(desired: SmbDesired, paths: SambaPaths, shares: SmbShare[]): SmbConfSection {
  const srv = desired.server;
  const anyGuest = shares.some((s) => s.guestOk);
  const anyMac = shares.some((s) => s.macos?.enabled);
  const g: SmbConfSection = {
    'server role': 'standalone server',
    'netbios name': srv.netbiosName,
    workgroup: srv.workgroup,
    'server string': srv.serverString ?? 'Cairn',
    security: 'user',
    // SMB1 is never offered; SMB2_10 is Windows 7 / Server 2008 R2.
    'server min protocol': srv.minProtocol ?? 'SMB2_10',
    'smb ports': String(srv.port),
    'disable netbios': 'yes',
    'passdb backend': 'tdbsam',
    // A wrong password is a failure, never a silent guest login; unknown
    // names become guest only while some share admits guests.
    'map to guest': anyGuest ? 'bad user' : 'never',
    'guest account': 'nobody',
    'restrict anonymous': '2',
    'invalid users': 'root',
    'ntlm auth': 'ntlmv2-only',
    'lanman auth': 'no',
    'private dir': paths.privateDir,
    'lock directory': paths.lockDir,
    'state directory': paths.stateDir,
    'cache directory': paths.cacheDir,
    'pid directory': paths.pidDir,
    'ncalrpc dir': paths.ncalrpcDir,
    'binddns dir': paths.bindDnsDir,
    'log file': posix.join(paths.logDir, 'smbd.log'),
    'max log size': '10000',
    'log level': String(srv.logLevel ?? 1),
    logging: 'file',
    'load printers': 'no',
    printing: 'bsd',
    'printcap name': '/dev/null',
    'disable spoolss': 'yes',
    'show add printer wizard': 'no',
    'usershare max shares': '0',
    'registry shares': 'no',
    'unix password sync': 'no',
    'pam password change': 'no',
    'obey pam restrictions': 'no',
    'dns proxy': 'no',
    'multicast dns register': srv.mdns ? 'yes' : 'no',
  };
  if (srv.cluster) {
    // Samba's databases (locking, sessions, passdb, secrets, idmap) live in
    // CTDB; smbd reaches its node's ctdbd through this socket. The netbios
    // name is the cluster's (the caller passes the same on every node).
    g.clustering = 'yes';
    g['ctdbd socket'] = srv.cluster.ctdbdSocket;
    g['idmap config * : backend'] = 'tdb';
    g['idmap config * : range'] = `${CLUSTER_IDMAP_RANGE[0]}-${CLUSTER_IDMAP_RANGE[1]}`;
  }
  if (srv.interfaces && srv.interfaces.length > 0) {
    g.interfaces = srv.interfaces.join(' ');
    g['bind interfaces only'] = 'yes';
  }
  if (anyMac) {
    // Global-only fruit options: AAPL extensions are negotiated on the first
    // tree connect, so they are on for the whole server.
    g['fruit:aapl'] = 'yes';
    g['fruit:model'] = 'MacSamba';
    // Keep macOS from rewriting Unix modes through NFS ACEs.
    g['fruit:nfs_aces'] = 'no';
  }
  return g;
}

function shareSection(s: SmbShare, paths: SambaPaths, clustered: boolean): SmbConfSection {
  const sec: SmbConfSection = {};
  sec.path = s.backend.path;
  if (s.comment) sec.comment = s.comment;
  sec['read only'] = s.readOnly ? 'yes' : 'no';
  sec.browseable = s.browseable ? 'yes' : 'no';
  sec['guest ok'] = s.guestOk ? 'yes' : 'no';
  const valid = validUsersValue(s);
  if (valid) sec['valid users'] = valid;
  if (s.hostsAllow.length > 0) {
    sec['hosts allow'] = s.hostsAllow.join(' ');
    sec['hosts deny'] = 'ALL';
  }

  const vfs: string[] = [];
  const mac = s.macos?.enabled === true;
  // catia maps the private-range characters macOS uses for NTFS-illegal ones.
  if (mac) vfs.push('catia', 'fruit');
  // Alternate data streams for every share (Windows Zone.Identifier, macOS metadata).
  vfs.push('streams_xattr');
  const recycle = s.recycleBin?.enabled === true && !s.readOnly;
  if (recycle) vfs.push('recycle');
  // Clustered, on a shared filesystem mounted on every node (a Gluster FUSE
  // mount): locking.tdb keys files by (device, inode), and the device number
  // of a FUSE mount differs between nodes; vfs_fileid derives it from the
  // mount's source name instead, which must then be the same on every node
  // (mount `localhost:/VOLUME`, not `nodeN:/VOLUME`).
  const fileid = clustered && s.backend.kind === 'local';
  if (fileid) vfs.unshift('fileid');
  // vfs_glusterfs is a backend, not a filter: it must be last.
  if (s.backend.kind === 'gluster') vfs.push('glusterfs');
  sec['vfs objects'] = vfs.join(' ');

  // Windows semantics: names keep their case, lookups ignore it; names that
  // Windows cannot show (e.g. with ':') are mangled rather than hidden.
  sec['case sensitive'] = 'auto';
  sec['preserve case'] = 'yes';
  sec['short preserve case'] = 'yes';
  sec['default case'] = 'lower';
  sec['mangled names'] = 'illegal';
  // DOS attributes (hidden, system, read-only) live in an xattr, not in mode bits.
  sec['store dos attributes'] = 'yes';
  sec['ea support'] = 'yes';
  // Group members may change each other's files. The owner keeps the x bit
  // (Samba sets it for the archive attribute): without it the owner lacks
  // FILE_EXECUTE, so opens asking for full control (what Windows and
  // smbtorture's smb2.connect send) are refused. Measured on Samba 4.17.
  sec['create mask'] = '0764';
  sec['directory mask'] = '0775';

  if (recycle) {
    const rb = s.recycleBin!;
    // Per-user bin: .recycle/<user>/ keeps the deleted file's folders and
    // every version ("Copy #1 of …"). vfs_recycle makes the repository's
    // first component with directory_mode and everything below with
    // subdir_mode: `.recycle` sticky and world-writable, so whoever deletes
    // first does not lock the others out (vfs_recycle would then delete
    // their files for good), and each user's folder private.
    sec['recycle:repository'] = '.recycle/%U';
    sec['recycle:keeptree'] = 'yes';
    sec['recycle:versions'] = 'yes';
    sec['recycle:touch'] = 'yes';
    sec['recycle:directory_mode'] = '1777';
    sec['recycle:subdir_mode'] = '0700';
    sec['recycle:exclude'] = [...RECYCLE_EXCLUDE_DEFAULT, ...(rb.exclude ?? [])].join(' ');
    sec['recycle:exclude_dir'] = '.recycle';
    sec['recycle:maxsize'] = String(rb.maxSize ?? 0);
  }

  if (mac) {
    sec['fruit:metadata'] = 'stream';
    sec['fruit:resource'] = 'stream';
    sec['fruit:encoding'] = 'native';
    sec['fruit:posix_rename'] = 'yes';
    sec['fruit:veto_appledouble'] = 'no';
    sec['fruit:wipe_intentionally_left_blank_rfork'] = 'yes';
    sec['fruit:delete_empty_adfiles'] = 'yes';
    if (s.macos?.timeMachine) {
      sec['fruit:time machine'] = 'yes';
      if (s.macos.timeMachineMaxSize) sec['fruit:time machine max size'] = s.macos.timeMachineMaxSize;
    }
  }

  if (s.encryption) sec['server smb encrypt'] = s.encryption;
  if (fileid) sec['fileid:algorithm'] = 'fsname';

  if (s.backend.kind === 'gluster') {
    sec['glusterfs:volume'] = s.backend.volume;
    sec['glusterfs:volfile_server'] = s.backend.volfileServers.join(' ');
    sec['glusterfs:logfile'] = posix.join(paths.logDir, `glusterfs-${s.backend.volume}.log`);
    sec['glusterfs:loglevel'] = '7';
    // There is no kernel file descriptor to put share modes or leases on.
    sec['kernel share modes'] = 'no';
    sec['kernel oplocks'] = 'no';
  }

  for (const [k, v] of Object.entries(s.extraOptions ?? {})) sec[k.trim().toLowerCase()] = v;
  return sec;
}

export function generate(desired: SmbDesired, paths: SambaPaths): Generated {
  const problems: SmbProblem[] = [];
  const srv = desired.server;
  if (!NETBIOS_NAME.test(srv.netbiosName)) problems.push({ path: 'server.netbiosName', message: `"${srv.netbiosName}" must be 1–15 letters, digits or "-"` });
  if (!WORKGROUP.test(srv.workgroup)) problems.push({ path: 'server.workgroup', message: `"${srv.workgroup}" must be 1–15 letters, digits, "_", "." or "-"` });
  if (!Number.isInteger(srv.port) || srv.port < 1 || srv.port > 65535) problems.push({ path: 'server.port', message: `port ${srv.port} must be 1–65535` });
  if (srv.serverString !== undefined && !safeValue(srv.serverString)) problems.push({ path: 'server.serverString', message: 'must be one line' });
  (srv.interfaces ?? []).forEach((x, i) => {
    if (!/^[A-Za-z0-9_.:\/-]+$/.test(x)) problems.push({ path: `server.interfaces.${i}`, message: `"${x}" is not an address or interface name` });
  });
  if (srv.logLevel !== undefined && !(Number.isInteger(srv.logLevel) && srv.logLevel >= 0 && srv.logLevel <= 10)) {
    problems.push({ path: 'server.logLevel', message: 'must be 0–10' });
  }
  if (srv.cluster !== undefined && (!srv.cluster.ctdbdSocket.startsWith('/') || !safeValue(srv.cluster.ctdbdSocket) || /\s/.test(srv.cluster.ctdbdSocket))) {
    problems.push({ path: 'server.cluster.ctdbdSocket', message: 'must be an absolute path without white space' });
  }
  const serverOk = problems.length === 0;

  let users = checkUsers(desired.users, problems);
  let groups = checkGroups(desired.groups, new Set(users.map((u) => u.name)), problems);
  if (srv.cluster) {
    // An account inside idmap's range could be handed to another SID.
    const [lo, hi] = CLUSTER_IDMAP_RANGE;
    const inRange = (n: number | undefined) => n !== undefined && n >= lo && n <= hi;
    users = users.filter((u) => {
      const bad = inRange(u.uid) || inRange(u.gid);
      if (bad) problems.push({ path: `users.${desired.users.indexOf(u)}.uid`, message: `ids ${lo}–${hi} are reserved for clustered Samba's idmap` });
      return !bad;
    });
    groups = groups.filter((g) => {
      const bad = inRange(g.gid);
      if (bad) problems.push({ path: `groups.${desired.groups.findIndex((x) => x.name === g.name)}.gid`, message: `ids ${lo}–${hi} are reserved for clustered Samba's idmap` });
      return !bad;
    });
  }
  const seen = new Set<string>();
  const shares = desired.shares.filter((s, i) => checkShare(s, `shares.${i}`, seen, problems));

  // A server section that fails validation cannot be rendered safely at all;
  // the caller keeps the configuration it has.
  const model: SmbConfModel = { global: serverOk ? globalSection(desired, paths, shares) : {}, shares: {} };
  if (serverOk) for (const s of shares) model.shares[s.name] = shareSection(s, paths, srv.cluster !== undefined);
  return { model, users, groups, problems };
}
