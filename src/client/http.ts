/** HTTP plumbing shared by the REST wrappers, the SSE reader and the poller. */
import { LadderApiError, errorFromResponse } from './errors.js';

export interface HttpContext {
  readonly baseUrl: string;
  readonly apiKey: string | undefined;
  readonly fetch: typeof fetch;
}

export type Query = Record<string, string | number | undefined>;

/** Resolves `path` (no leading slash) under the base URL, which may carry a path prefix of its own. */
export function endpoint(ctx: HttpContext, path: string, query: Query = {}): URL {
  const base = ctx.baseUrl.endsWith('/') ? ctx.baseUrl : `${ctx.baseUrl}/`;
  const url = new URL(path, base);
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined) url.searchParams.set(name, String(value));
  }
  return url;
}

export function boardPath(boardId: string, rest = ''): string {
  return `v1/leaderboards/${encodeURIComponent(boardId)}${rest}`;
}

export function participantPath(participantId: string): string {
  return `v1/participants/${encodeURIComponent(participantId)}`;
}

export interface SendOptions {
  readonly method?: string;
  readonly query?: Query;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  readonly signal?: AbortSignal | undefined;
}

/** Sends a request and returns the answer whatever its status; throws `network_error` when there is none. */
export async function send(ctx: HttpContext, path: string, options: SendOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (ctx.apiKey !== undefined) headers.authorization = `Bearer ${ctx.apiKey}`;
  const init: RequestInit = { method: options.method ?? 'GET', headers, signal: options.signal ?? null };
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(options.body);
  }
  try {
    return await ctx.fetch(endpoint(ctx, path, options.query), init);
  } catch (err) {
    if (options.signal?.aborted) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new LadderApiError('network_error', 0, `${init.method} ${path} failed: ${reason}`, undefined, { cause: err });
  }
}

/** Sends a request and parses a 2xx JSON answer; throws LadderApiError for any other status. */
export async function requestJson<T>(ctx: HttpContext, path: string, options: SendOptions = {}): Promise<T> {
  const response = await send(ctx, path, options);
  if (!response.ok) throw await errorFromResponse(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}
