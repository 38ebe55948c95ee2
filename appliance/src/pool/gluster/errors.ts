/**
 * Errors of the Gluster pool driver, one class with a machine-readable
 * `code` so the control plane maps them in one place:
 *
 *   GLUSTERD_UNREACHABLE  no glusterd answers (not started, or its socket is gone)
 *   GLUSTER_TIMEOUT       the CLI did not finish within its deadline (killed)
 *   GLUSTER_NOT_INSTALLED the `gluster` binary (or the command prefix) is missing
 *   GLUSTER_FAILED        glusterd refused the operation (`opErrstr` says why)
 *   GLUSTER_BAD_OUTPUT    the CLI printed something that is not the expected XML
 *   DISK_IN_USE           a disk holds a filesystem, partitions or a mount
 *   DISK_NOT_FOUND        no such block device
 *   INVALID_ARGUMENT      a caller asked for something malformed
 */
export type GlusterErrorCode =
  | 'GLUSTERD_UNREACHABLE'
  | 'GLUSTER_TIMEOUT'
  | 'GLUSTER_NOT_INSTALLED'
  | 'GLUSTER_FAILED'
  | 'GLUSTER_BAD_OUTPUT'
  | 'DISK_IN_USE'
  | 'DISK_NOT_FOUND'
  | 'INVALID_ARGUMENT';

export class GlusterError extends Error {
  constructor(
    readonly code: GlusterErrorCode,
    message: string,
    /** glusterd's opErrno, when it gave one. */
    readonly opErrno?: number,
  ) {
    super(message);
    this.name = 'GlusterError';
  }
}
