/**
 * The API's one error catalog (like fastify's lib/errors.js): every error a
 * client can see has a stable `code`, an HTTP status and a default message.
 * Bodies are always `{error: {code, message, fields: [{path, message}]}}`;
 * `fields` names every bad input by dotted path (request body, query or
 * params), all at once.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyError, FastifyInstance } from 'fastify';
import { ajvFieldErrors, StateValidationError, type FieldError } from '../state/validate.js';
import { MigrationError } from '../state/migrations.js';
import { StoreError } from '../state/store.js';
import { ClusterError, type ClusterErrorCode } from '../cluster/errors.js';
import { GlusterError } from '../pool/gluster/errors.js';

export const ERRORS = {
  validation_failed: { status: 400, message: 'the request is not valid' },
  bad_request: { status: 400, message: 'the request cannot be read' },
  unauthenticated: { status: 401, message: 'log in or send an API token (Authorization: Bearer …)' },
  invalid_credentials: { status: 401, message: 'wrong user name or password' },
  setup_token_invalid: { status: 401, message: 'the setup token is wrong: it is in the log of the first start and in DATA_DIR/setup-token' },
  forbidden: { status: 403, message: 'your role may not do this (admin needed)' },
  csrf_failed: { status: 403, message: 'missing or wrong X-CSRF-Token header: reload the console' },
  not_found: { status: 404, message: 'no such object' },
  route_not_found: { status: 404, message: 'no such API route' },
  already_exists: { status: 409, message: 'an object with this name already exists' },
  in_use: { status: 409, message: 'the object is still in use' },
  disk_in_use: { status: 409, message: 'the disk holds a filesystem, partitions or a mount: send wipe: true to erase it (never a mounted disk)' },
  last_admin: { status: 409, message: 'the appliance must keep at least one enabled admin' },
  setup_done: { status: 409, message: 'the appliance is already set up: log in instead' },
  conflict: { status: 409, message: 'the state changed meanwhile: reload and retry' },
  payload_too_large: { status: 413, message: 'the request body is too large' },
  unsupported_media_type: { status: 415, message: 'send application/json' },
  rate_limited: { status: 429, message: 'too many failed attempts: wait and retry' },
  internal: { status: 500, message: 'internal error: see the cairnd log' },
  unavailable: { status: 503, message: 'a component is not available' },
  // cairnd's own files (state, tokens) could not be written: the change was not made.
  storage_full: { status: 507, message: "the appliance's data directory is full: nothing was changed; free space on it and retry" },
  storage_read_only: { status: 503, message: "the appliance's data directory is read-only (a failing disk?): nothing was changed" },
  // The cluster (several appliances; cluster/ and pool/gluster/).
  join_token_invalid: { status: 403, message: 'the join token does not match the one shown on the appliance being added' },
  join_token_expired: { status: 403, message: 'the join token has expired: show a new one on the appliance being added' },
  already_in_cluster: { status: 409, message: 'the appliance already belongs to a cluster' },
  not_a_member: { status: 404, message: 'no such appliance in this cluster' },
  holds_bricks: { status: 409, message: 'the appliance still holds bricks: move them to another appliance first' },
  join_unreachable: { status: 502, message: 'the cairnd of the appliance being added did not answer' },
  join_cert_mismatch: { status: 502, message: "the appliance's TLS certificate does not match the fingerprint in the join token" },
  join_failed: { status: 502, message: 'Gluster could not add or remove the appliance' },
  glusterd_unavailable: { status: 503, message: 'glusterd is not running on this appliance: start it (systemctl start glusterd) and retry' },
  cluster_no_quorum: { status: 503, message: 'this appliance does not reach a majority of the cluster: changes to cluster-wide objects are refused here' },
  cluster_state_unavailable: { status: 503, message: "the cluster's shared state is not reachable from this appliance yet" },
  cluster_unavailable: { status: 503, message: 'this cairnd runs without cluster support' },
  // Geo-replication (pool/gluster/georep.ts).
  replication_failed: { status: 502, message: 'Gluster refused the geo-replication command: check ssh to the remote appliance and its volume' },
  replication_unavailable: { status: 503, message: 'this cairnd runs without geo-replication support' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export const ErrorSchema = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: `one of: ${Object.keys(ERRORS).join(', ')}` }),
      message: Type.String(),
      fields: Type.Array(Type.Object({ path: Type.String(), message: Type.String() })),
    }),
  },
  { title: 'Error' },
);

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly fields: FieldError[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(message ?? ERRORS[code].message);
    this.name = 'ApiError';
    this.status = ERRORS[code].status;
  }
}

export const apiError = (code: ErrorCode, message?: string, fields: FieldError[] = []) => new ApiError(code, message, fields);

const CLUSTER_CODES: Record<ClusterErrorCode, ErrorCode> = {
  JOIN_TOKEN_INVALID: 'join_token_invalid',
  JOIN_TOKEN_EXPIRED: 'join_token_expired',
  ALREADY_IN_CLUSTER: 'already_in_cluster',
  JOIN_UNREACHABLE: 'join_unreachable',
  JOIN_FAILED: 'join_failed',
  JOIN_CERT_MISMATCH: 'join_cert_mismatch',
  NOT_A_MEMBER: 'not_a_member',
  HOLDS_BRICKS: 'holds_bricks',
  NO_QUORUM: 'cluster_no_quorum',
  STATE_UNAVAILABLE: 'cluster_state_unavailable',
  STATE_CONFLICT: 'conflict',
  INVALID_ARGUMENT: 'bad_request',
};

/** The catalog code of a cluster or Gluster error; undefined for other errors. */
export function catalogCodeOf(err: unknown): ErrorCode | undefined {
  if (err instanceof ClusterError) return CLUSTER_CODES[err.code];
  if (err instanceof GlusterError) {
    switch (err.code) {
      case 'GLUSTERD_UNREACHABLE':
      case 'GLUSTER_NOT_INSTALLED':
        return 'glusterd_unavailable';
      case 'GLUSTER_TIMEOUT':
        return 'unavailable';
      case 'INVALID_ARGUMENT':
        return 'bad_request';
      case 'DISK_IN_USE':
        return 'disk_in_use';
      case 'DISK_NOT_FOUND':
        return 'not_found';
      default:
        return 'internal';
    }
  }
  return undefined;
}

