/**
 * What the pool task routes (api/routes/pool-tasks.ts) ask of disks and
 * Gluster when an admin adds disks to a pool or replaces a brick: one
 * small interface, so the API tests hand in fakes and need no glusterd,
 * and the real one below is the only place it touches the machine.
 *
 * The driver (driver.ts) never changes a volume's bricks: add-brick and
 * replace-brick run here, as admin tasks, and the state is updated after
 * Gluster agreed (the driver then finds volume and state equal again).
 */
import { checkDisk, prepareBrick, releaseBrick, type Brick } from './disks.js';
import { GlusterCli } from './cli.js';
import { GlusterVolumes, type HealState } from './volumes.js';

export interface BrickOps {
  /** This appliance's host name as brick names spell it ("host:/path"). */
  readonly host: string;
  /** Throws GlusterError DISK_NOT_FOUND / DISK_IN_USE / INVALID_ARGUMENT; changes nothing. */
  checkDisk(device: string, wipe: boolean): Promise<void>;
  /** XFS on the disk, mounted under DATA_DIR/bricks/<id>; returns its brick directory. */
  prepareBrick(device: string, id: string, wipe: boolean): Promise<Brick>;
  /** Unmounts a prepared brick that Gluster never got (a task failed or was cancelled first). */
  releaseBrick(brick: Brick): Promise<void>;
  /** Whether the pool's Gluster volume exists yet (a pool without bricks has none). */
  volumeExists(volume: string): Promise<boolean>;
  addBrick(volume: string, bricks: string[], opts: { force: boolean }): Promise<void>;
  /** `replace-brick … commit force`, then an index heal. */
  replaceBrick(volume: string, oldBrick: string, newBrick: string): Promise<void>;
  heal(volume: string): Promise<HealState>;
  /** How often heal progress is read (default 4 s). */
  readonly healPollMs?: number;
}

export interface GlusterBrickOpsOptions {
  host: string;
  dataDir: string;
  cli?: GlusterCli;
  healPollMs?: number;
}

export function glusterBrickOps(opts: GlusterBrickOpsOptions): BrickOps {
  const volumes = new GlusterVolumes(opts.cli ?? new GlusterCli());
  return {
    host: opts.host,
    checkDisk: async (device, wipe) => void (await checkDisk(device, wipe)),
    prepareBrick: (device, id, wipe) => prepareBrick({ device, id, wipe, dataDir: opts.dataDir }),
    releaseBrick: (brick) => releaseBrick(brick),
    volumeExists: async (volume) => (await volumes.list()).includes(volume),
    addBrick: (volume, bricks, o) => volumes.addBrick(volume, bricks, { force: o.force }),
    replaceBrick: (volume, oldBrick, newBrick) => volumes.replaceBrick(volume, oldBrick, newBrick),
    heal: (volume) => volumes.heal(volume),
    ...(opts.healPollMs ? { healPollMs: opts.healPollMs } : {}),
  };
}
