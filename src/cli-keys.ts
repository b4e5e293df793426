/**
 * `ladder keys create|list|revoke`: manages the API keys of a running server
 * through its HTTP API (POST/GET/DELETE /v1/keys) with an admin key, so that
 * a revocation reaches every process of a cluster the way the API's does.
 */
import { formatRateLimit, type RateLimit } from './core/rate-limit.js';

export interface KeysCommand {
  readonly action: 'create' | 'list' | 'revoke';
  readonly url: string;
  readonly key: string;
  /** create: the key's scope, name and boards; revoke: the key's id. */
  readonly scope?: string;
  readonly name?: string;
  readonly boards?: readonly string[];
  /** create: the key's own request rate limit (absent: the server's LADDER_RATE_LIMIT_DEFAULT). */
  readonly rateLimit?: RateLimit;
  readonly id?: string;
}

interface WireKey {
  id: string;
  key?: string;
  scope: string;
  name: string;
  boards: string[] | null;
  rate_limit?: { max: number; window_ms: number } | null;
  created_at: number;
  revoked_at?: number | null;
}

/** Thrown with the server's error message (or the network's), for the CLI's one-line failure. */
export class KeysFailed extends Error {}

async function call(command: KeysCommand, method: string, path: string, body?: unknown): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(new URL(path, command.url), {
      method,
      headers: { authorization: `Bearer ${command.key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new KeysFailed(`cannot reach ${command.url} (LADDER_URL): ${(err as Error).message}`);
  }
  const answer = (await response.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
  if (!response.ok) throw new KeysFailed(answer?.error === undefined ? `HTTP ${response.status}` : `${answer.error.code}: ${answer.error.message}`);
  return answer;
}

/** A key's rate limit as the CLI writes it: `100/1s`, or `default` (LADDER_RATE_LIMIT_DEFAULT). */
function limitText(key: WireKey): string {
  return key.rate_limit == null ? 'default' : formatRateLimit({ max: key.rate_limit.max, windowMs: key.rate_limit.window_ms });
}

function line(key: WireKey): string {
  const state = key.revoked_at == null ? 'active' : `revoked ${new Date(key.revoked_at).toISOString()}`;
  return [key.id, key.scope, key.boards === null ? '*' : key.boards.join(','), limitText(key), new Date(key.created_at).toISOString(), state, key.name].join('\t');
}

/** Runs the command; returns what to print. */
export async function runKeys(command: KeysCommand): Promise<string> {
  if (command.action === 'create') {
    const body = {
      scope: command.scope,
      ...(command.name === undefined ? {} : { name: command.name }),
      ...(command.boards === undefined ? {} : { boards: command.boards }),
      ...(command.rateLimit === undefined ? {} : { rate_limit: { max: command.rateLimit.max, window_ms: command.rateLimit.windowMs } }),
    };
    const created = (await call(command, 'POST', '/v1/keys', body)) as WireKey;
    const boards = created.boards === null ? '' : `, boards ${created.boards.join(',')}`;
    return `${created.key}\n(id ${created.id}, scope ${created.scope}${boards}, rate limit ${limitText(created)}; the key is shown only this once)`;
  }
  if (command.action === 'list') {
    const { keys } = (await call(command, 'GET', '/v1/keys')) as { keys: WireKey[] };
    return ['id\tscope\tboards\trate limit\tcreated\tstate\tname', ...keys.map(line)].join('\n');
  }
  const revoked = (await call(command, 'DELETE', `/v1/keys/${encodeURIComponent(command.id ?? '')}`)) as WireKey;
  return `revoked ${revoked.id}`;
}
