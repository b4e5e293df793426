import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { Config } from '../core/config.js';
import type { Auth } from '../service/auth.js';
import type { HttpAuth } from './context.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a request needs, checked by `authorizeRoute` before its body is read or validated. */
    scope?: 'read' | 'write' | 'admin';
  }
}

/**
 * The key of a request: `Authorization: Bearer <key>`, or `?key=` on GET
 * requests, because browsers cannot set headers on WebSocket and EventSource.
 */
export function requestKey(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match ? (match[1] as string) : header;
  }
  if (request.method === 'GET') {
    const key = (request.query as Record<string, unknown> | undefined)?.key;
    if (typeof key === 'string') return key;
  }
  return null;
}

/** The board a request acts on: the `:id` of the /v1/leaderboards/{id}/... routes. */
function requestBoard(request: FastifyRequest): string | undefined {
  const id = (request.params as Record<string, unknown> | undefined)?.id;
  return typeof id === 'string' && request.routeOptions.url?.startsWith('/v1/leaderboards/:id') === true ? id : undefined;
}

export function httpAuth(keys: Auth, config: Config): HttpAuth {
  return {
    keys,
    async authorize(request, scope) {
      if (scope === 'read' && !config.readAuth) return;
      await keys.authorize(requestKey(request), scope, requestBoard(request));
    },
  };
}

/**
 * An onRequest hook: the route's `config.scope` is checked before the body is
 * parsed and anything is validated, so that a caller without the right key
 * learns that first (401/403), whatever else is wrong with the request.
 * Routes without a scope (the WebSocket subscribe route refuses on its own
 * socket) pass.
 */
export function authorizeRoute(auth: HttpAuth): onRequestAsyncHookHandler {
  return async (request) => {
    const scope = request.routeOptions.config.scope;
    if (scope !== undefined) await auth.authorize(request, scope);
  };
}