/** A write of cairnd's own files that the disk refused: full or read-only. */
function storageCodeOf(err: unknown): ErrorCode | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return 'storage_full';
  if (code === 'EROFS') return 'storage_read_only';
  return undefined;
}

function body(code: ErrorCode, message: string, fields: FieldError[] = []) {
  return { error: { code, message, fields } };
}

/** Maps every thrown error to the catalog; unknown errors are logged and become `internal`. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    if (err instanceof ApiError) {
      return reply.code(err.status).headers(err.headers).send(body(err.code, err.message, err.fields));
    }
    if (err instanceof StateValidationError) {
      return reply.code(400).send(body('validation_failed', 'the change would make the configuration invalid', err.fields));
    }
    if (err instanceof StoreError) {
      const code: ErrorCode = err.code === 'not_found' ? 'not_found' : err.code === 'conflict' ? 'conflict' : 'internal';
      if (code === 'internal') req.log.error({ err }, 'state store error');
      return reply.code(ERRORS[code].status).send(body(code, err.message));
    }
    const mapped = catalogCodeOf(err);
    if (mapped && mapped !== 'internal') {
      // glusterd's own words say what is wrong (e.g. "Connection failed"): keep them.
      const message = mapped === 'glusterd_unavailable' ? `${ERRORS.glusterd_unavailable.message} (${err.message})` : err.message;
      return reply.code(ERRORS[mapped].status).send(body(mapped, message));
    }
    if (mapped === 'internal') {
      req.log.error({ err }, 'gluster error');
      return reply.code(500).send(body('internal', `gluster: ${err.message}`));
    }
    if (err instanceof MigrationError) {
      return reply.code(400).send(body('validation_failed', err.message));
    }
    const os = storageCodeOf(err);
    if (os) {
      req.log.error({ err }, 'data directory not writable');
      return reply.code(ERRORS[os].status).send(body(os, `${ERRORS[os].message} (${(err as NodeJS.ErrnoException).code})`));
    }
    const fe = err as FastifyError;
    if (fe.validation) {
      const where = fe.validationContext === 'body' ? '' : (fe.validationContext ?? '');
      return reply.code(400).send(body('validation_failed', 'the request is not valid', ajvFieldErrors(fe.validation as never, where)));
    }
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(413).send(body('payload_too_large', ERRORS.payload_too_large.message));
    if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return reply.code(415).send(body('unsupported_media_type', ERRORS.unsupported_media_type.message));
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
      return reply.code(fe.statusCode).send(body('bad_request', fe.message));
    }
    req.log.error({ err }, 'request failed');
    return reply.code(500).send(body('internal', ERRORS.internal.message));
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send(body('route_not_found', `no route ${req.method} ${req.url.split('?')[0]}`)));
}
