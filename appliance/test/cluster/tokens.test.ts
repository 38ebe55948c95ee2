import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JoinTokens, stateVolumeLayout } from '../../src/cluster/index.js';

test('join tokens: single use, expire, tolerate case and spaces, newest wins', () => {
  let now = 1_000_000;
  const tokens = new JoinTokens(60_000, () => now);
  const a = tokens.issue();
  assert.match(a.token, /^[A-Z2-7]{4}(-[A-Z2-7]{1,4})+$/);
  assert.throws(() => tokens.consume('AAAA-BBBB'), { code: 'JOIN_TOKEN_INVALID' });
  tokens.consume(` ${a.token.toLowerCase()} `);
  assert.throws(() => tokens.consume(a.token), { code: 'JOIN_TOKEN_INVALID' }, 'single use');

  const b = tokens.issue();
  const c = tokens.issue();
  assert.throws(() => tokens.consume(b.token), { code: 'JOIN_TOKEN_INVALID' }, 'an older token stops working');
  now += 60_001;
  assert.throws(() => tokens.consume(c.token), { code: 'JOIN_TOKEN_EXPIRED' });
  assert.throws(() => tokens.consume(c.token), { code: 'JOIN_TOKEN_INVALID' });
  assert.throws(() => new JoinTokens().consume(undefined as unknown as string), { code: 'JOIN_TOKEN_INVALID' });
});

test('state volume layout: replica over the first three appliances', () => {
  const dir = (h: string) => `/var/lib/cairn/state-brick`;
  assert.deepEqual(stateVolumeLayout(['a', 'b', 'c', 'd'], dir), { bricks: ['a:/var/lib/cairn/state-brick', 'b:/var/lib/cairn/state-brick', 'c:/var/lib/cairn/state-brick'], replica: 3 });
  assert.equal(stateVolumeLayout(['a', 'b'], dir).replica, 2);
  assert.throws(() => stateVolumeLayout([], dir), { code: 'INVALID_ARGUMENT' });
});
