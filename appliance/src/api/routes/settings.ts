/** /api/v1/settings — appliance-wide settings (name, time zone, SMB workgroup, NFS port). */
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { SettingsSchema } from '../../state/schema.js';
import { change, type ApiContext } from '../context.js';

const SettingsPatch = Type.Object(
  {
    applianceName: Type.Optional(SettingsSchema.properties.applianceName),
    timezone: Type.Optional(SettingsSchema.properties.timezone),
    smb: Type.Optional(Type.Partial(SettingsSchema.properties.smb, { additionalProperties: false })),
    nfs: Type.Optional(Type.Partial(SettingsSchema.properties.nfs, { additionalProperties: false })),
  },
  { additionalProperties: false, minProperties: 1, title: 'SettingsPatch' },
);
const SettingsView = Type.Object({ ...SettingsSchema.properties }, { title: 'Settings' });

export function settingsRoutes(ctx: ApiContext): FastifyPluginAsync {
  return async (app) => {
    const tags = ['settings'];
    app.get('/settings', { schema: { summary: 'Appliance settings', tags, response: { 200: SettingsView } } }, async () => ctx.store.state.settings);
    app.patch<{ Body: Static<typeof SettingsPatch> }>(
      '/settings',
      { schema: { summary: 'Change settings', tags, body: SettingsPatch, response: { 200: SettingsView } } },
      async (req, reply) => {
        const b = req.body;
        const rev = await change(ctx, req, 'change settings', '', (s) => {
          if (b.applianceName !== undefined) s.settings.applianceName = b.applianceName;
          if (b.timezone !== undefined) s.settings.timezone = b.timezone;
          if (b.smb) s.settings.smb = { ...s.settings.smb, ...b.smb };
          if (b.nfs) s.settings.nfs = { ...s.settings.nfs, ...b.nfs };
        });
        return reply.header('cairn-revision', rev.revision).send(rev.state.settings);
      },
    );
  };
}
