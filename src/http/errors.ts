/**
 * Maps every error to the one wire shape `{error:{code,message,details?}}`.
 * Domain errors carry their own code; Fastify's own 4xx errors (bad JSON,
 * body too large, wrong media type) get a stable code here. Anything else is
 * a bug: 500, logged, without internals in the answer. Every 503 carries
 * Retry-After.
 */
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { LadderError } from '../core/errors.js';
import { validationError } from './validation.js';

function toHttpError(err: FastifyError | LadderError | Error, bodyLimit: number): LadderError {
  if (err instanceof LadderError) return err;
  const fastifyError = err as FastifyError;
  if (fastifyError.validation) {
    return validationError(fastifyError.validation as Parameters<typeof validationError>[0], '', fastifyError.validationContext);
  }
  if (fastifyError.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
    return new LadderError('malformed_json', 'the body is empty but Content-Type is application/json');
  }
  const status = fastifyError.statusCode ?? 500;
  if (err instanceof SyntaxError || (status === 400 && /JSON|prototype|Unexpected/i.test(err.message))) {
    return new LadderError('malformed_json', `the body is not valid JSON: ${err.message}`);
  }
  if (status === 413) {
    return new LadderError('payload_too_large', `the request body exceeds ${bodyLimit} bytes (LADDER_BODY_LIMIT)`, { limit_bytes: bodyLimit });
  }
  if (status === 415) return new LadderError('unsupported_media_type', 'send a JSON body with `Content-Type: application/json`');
  if (status >= 400 && status < 500) return new LadderError('invalid_request', err.message);
  return new LadderError('internal_error', 'internal error');
}

/**
 * A 429 says when to retry: Retry-After, and the RateLimit-* fields of the
 * limit that refused (IETF draft "RateLimit header fields"), from the
 * error's details (retry_after_ms, limit).
 */
function rateLimitHeaders(reply: FastifyReply, error: LadderError): void {
  const retryAfterMs = error.details?.retry_after_ms;
  if (typeof retryAfterMs !== 'number') return;
  const seconds = String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
  void reply.header('retry-after', seconds).header('ratelimit-reset', seconds).header('ratelimit-remaining', '0');
  if (typeof error.details?.limit === 'number') void reply.header('ratelimit-limit', String(error.details.limit));
}

/** Retry-After of a 503 answer, in seconds. */
export const RETRY_AFTER_SECONDS = '1';

export function registerErrorHandling(app: FastifyInstance, bodyLimit: number): void {
  app.setErrorHandler((err, request, reply) => {
    const error = toHttpError(err as FastifyError, bodyLimit);
    if (error.status >= 500) request.log.error({ err }, 'request failed');
    if (error.status === 429) rateLimitHeaders(reply, error);
    // A 503 is a store or Redis that is down or hangs, a rebuild or a shutdown: each passes, and
    // clients (and load balancers) should come back soon rather than at once or never.
    if (error.status === 503) void reply.header('retry-after', RETRY_AFTER_SECONDS);
    void reply.status(error.status).send(error.toBody());
  });
  app.setNotFoundHandler((request, reply) => {
    const error = new LadderError('route_not_found', `no route ${request.method} ${request.url.split('?')[0]}`);
    void reply.status(404).send(error.toBody());
  });
}
