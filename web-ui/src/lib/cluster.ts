/**
 * What the Cluster page says about the cluster API's answers: which
 * errors mean "this appliance cannot do clusters right now" (no glusterd,
 * no cluster support), which field an error of "add an appliance" belongs
 * beside, and how long a join token stays valid.
 */
import type { ApiError } from './errors.js';

type ErrorLike = Pick<ApiError, 'status' | 'code' | 'message' | 'fields'>;

/**
 * A sentence for a GET /cluster that cannot be answered because Gluster is
 * missing on this appliance; null for other errors (shown as they are).
 */
export function clusterUnavailable(e: ErrorLike): string | null {
  if (e.code === 'cluster_unavailable') return 'This appliance runs without cluster support, so it cannot join or add other appliances.';
  if (e.code === 'glusterd_unavailable')
    return 'Gluster (glusterd) is not running on this appliance, so its cluster cannot be shown or changed. Start glusterd (systemctl start glusterd) and reload this page.';
  if (e.status === 503 || (e.status === 500 && /gluster/i.test(e.message)))
    return `The cluster cannot be read from Gluster right now: ${e.message} Reload this page in a moment.`;
  return null;
}

const TOKEN_CODES = new Set(['join_token_invalid', 'join_token_expired']);
const ADDRESS_CODES = new Set(['join_unreachable', 'bad_request', 'already_in_cluster', 'join_failed']);

/**
 * The join error's words made plain: "<url>: <what B said>" and "cairnd at
 * <url> did not answer (<cause>)" as sentences about the other appliance.
 */
export function joinMessage(message: string): string {
  const unreachable = /^cairnd at (\S+) did not answer \((.*)\)\.?$/i.exec(message);
  if (unreachable) return `No cairnd answered at ${unreachable[1]} (${unreachable[2]}). Check the address and that the appliance is on.`;
  const said = /^(https?:\/\/[^\s:]+(?::\d+)?)\/?: (.*)$/i.exec(message);
  if (said) {
    const rest = said[2]!.replace(/\.$/, '');
    return `The appliance at ${said[1]!.replace(/^http/i, 'http')} answered: ${rest}.`;
  }
  return message;
}

/**
 * The API's error for POST /cluster/members {address, token}, beside the
 * field it is about: token errors beside the token, an appliance that does
 * not answer (or cannot be probed) beside the address. Field errors the API
 * names itself stay where they are; anything else is for the whole form ('').
 */
export function addMemberFieldErrors(e: ErrorLike): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(e.fields)) if (v.length) (out[k] ??= []).push(...v);
  if (Object.keys(out).length) return out;
  const field = e.code && TOKEN_CODES.has(e.code) ? 'token' : e.code && ADDRESS_CODES.has(e.code) ? 'address' : '';
  if (field) out[field] = [joinMessage(e.message)];
  return out;
}

/** "valid for 14 more minutes (until 23:41)", or that it has expired. */
export function tokenValidity(expiresAt: string, now: number = Date.now()): string {
  const t = Date.parse(expiresAt);
  if (Number.isNaN(t)) return 'validity unknown';
  const at = new Date(t);
  const hhmm = `${String(at.getHours()).padStart(2, '0')}:${String(at.getMinutes()).padStart(2, '0')}`;
  const left = t - now;
  if (left <= 0) return `expired at ${hhmm}: show a new one`;
  const min = Math.floor(left / 60_000);
  if (min < 1) return `valid for less than a minute more (until ${hhmm})`;
  return `valid for ${min} more minute${min === 1 ? '' : 's'} (until ${hhmm})`;
}

/** A member's health as a word for the badge and a sentence for screen readers. */
export function memberHealth(m: { health: string; connected: boolean; self: boolean; state: string }): { badge: string; text: string } {
  if (m.self) return { badge: 'ok', text: 'this appliance' };
  if (m.health === 'ok') return { badge: 'ok', text: 'connected' };
  if (m.health === 'joining') return { badge: 'pending', text: `joining (${m.state})` };
  if (m.health === 'unreachable') return { badge: 'unavailable', text: 'not reachable: check that it is on and its network' };
  return { badge: m.health, text: m.state };
}

/**
 * The shared configuration's state as one sentence and a tone; null when
 * there is nothing to say (no cluster, no sync).
 */
export function sharedStateLine(
  s: { phase: string; revision: number | null; origin: string | null; at: string | null; error: string | null; volume: string } | null | undefined,
  when: (iso: string) => string,
): { tone: 'ok' | 'info' | 'warn'; text: string } | null {
  if (!s || s.phase === 'standalone') return null;
  if (s.phase === 'error') return { tone: 'warn', text: `The shared configuration (volume ${s.volume}) cannot be read or written here: ${s.error ?? 'unknown error'}.` };
  if (s.phase === 'waiting') return { tone: 'info', text: `Waiting for the shared configuration volume ${s.volume}: it is made once the cluster has bricks for it.` };
  const by = s.origin ? ` by ${s.origin}` : '';
  const at = s.at ? ` at ${when(s.at)}` : '';
  return { tone: 'ok', text: `Configuration shared with the cluster: revision ${s.revision ?? '?'}, written${by}${at}.` };
}
