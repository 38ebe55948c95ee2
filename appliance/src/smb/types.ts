/**
 * What the SMB driver is asked to make true. The control plane translates its
 * state document into an `SmbDesired` and hands it to `SambaService.apply`;
 * nothing in smb/ reads the state document itself.
 *
 * Secrets: a user carries only the NT hash of the password (hex MD4 of its
 * UTF-16LE form, see users.ts `ntHash`), never the password. The NT hash is
 * password-equivalent for NTLM, so it is treated as a secret all the same:
 * never logged, never put on a command line.
 */

export interface SmbServer {
  /** NetBIOS name the server answers to (≤ 15 chars), e.g. "CAIRN". */
  netbiosName: string;
  /** Workgroup shown to clients, e.g. "WORKGROUP". */
  workgroup: string;
  /** TCP port of smbd: 445 on the appliance, a random high port in tests. */
  port: number;
  /** Free text shown beside the shares (`server string`). */
  serverString?: string;
  /** Addresses or interface names to bind to; empty or absent = all. */
  interfaces?: string[];
  /** Lowest protocol accepted; SMB1 is never offered. Default SMB2_10. */
  minProtocol?: 'SMB2_02' | 'SMB2_10' | 'SMB3_00' | 'SMB3_11';
  /** Samba debug level (0–10) for smbd's log file under the data dir. */
  logLevel?: number;
  /**
   * Announce the server and its Time Machine shares over mDNS (needs
   * avahi-daemon on the appliance). Off by default: tests and dev machines
   * have no avahi.
   */
  mdns?: boolean;
  /**
   * Present when this appliance serves SMB as one node of a CTDB cluster
   * (clustered Samba). Absent: a standalone server, and smb.conf carries no
   * clustering parameters at all.
   */
  cluster?: SmbCluster;
}

/**
 * Clustered Samba (smb.conf(5) `clustering`, ctdb(7)): every appliance runs
 * smbd against its own ctdbd, which replicates Samba's databases between
 * them. `netbiosName` must then be the cluster's name, the same on every
 * appliance, and shares must point at the same data on every appliance.
 */
export interface SmbCluster {
  /** ctdbd's Unix socket (CtdbService.paths.socket). */
  ctdbdSocket: string;
}

/** Where a share's files live. */
export type SmbShareBackend =
  /** A directory on a local filesystem (the local pool, or a FUSE mount). */
  | { kind: 'local'; path: string }
  /**
   * A Gluster volume reached through libgfapi by `vfs_glusterfs` (no FUSE).
   * `path` is inside the volume ("/" = the volume root).
   */
  | { kind: 'gluster'; volume: string; volfileServers: string[]; path: string };

export interface SmbRecycleBin {
  /** Keep deleted files in `.recycle/<user>/`; default true. */
  enabled: boolean;
  /** Extra file patterns never kept (temp files are always excluded). */
  exclude?: string[];
  /** Largest file kept, in bytes (0 = no limit). */
  maxSize?: number;
}

export interface SmbMacOs {
  /** vfs_fruit + streams_xattr + catia: Finder metadata, resource forks, names. */
  enabled: boolean;
  /** Advertise the share as a Time Machine destination. */
  timeMachine?: boolean;
  /** Limit Time Machine backups, Samba size syntax ("1T", "500G"). */
  timeMachineMaxSize?: string;
}

export interface SmbShare {
  /** Share name as clients see it (\\server\name). */
  name: string;
  comment?: string;
  backend: SmbShareBackend;
  readOnly: boolean;
  browseable: boolean;
  /** Guests (no account) may connect. Off by default everywhere. */
  guestOk: boolean;
  /** Users allowed in; with `validGroups` empty too, any authenticated user. */
  validUsers: string[];
  /** Groups whose members are allowed in. */
  validGroups: string[];
  /** Client networks allowed (CIDR or single address); empty = anyone. */
  hostsAllow: string[];
  recycleBin?: SmbRecycleBin;
  macos?: SmbMacOs;
  /**
   * SMB3 encryption (`server smb encrypt`): off; if_required (only when the
   * client asks); desired (offered, not enforced); required (unencrypted
   * sessions are refused). Absent = Samba's default (if_required).
   */
  encryption?: 'off' | 'if_required' | 'desired' | 'required';
  /**
   * Advanced smb.conf parameters for this share, added last. Validated by
   * testparm like everything else: a parameter Samba rejects keeps the whole
   * new configuration from being installed.
   */
  extraOptions?: Record<string, string>;
}

export interface SmbUser {
  name: string;
  uid: number;
  /** Primary group id; default: a private group with the uid's number. */
  gid?: number;
  /** Hex MD4 of the UTF-16LE password (32 hex digits, either case). */
  ntHash: string;
  enabled: boolean;
}

export interface SmbGroup {
  name: string;
  gid: number;
  /** User names. */
  members: string[];
}

export interface SmbDesired {
  server: SmbServer;
  shares: SmbShare[];
  users: SmbUser[];
  groups: SmbGroup[];
}

/** Something that could not be made true; `path` is dotted into SmbDesired ("shares.2.hostsAllow.0"). */
export interface SmbProblem {
  path: string;
  message: string;
}
