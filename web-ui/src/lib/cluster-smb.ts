/**
 * Clustered SMB (CTDB) on the Cluster page: public addresses typed one a
 * line as ADDRESS/PREFIX@INTERFACE[,INTERFACE] (the notation of `cairnctl
 * cluster smb on`), checked before sending; the API's field errors
 * ("publicAddresses.2.address") shown beside the one text field as "Line
 * 3: …" (the API finds duplicates; the format is checked here); CTDB's node flags and address placement as words.
 */
import { isIPv4, isIPv6 } from './validate.js';

export interface PublicAddress {
  address: string;
  prefix: number;
  interfaces: string[];
}

type ErrorLike = { fields: Record<string, string[]> };

const IFACE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;
const NETBIOS = /^[A-Za-z0-9][A-Za-z0-9-]{0,14}$/;

export function formatPublicAddresses(list: readonly PublicAddress[]): string {
  return list.map((a) => `${a.address}/${a.prefix}@${a.interfaces.join(',')}`).join('\n');
}

/** One problem per bad line ("Line 2: …"); addresses only when every line is good. */
export function parsePublicAddresses(text: string): { addresses: PublicAddress[]; errors: string[] } {
  const addresses: PublicAddress[] = [];
  const errors: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    const at = `Line ${i + 1}`;
    const m = /^([^/@\s]+)\/(\d{1,3})@(\S+)$/.exec(line);
    if (!m) return void errors.push(`${at}: "${line}" is not ADDRESS/PREFIX@INTERFACE (e.g. 192.168.1.50/24@eth0).`);
    const [, address, p, ifs] = m as unknown as [string, string, string, string];
    const v4 = isIPv4(address);
    if (!v4 && !isIPv6(address)) return void errors.push(`${at}: ${address} is not an IPv4 or IPv6 address.`);
    const prefix = Number(p);
    if (prefix < 1 || prefix > (v4 ? 32 : 128)) return void errors.push(`${at}: the prefix /${prefix} must be 1 to ${v4 ? 32 : 128}.`);
    const interfaces = ifs.split(',');
    const bad = interfaces.find((f) => !IFACE.test(f));
    if (bad !== undefined) return void errors.push(`${at}: "${bad}" is not an interface name (letters, digits, _ . -, at most 15).`);
    addresses.push({ address, prefix, interfaces });
  });
  if (errors.length === 0 && addresses.length === 0) errors.push('Clustered SMB needs at least one public address for clients.');
  return { addresses: errors.length ? [] : addresses, errors };
}

export function netbiosNameError(name: string): string | null {
  return NETBIOS.test(name.trim()) ? null : 'A NetBIOS name is 1 to 15 letters, digits or hyphens, not starting with a hyphen.';
}

/**
 * The API's field errors for PUT /cluster/smb beside the form's two fields:
 * `publicAddresses.N.…` becomes a "Line N+1: …" under `publicAddresses`
 * (lines counted among the non-empty ones sent, which is how `lines` maps
 * them back); other paths stay as they are.
 */
export function clusterSmbFieldErrors(e: ErrorLike, lines: readonly number[] = []): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(e.fields)) {
    if (!v.length) continue;
    const m = /^publicAddresses\.(\d+)(?:\.|$)/.exec(k);
    if (m) {
      const n = Number(m[1]);
      const line = (i: number) => lines[i] ?? i + 1;
      // The API names other entries by path too ("is already used by publicAddresses.0").
      (out.publicAddresses ??= []).push(...v.map((x) => `Line ${line(n)}: ${x.replace(/\bpublicAddresses\.(\d+)\b/g, (_, j: string) => `line ${line(Number(j))}`)}`));
    } else (out[k] ??= []).push(...v);
  }
  return out;
}

/** 1-based line numbers of the non-empty lines, in order: index i of the list sent ↔ its line. */
export function addressLines(text: string): number[] {
  return text
    .split('\n')
    .map((l, i) => (l.trim() ? i + 1 : 0))
    .filter((n) => n > 0);
}

/** A CTDB node's health for the badge and a few words. */
export function ctdbNodeHealth(health: string): { badge: string; text: string } {
  switch (health) {
    case 'ok':
      return { badge: 'ok', text: 'takes part, may host public addresses' };
    case 'disconnected':
      return { badge: 'down', text: 'not reachable by CTDB' };
    case 'banned':
      return { badge: 'failed', text: 'banned by CTDB after repeated failures' };
    case 'unhealthy':
      return { badge: 'degraded', text: 'an event script failed (see ctdb log)' };
    case 'stopped':
    case 'disabled':
    case 'inactive':
      return { badge: 'stopped', text: `${health}: hosts no public addresses` };
    default:
      return { badge: health, text: health };
  }
}

/** One line on CTDB's cluster lock volume, and whether it is a warning. */
export function lockLine(lock: { volume: string | null; mounted: boolean | null; file: string | null }): { warn: boolean; text: string } {
  const vol = lock.volume ? `Gluster volume ${lock.volume}` : 'the shared state volume';
  if (lock.mounted === false) return { warn: true, text: `The lock volume (${vol}) is not mounted here: CTDB waits for it.` };
  return { warn: false, text: `Lock volume: ${vol}${lock.mounted ? ', mounted' : ''}${lock.file ? `; CTDB's cluster lock is ${lock.file}` : ''}.` };
}
