import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byField, isCidrOrHost, isIPv6, normalizePath, validate, type Schema } from '../src/lib/validate.js';
import { ApiSchemas, pathMatches, type OpenApiDoc } from '../src/lib/openapi.js';

const Share: Schema = {
  type: 'object',
  required: ['name', 'path'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 12, pattern: '^[a-z][a-z0-9-]*$' },
    path: { type: 'string', minLength: 1 },
    size: { type: 'integer', minimum: 1 },
    access: { anyOf: [{ const: 'rw' }, { const: 'ro' }] },
    nfs: {
      type: 'object',
      properties: { clients: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', format: 'cidr' } } },
    },
    comment: { type: 'string', nullable: true },
  },
};

test('a valid body has no errors', () => {
  assert.deepEqual(validate(Share, { name: 'media', path: '/media', access: 'ro', nfs: { clients: ['10.0.0.0/8', '*'] }, comment: null }), []);
});

test('every error is collected with its dotted path and a readable sentence', () => {
  const errs = validate(Share, { name: '', size: 1.5, access: 'rx', nfs: { clients: ['10.0.0.0/33', '10.1.1.1', '10.1.1.1'] }, extra: 1 });
  const f = byField(errs);
  assert.deepEqual(f['name'], ['Required.', 'Does not have the expected form (^[a-z][a-z0-9-]*$).']);
  assert.deepEqual(f['path'], ['Required.']);
  assert.deepEqual(f['size'], ['Must be a whole number.']);
  assert.deepEqual(f['access'], ['Must be one of: rw, ro.']);
  assert.deepEqual(f['nfs.clients.0'], ['Must be an address or network like 192.168.1.0/24.']);
  assert.deepEqual(f['nfs.clients.2'], ['Appears twice: 10.1.1.1.']);
  assert.deepEqual(f['extra'], ['Unknown field "extra".']);
});

test('length counts characters, not UTF-16 units', () => {
  assert.deepEqual(validate({ type: 'string', maxLength: 2 }, '😀😀'), []);
  assert.equal(validate({ type: 'string', minLength: 8 }, 'short')[0]!.message, 'Must be at least 8 characters.');
});

test('CIDR and address checks', () => {
  for (const ok of ['10.0.0.0/8', '192.168.1.7', '0.0.0.0/0', '*', 'fd00::/8', '::1', '2001:db8::1/128', '::ffff:10.0.0.1']) assert.ok(isCidrOrHost(ok), ok);
  for (const bad of ['10.0.0.0/33', '256.1.1.1', '10.0.0/8', 'fd00::/129', 'host', '10.0.0.0/', '1:2:3:4:5:6:7:8:9', '']) assert.ok(!isCidrOrHost(bad), bad);
  assert.ok(!isIPv6('1::2::3'));
});

test('paths from ajv, JSON pointers and brackets normalise alike', () => {
  assert.equal(normalizePath('/nfs/clients/0'), 'nfs.clients.0');
  assert.equal(normalizePath('body/nfs/clients/0'), 'nfs.clients.0');
  assert.equal(normalizePath('nfs.clients[0]'), 'nfs.clients.0');
  assert.equal(normalizePath(''), '');
});

const doc: OpenApiDoc = {
  paths: {
    '/api/v1/shares': { post: { requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Share' } } } } } },
    '/api/v1/shares/{name}': { put: { requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Share' } } } } } },
    '/api/v1/shares/new': { get: {} },
  },
  components: { schemas: { Share } },
};

test('OpenAPI: routes are found by template, refs resolve, bodies are checked', () => {
  const api = new ApiSchemas(doc);
  assert.ok(pathMatches('/api/v1/shares/{name}', '/api/v1/shares/media?x=1'));
  assert.ok(!pathMatches('/api/v1/shares/{name}', '/api/v1/shares'));
  assert.ok(api.has('PUT', '/api/v1/shares/media'));
  assert.ok(!api.has('DELETE', '/api/v1/shares/media'));
  assert.deepEqual(api.check('PUT', '/api/v1/shares/media', { name: 'media', path: '/m' }), []);
  assert.equal(api.check('POST', '/api/v1/shares', { path: '/m' })[0]!.path, 'name');
  assert.deepEqual(api.check('POST', '/api/v1/unknown', {}), [], 'no schema, no client-side errors');
  assert.equal(api.field('POST', '/api/v1/shares', 'nfs.clients.0')?.format, 'cidr');
  assert.equal(api.field('POST', '/api/v1/shares', 'name')?.maxLength, 12);
});

test('OpenAPI: accepts() looks through unions for a body property', () => {
  const api = new ApiSchemas({
    paths: { '/p': { post: { requestBody: { content: { 'application/json': { schema: { anyOf: [{ properties: { id: {} } }, { $ref: '#/components/schemas/G' }] } } } } } } },
    components: { schemas: { G: { type: 'object', properties: { bricks: { type: 'array' } } } } },
  });
  assert.ok(api.accepts('POST', '/p', 'bricks'));
  assert.ok(api.accepts('POST', '/p', 'id'));
  assert.ok(!api.accepts('POST', '/p', 'disks'));
  assert.ok(!api.accepts('GET', '/p', 'id'));
});
