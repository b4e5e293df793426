import type { FastifyRequest } from 'fastify';
import type { Config } from '../core/config.js';
import type { Auth } from '../service/auth.js';
import type { HttpAuth } from './context.js';

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

export function httpAuth(keys: Auth, config: Config): HttpAuth {
  return {
    keys,
    async authorize(request, scope) {
      if (scope === 'read' && !config.readAuth) return;
      await keys.authorize(requestKey(request), scope);
    },
  };
}
