/**
 * The desired-state document: one JSON object that says what the appliance
 * should be — settings, pools, volumes, shares (NFS and SMB), users, groups.
 * This TypeBox schema is the single truth for validating it, for the API's
 * request/response schemas and for the console's forms (STYLE.md #16).
 *
 * Every accepted change is validated twice: structurally here (ajv), then
 * semantically in validate.ts (references, uniqueness), errors collected
 * with dotted field paths (STYLE.md #13).
 *
 * Bump SCHEMA_VERSION when the shape changes, and add a migration in
 * migrations.ts that turns the previous version into this one.
 */
import { Type, type Static } from '@sinclair/typebox';

export const SCHEMA_VERSION = 3;

const Name = (description: string) =>
  Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', description });

/** An object id: lower-case, used in paths and URLs. */
export const IdSchema = Type.String({ minLength: 1, maxLength: 48, pattern: '^[a-z0-9][a-z0-9_-]*$' });

export const SettingsSchema = Type.Object(
  {
    applianceName: Type.String({ minLength: 1, maxLength: 63, pattern: '^[A-Za-z0-9][A-Za-z0-9-]*$', description: 'host and NetBIOS-style name of the appliance' }),
    timezone: Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone, e.g. Europe/Berlin' }),
    smb: Type.Object({ workgroup: Type.String({ minLength: 1, maxLength: 15, pattern: '^[A-Za-z0-9][A-Za-z0-9_-]*$' }) }, { additionalProperties: false }),
    nfs: Type.Object({ port: Type.Integer({ minimum: 1, maximum: 65535, description: 'NFS + MOUNT port' }) }, { additionalProperties: false }),
  },
  { additionalProperties: false },
);

export const LocalPoolSchema = Type.Object(
  {
    id: IdSchema,
    kind: Type.Literal('local'),
    path: Type.String({ minLength: 2, pattern: '^/', description: 'absolute directory that holds the pool' }),
    label: Type.Literal('unreplicated'),
  },
  { additionalProperties: false },
);

export const BrickSchema = Type.Object(
  {
    host: Type.String({ minLength: 1, maxLength: 253 }),
    path: Type.String({ minLength: 2, pattern: '^/' }),
    // Optional, so every schema-3 document stays valid without a migration.
    fsUuid: Type.Optional(
      Type.String({
        pattern: '^[0-9a-fA-F][0-9a-fA-F-]{7,63}$',
        description: "the brick disk's XFS filesystem UUID, when Cairn prepared the disk: the disk is found by it, and a different disk under the brick is recognised",
      }),
    ),
  },
  { additionalProperties: false },
);

export const GlusterPoolSchema = Type.Object(
  {
    id: IdSchema,
    kind: Type.Literal('gluster'),
    label: Type.Literal('replicated'),
    replica: Type.Integer({ minimum: 1, maximum: 6 }),
    arbiter: Type.Integer({ minimum: 0, maximum: 1 }),
    bricks: Type.Array(BrickSchema, { maxItems: 256 }),
  },
  { additionalProperties: false },
);

export const PoolSchema = Type.Union([LocalPoolSchema, GlusterPoolSchema]);

export const VolumeSchema = Type.Object(
  {
    id: IdSchema,
    pool: IdSchema,
    quotaBytes: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);

/** A relative path inside a pool or volume: no leading '/', no '..' segment. */
export const RelPath = Type.String({ minLength: 1, maxLength: 1024, pattern: '^(?!/)(?!.*(^|/)\\.\\.?(/|$)).+$' });

export const NfsClientSchema = Type.Object(
  {
    match: Type.String({ minLength: 1, maxLength: 64, description: "'*', an IP address, or a CIDR network" }),
    access: Type.Union([Type.Literal('rw'), Type.Literal('ro')]),
    squash: Type.Union([Type.Literal('root_squash'), Type.Literal('all_squash'), Type.Literal('no_root_squash')]),
    anonUid: Type.Integer({ minimum: 0, maximum: 4294967294 }),
    anonGid: Type.Integer({ minimum: 0, maximum: 4294967294 }),
    secure: Type.Boolean({ description: 'require a privileged source port (< 1024)' }),
  },
  { additionalProperties: false },
);

export const ShareNfsSchema = Type.Object(
  { enabled: Type.Boolean(), clients: Type.Array(NfsClientSchema, { maxItems: 256 }) },
  { additionalProperties: false },
);

const NameList = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 1024 });

export const ShareSmbSchema = Type.Object(
  {
    enabled: Type.Boolean(),
    readOnly: Type.Boolean(),
    browseable: Type.Boolean(),
    guestOk: Type.Boolean(),
    validUsers: NameList,
    validGroups: NameList,
    hostsAllow: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 256 }),
    recycleBin: Type.Boolean(),
    macos: Type.Boolean({ description: 'vfs_fruit for macOS clients' }),
    timeMachine: Type.Boolean({ description: 'offer as a Time Machine target (needs macos)' }),
    encryption: Type.Union([Type.Literal('off'), Type.Literal('if_required'), Type.Literal('desired'), Type.Literal('required')]),
  },
  { additionalProperties: false },
);

export const ShareSchema = Type.Object(
  {
    name: Name('share name, as clients see it'),
    pool: IdSchema,
    volume: Type.Optional(IdSchema),
    path: RelPath,
    nfs: ShareNfsSchema,
    smb: ShareSmbSchema,
  },
  { additionalProperties: false },
);

export const RoleSchema = Type.Union([Type.Literal('admin'), Type.Literal('read-only')]);

