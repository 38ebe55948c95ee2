/**
 * georep.ts's command layer faked for API and console tests: sessions in
 * memory, shaped like the status XML captured in the lab, commands recorded.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { GlusterError } from '../../src/pool/gluster/errors.js';
import { parseGeoRepStatus, type GeoRepSession, type GeoRepTarget } from '../../src/pool/gluster/georep.js';
import { parseCliOutput } from '../../src/pool/gluster/xml.js';

export const georepFixture = (name: string) => readFile(fileURLToPath(new URL(`../../../test/cluster/fixtures/${name}`, import.meta.url)), 'utf8');

/** The lab's gv0 → node4::backup session (Active on node1, Passive on node3 and node2). */
export async function labSession(): Promise<GeoRepSession> {
  return parseGeoRepStatus(parseCliOutput(await georepFixture('georep-status-lab.xml')))[0]!;
}

/** georep.ts's command layer, faked: sessions keyed by "vol host::svol", commands recorded. */
export class FakeGeo {
  sessions = new Map<string, GeoRepSession>();
  calls: string[] = [];
  unreachable = new Set<string>();
  constructor(private readonly template: GeoRepSession) {}
  private key = (t: GeoRepTarget) => `${t.primary} ${t.secondaryHost}::${t.secondaryVolume}`;
  private setStatus(t: GeoRepTarget, status: string) {
    const s = this.sessions.get(this.key(t));
    if (!s) throw new GlusterError('GLUSTER_FAILED', `Geo-replication session between ${t.primary} and ${t.secondaryHost}::${t.secondaryVolume} does not exist.`);
    s.pairs = s.pairs.map((p, i) => ({ ...p, status: status === 'Active' ? (i === 0 ? 'Active' : 'Passive') : status }));
  }
  status = async () => [...this.sessions.values()];
  gsecCreate = async () => void this.calls.push('gsec_create');
  create = async (t: GeoRepTarget, opts: { sshPort?: number } = {}) => {
    this.calls.push(`create ${this.key(t)}${opts.sshPort ? ` ssh-port ${opts.sshPort}` : ''}`);
    if (this.unreachable.has(t.secondaryHost)) throw new GlusterError('GLUSTER_FAILED', `Unable to mount and fetch secondary volume details. Please check the log: /var/log/glusterfs/geo-replication/gverify-secondarymnt.log`);
    const sec = `ssh://${t.secondaryHost}::${t.secondaryVolume}`;
    this.sessions.set(this.key(t), { primaryVolume: t.primary, secondary: sec, pairs: this.template.pairs.map((p) => ({ ...p, secondary: sec, status: 'Created', lastSynced: null })) });
  };
  start = async (t: GeoRepTarget) => {
    this.calls.push(`start ${this.key(t)}`);
    this.setStatus(t, 'Active');
  };
  stop = async (t: GeoRepTarget, opts: { force?: boolean } = {}) => {
    this.calls.push(`stop ${this.key(t)}${opts.force ? ' force' : ''}`);
    this.setStatus(t, 'Stopped');
  };
  pause = async (t: GeoRepTarget) => {
    this.calls.push(`pause ${this.key(t)}`);
    this.setStatus(t, 'Paused');
  };
  resume = async (t: GeoRepTarget) => {
    this.calls.push(`resume ${this.key(t)}`);
    this.setStatus(t, 'Active');
  };
  checkpoint = async (t: GeoRepTarget) => {
    this.calls.push(`checkpoint ${this.key(t)}`);
    const s = this.sessions.get(this.key(t))!;
    s.pairs = s.pairs.map((p) => ({ ...p, checkpointTime: '2026-11-28T21:41:20', checkpointCompleted: false }));
  };
  delete = async (t: GeoRepTarget) => {
    this.calls.push(`delete ${this.key(t)}`);
    this.sessions.delete(this.key(t));
  };
}

