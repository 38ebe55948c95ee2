import { test } from 'node:test';
import assert from 'node:assert/strict';
import { href, matchPath, parseHash, resolve } from '../src/lib/router.js';

test('parseHash normalises the path and splits the query', () => {
  assert.deepEqual(parseHash(''), { path: '/', query: {} });
  assert.deepEqual(parseHash('#'), { path: '/', query: {} });
  assert.deepEqual(parseHash('#/shares//nfs/'), { path: '/shares/nfs', query: {} });
  assert.deepEqual(parseHash('#shares?edit=media&x=a%20b'), { path: '/shares', query: { edit: 'media', x: 'a b' } });
});

test('matchPath binds and decodes params, and refuses other shapes', () => {
  assert.deepEqual(matchPath('/shares/:kind/:name', '/shares/smb/my%20docs'), { kind: 'smb', name: 'my docs' });
  assert.equal(matchPath('/shares/:kind/:name', '/shares/smb'), null);
  assert.equal(matchPath('/shares/:kind', '/pools/smb'), null);
  assert.deepEqual(matchPath('/', '/'), {});
  assert.equal(matchPath('/x/:a', '/x/%E0%A4%A'), null, 'bad escape is no match, not a crash');
});

test('resolve takes the first route in table order', () => {
  const routes = [{ path: '/shares/new', id: 'new' }, { path: '/shares/:name', id: 'edit' }, { path: '/', id: 'home' }];
  assert.equal(resolve(routes, '/shares/new')?.route.id, 'new');
  assert.deepEqual(resolve(routes, '/shares/media'), { route: routes[1], params: { name: 'media' } });
  assert.equal(resolve(routes, '/nowhere'), null);
});

test('href encodes params and round-trips through parse and match', () => {
  const h = href('/shares/:name', { name: 'a/b c' });
  assert.equal(h, '#/shares/a%2Fb%20c');
  assert.deepEqual(matchPath('/shares/:name', parseHash(h).path), { name: 'a/b c' });
  assert.throws(() => href('/shares/:name'), /missing parameter :name/);
});
