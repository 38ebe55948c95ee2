/** The cluster module's public API (see cluster.ts for the design). */
export { ClusterService, stateVolumeLayout } from './cluster.js';
export type { ClusterRecord, ClusterServiceOptions, JoinReply, JoinRequest, JoinTransport, Member } from './cluster.js';
export { ClusterError, type ClusterErrorCode } from './errors.js';
export { JoinTokens, type IssuedToken } from './tokens.js';
