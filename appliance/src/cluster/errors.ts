/**
 * Errors of the cluster module, one code per cause (the API maps codes to
 * HTTP statuses in its error catalog):
 *
 *   JOIN_TOKEN_INVALID    400/403  token does not match the one shown on B
 *   JOIN_TOKEN_EXPIRED    403      token older than its lifetime
 *   ALREADY_IN_CLUSTER    409      B belongs to another cluster (or A to none)
 *   JOIN_UNREACHABLE      502      B's cairnd did not answer
 *   JOIN_FAILED           502      the peer probe or the wait for it failed
 *   JOIN_CERT_MISMATCH    502      B's TLS certificate is not the one its join token names
 *   NOT_A_MEMBER          404      no such appliance in the pool
 *   HOLDS_BRICKS          409      removing an appliance whose bricks have nowhere to go
 *   NO_QUORUM             503      the shared state cannot be written: minority side
 *   STATE_UNAVAILABLE     503      the shared state volume is not mounted/readable yet
 *   STATE_CONFLICT        409      another appliance changed the shared state meanwhile
 *   INVALID_ARGUMENT      400
 */
export type ClusterErrorCode =
  | 'JOIN_TOKEN_INVALID'
  | 'JOIN_TOKEN_EXPIRED'
  | 'ALREADY_IN_CLUSTER'
  | 'JOIN_UNREACHABLE'
  | 'JOIN_FAILED'
  | 'JOIN_CERT_MISMATCH'
  | 'NOT_A_MEMBER'
  | 'HOLDS_BRICKS'
  | 'NO_QUORUM'
  | 'STATE_UNAVAILABLE'
  | 'STATE_CONFLICT'
  | 'INVALID_ARGUMENT';

export class ClusterError extends Error {
  constructor(
    readonly code: ClusterErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ClusterError';
  }
}
