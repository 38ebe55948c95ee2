/**
 * The product's StateVolumeAccess (state-sync.ts) and the creation of the
 * `cairn-state` volume as appliances join (cluster.ts addAppliance):
 *
 *   - the 2nd appliance: replica 2 over the first two (losing either one
 *     stops changes to the cluster state: Gluster's client quorum for
 *     replica 2 needs the first brick — the console says so);
 *   - the 3rd: add-brick to replica 3 (any two of three may change it);
 *   - later appliances hold no state brick; they mount it like the rest.
 *
 * One brick per appliance, `DATA_DIR/cluster/state-brick` (each appliance
 * tells its own path in its JoinReply). Every appliance mounts the volume
 * from its own glusterd.
 */
import { splitBrick } from '../pool/gluster/xml.js';
import { createStateVolume, growStateVolume, isGlusterMount, mountVolume, STATE_VOLUME, unmountVolume } from '../pool/gluster/cluster-ops.js';
import type { GlusterVolumes } from '../pool/gluster/volumes.js';
import { stateVolumeLayout } from './cluster.js';
import type { StateVolumeAccess } from './state-sync.js';

export function glusterStateVolumeAccess(volumes: GlusterVolumes, hostname: string): StateVolumeAccess {
  return {
    volume: STATE_VOLUME,
    exists: async () => (await volumes.list()).includes(STATE_VOLUME),
    firstBrickHost: async () => {
      const info = await volumes.info(STATE_VOLUME);
      const first = info.bricks[0];
      return first ? splitBrick(first.name).host : undefined;
    },
    isMounted: (dir) => isGlusterMount(dir),
    mount: (dir) => mountVolume(hostname, STATE_VOLUME, dir),
    unmount: (dir) => unmountVolume(dir),
  };
}

/**
 * After `newcomer` joined: creates the state volume on this appliance and
 * the newcomer (the 2nd appliance), or grows it to replica 3 (the 3rd).
 * Returns what it did, for the log.
 */
export async function ensureStateVolume(
  volumes: GlusterVolumes,
  self: { hostname: string; stateBrick: string },
  newcomer: { hostname: string; stateBrick?: string },
): Promise<'created' | 'grown' | 'unchanged'> {
  if (!newcomer.stateBrick) return 'unchanged';
  const dirs = new Map([[self.hostname, self.stateBrick], [newcomer.hostname, newcomer.stateBrick]]);
  const list = await volumes.list();
  if (!list.includes(STATE_VOLUME)) {
    const { bricks } = stateVolumeLayout([self.hostname, newcomer.hostname], (h) => dirs.get(h)!);
    await createStateVolume(volumes, bricks);
    return 'created';
  }
  const info = await volumes.info(STATE_VOLUME);
  const hosts = info.bricks.map((b) => splitBrick(b.name).host);
  if (info.bricks.length >= 3 || hosts.includes(newcomer.hostname)) return 'unchanged';
  await growStateVolume(volumes, `${newcomer.hostname}:${newcomer.stateBrick}`);
  return 'grown';
}
