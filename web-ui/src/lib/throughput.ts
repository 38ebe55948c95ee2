/**
 * Which /metrics series feed the dashboard's plots. Each quantity lists
 * selectors in order of preference; the first that matches anything in a
 * scrape is used, so the console keeps working as the exporters settle
 * their names (cairnd's own metrics first, generic spellings after).
 */
import { rate, sum, type Scrape, type Selector } from './prom.js';

export type Quantity = 'nfsRead' | 'nfsWrite' | 'nfsOps' | 'smbRead' | 'smbWrite' | 'smbOps' | 'smbSessions';

const dir = (proto: 'nfs' | 'smb', d: 'read' | 'write'): Selector[] => [
  { name: `cairn_${proto}_${d}_bytes_total` },
  { name: `cairn_${proto}_bytes_total`, labels: { direction: d } },
  { name: `cairn_${proto}_bytes_total`, labels: { op: d } },
  { name: new RegExp(`^cairn_${proto}_.*bytes_total$`), labels: { direction: new RegExp(`^${d}`) } },
  { name: new RegExp(`^cairn_${proto}_.*${d}.*bytes_total$`) },
];

/**
 * The metric family each quantity belongs to in cairnd. A labelled counter
 * has no samples until its first increment, but its TYPE line is there: a
 * known family with no samples is a rate of zero, not "not exported".
 */
export const FAMILIES: Record<Quantity, string> = {
  nfsRead: 'cairn_nfs_bytes_total',
  nfsWrite: 'cairn_nfs_bytes_total',
  nfsOps: 'cairn_nfs_ops_total',
  smbRead: 'cairn_smb_bytes_total',
  smbWrite: 'cairn_smb_bytes_total',
  smbOps: 'cairn_smb_ops_total',
  smbSessions: 'cairn_smb_sessions',
};

export const SELECTORS: Record<Quantity, Selector[]> = {
  nfsRead: dir('nfs', 'read'),
  nfsWrite: dir('nfs', 'write'),
  nfsOps: [{ name: 'cairn_nfs_ops_total' }, { name: 'cairn_nfs_requests_total' }, { name: /^cairn_nfs_.*(ops|requests|calls)_total$/ }],
  smbRead: dir('smb', 'read'),
  smbWrite: dir('smb', 'write'),
  smbOps: [{ name: 'cairn_smb_ops_total' }, { name: /^cairn_smb_.*(ops|requests|calls)_total$/ }],
  smbSessions: [{ name: 'cairn_smb_sessions' }, { name: /^cairn_smb_(sessions|connections)/ }],
};

function pick(scrape: Scrape, q: Quantity): Selector | undefined {
  return SELECTORS[q].find((sel) => sum(scrape, sel) !== null);
}

/** The per-second rate of a counter quantity between two scrapes; null when the appliance does not export it. */
export function quantityRate(prev: Scrape, cur: Scrape, q: Quantity): number | null {
  const sel = pick(cur, q);
  if (sel) return rate(prev, cur, sel);
  return FAMILIES[q].replace(/_total$/, '') in cur.types || FAMILIES[q] in cur.types ? 0 : null;
}

/** The current value of a gauge quantity. */
export function quantityValue(cur: Scrape, q: Quantity): number | null {
  const sel = pick(cur, q);
  if (sel) return sum(cur, sel);
  return FAMILIES[q] in cur.types ? 0 : null;
}