export const UserSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 32, pattern: '^[a-z_][a-z0-9_-]*$' }),
    uid: Type.Integer({ minimum: 1000, maximum: 60000 }),
    fullName: Type.String({ maxLength: 128 }),
    role: Type.Optional(RoleSchema),
    passwordHash: Type.String({ minLength: 1, description: 'scrypt$N$r$p$salt$hash' }),
    ntHash: Type.String({ pattern: '^[0-9a-fA-F]{32}$', description: 'MD4 of the UTF-16LE password, for Samba' }),
    enabled: Type.Boolean(),
  },
  { additionalProperties: false },
);

export const GroupSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 32, pattern: '^[a-z_][a-z0-9_-]*$' }),
    gid: Type.Integer({ minimum: 1000, maximum: 60000 }),
    members: Type.Array(Type.String(), { maxItems: 4096 }),
  },
  { additionalProperties: false },
);

/** A floating address CTDB moves between appliances (smb/ctdb.ts CtdbPublicAddress). */
export const PublicAddressSchema = Type.Object(
  {
    address: Type.String({ minLength: 2, maxLength: 45, description: 'IPv4 or IPv6 address clients connect to' }),
    prefix: Type.Integer({ minimum: 1, maximum: 128, description: "prefix length of the address's network (24 for a /24)" }),
    interfaces: Type.Array(Type.String({ minLength: 1, maxLength: 15, pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$' }), {
      minItems: 1,
      maxItems: 8,
      description: 'interfaces it may be placed on, the same names on every appliance',
    }),
  },
  { additionalProperties: false },
);

/**
 * Clustered SMB (CTDB, issue 11): cluster-wide (cluster/shared-state.ts).
 * `nodes` is CTDB's node table by host name: index = PNN, members in the
 * order they were given one; a removed member's slot becomes null and is
 * never reused, so the other members keep their PNN (cluster/smb-cluster.ts).
 */
export const ClusterSmbSchema = Type.Object(
  {
    enabled: Type.Boolean({ description: 'run CTDB and clustered Samba on every appliance (from two appliances on)' }),
    netbiosName: Type.String({ minLength: 1, maxLength: 15, pattern: '^[A-Za-z0-9][A-Za-z0-9-]*$', description: "the cluster's NetBIOS name, the same on every appliance" }),
    publicAddresses: Type.Array(PublicAddressSchema, { maxItems: 64 }),
    nodes: Type.Array(Type.Union([Type.String({ minLength: 1, maxLength: 253 }), Type.Null()]), { maxItems: 256, description: 'host names in PNN order; null = a removed member' }),
  },
  { additionalProperties: false },
);

export const ClusterSettingsSchema = Type.Object({ smb: ClusterSmbSchema }, { additionalProperties: false });

export const StateSchema = Type.Object(
  {
    schemaVersion: Type.Literal(SCHEMA_VERSION),
    settings: SettingsSchema,
    pools: Type.Array(PoolSchema),
    volumes: Type.Array(VolumeSchema),
    shares: Type.Array(ShareSchema),
    users: Type.Array(UserSchema),
    groups: Type.Array(GroupSchema),
    /** Cluster-wide settings; absent = defaults (DEFAULT_CLUSTER_SETTINGS). */
    cluster: Type.Optional(ClusterSettingsSchema),
  },
  { additionalProperties: false },
);

export type Settings = Static<typeof SettingsSchema>;
export type LocalPool = Static<typeof LocalPoolSchema>;
export type GlusterPool = Static<typeof GlusterPoolSchema>;
export type Pool = Static<typeof PoolSchema>;
export type Volume = Static<typeof VolumeSchema>;
export type NfsClient = Static<typeof NfsClientSchema>;
export type ShareNfs = Static<typeof ShareNfsSchema>;
export type ShareSmb = Static<typeof ShareSmbSchema>;
export type Share = Static<typeof ShareSchema>;
export type Role = Static<typeof RoleSchema>;
export type User = Static<typeof UserSchema>;
export type Group = Static<typeof GroupSchema>;
export type State = Static<typeof StateSchema>;
export type PublicAddress = Static<typeof PublicAddressSchema>;
export type ClusterSmb = Static<typeof ClusterSmbSchema>;
export type ClusterSettings = Static<typeof ClusterSettingsSchema>;

export const DEFAULT_CLUSTER_SETTINGS: ClusterSettings = {
  smb: { enabled: false, netbiosName: 'CAIRN', publicAddresses: [], nodes: [] },
};

/** Fields of the document that never leave the appliance through the API or the history diff. */
export const SECRET_FIELDS = new Set(['passwordHash', 'ntHash']);

export const DEFAULT_NFS_CLIENT: NfsClient = {
  match: '*',
  access: 'rw',
  squash: 'root_squash',
  anonUid: 65534,
  anonGid: 65534,
  secure: true,
};

export const DEFAULT_SMB: ShareSmb = {
  enabled: false,
  readOnly: false,
  browseable: true,
  guestOk: false,
  validUsers: [],
  validGroups: [],
  hostsAllow: [],
  recycleBin: false,
  macos: false,
  timeMachine: false,
  encryption: 'desired',
};

/** The document of a fresh appliance: one local, unreplicated pool under the data directory. */
export function initialState(dataDir: string): State {
  return {
    schemaVersion: SCHEMA_VERSION,
    settings: { applianceName: 'cairn', timezone: 'UTC', smb: { workgroup: 'WORKGROUP' }, nfs: { port: 2049 } },
    pools: [{ id: 'local', kind: 'local', path: `${dataDir.replace(/\/+$/, '')}/pools/local`, label: 'unreplicated' }],
    volumes: [],
    shares: [],
    users: [],
    groups: [],
    cluster: structuredClone(DEFAULT_CLUSTER_SETTINGS),
  };
}
