/**
 * Request rate limits (README "Rate limits"). Every API request (a route
 * with a `config.scope`) counts against its key: the key's own rate_limit,
 * else LADDER_RATE_LIMIT_DEFAULT. A request without a valid key (a free
 * read) counts against its client IP, at the default. LADDER_ADMIN_KEY is
 * exempt. Health, metrics, OpenAPI, docs, the dashboard and the WebSocket
 * upgrade have no scope and are not limited (sockets have limits of their
 * own, http/socket-limits.ts).
 *
 * @fastify/rate-limit counts fixed windows: in this process when embedded,
 * in Redis in cluster mode (one counter per key hash or IP under
 * LADDER_REDIS_PREFIX), so that every member counts the same requests.
 * When Redis fails, requests pass unlimited rather than fail: the limit
 * protects the service, it must not be the reason it is down.
 *
 * The check runs at preValidation: after authorizeRoute (onRequest) has
 * checked the key and cached its grant, so the limit costs no store lookup,
 * and after the body is parsed, so that a refused submission is recorded in
 * the participant's history like any other refusal.
 */
import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LadderError } from '../core/errors.js';
import { formatRateLimit, type RateLimit } from '../core/rate-limit.js';
import type { RefusedInput } from '../service/rejections.js';
import { requestKey } from './auth.js';
import type { HttpContext } from './context.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Submission routes: what a refused request submitted, one input per submission, for the participants' histories. */
    submissions?: (body: unknown) => readonly RefusedInput[];
  }
}

/** Counters kept in this process (embedded mode) at most; the least recently used subject's is dropped beyond. */
const LOCAL_SUBJECTS = 100_000;

/** Whom a request or a socket counts against, and at what rate (null: not limited). */
export interface LimitSubject {
  /** `key:<sha256 of the key>` or `ip:<client address>`; never the key itself, which must not reach Redis. */
  readonly id: string;
  readonly limit: RateLimit | null;
}

/** The subject of a request: its key when it has a valid one, else its client IP (IPv6 by /64, as @fastify/rate-limit groups them). */
export async function limitSubject(request: FastifyRequest, ctx: HttpContext): Promise<LimitSubject> {
  const key = await ctx.auth.keys.limitOf(requestKey(request));
  if (key !== null) return { id: `key:${key.hash}`, limit: key.exempt ? null : (key.rateLimit ?? ctx.config.rateLimitDefault) };
  return { id: `ip:${normalizeIP(request.ip)}`, limit: ctx.config.rateLimitDefault };
}

export async function registerRateLimits(app: FastifyInstance, ctx: HttpContext): Promise<void> {
  const subjects = new WeakMap<FastifyRequest, LimitSubject>();
  // Set by keyGenerator, which @fastify/rate-limit calls first; the other callbacks read it.
  const limitOf = (request: FastifyRequest): RateLimit => subjects.get(request)?.limit as RateLimit;
  await app.register(rateLimit, {
    global: false,
    enableDraftSpec: true,
    skipOnError: true,
    cache: LOCAL_SUBJECTS,
    ...(ctx.redis === null ? {} : { redis: ctx.redis, nameSpace: `${ctx.config.redisPrefix}rate-limit:` }),
    keyGenerator: async (request) => {
      const subject = await limitSubject(request, ctx);
      subjects.set(request, subject);
      return subject.id;
    },
    allowList: (request) => (subjects.get(request)?.limit ?? null) === null,
    max: (request) => limitOf(request).max,
    timeWindow: (request) => limitOf(request).windowMs,
    errorResponseBuilder: (request, context) => {
      const limit = limitOf(request);
      const retryAfter = Math.ceil(context.ttl / 1000);
      return new LadderError('rate_limited', `rate limit of ${formatRateLimit(limit)} exceeded; retry in ${retryAfter} s`, {
        limit: limit.max,
        window_ms: limit.windowMs,
        retry_after_ms: context.ttl,
      });
    },
  });
  const check = app.rateLimit();
  app.addHook('preValidation', async (request, reply) => {
    if (request.routeOptions.config.scope === undefined) return;
    try {
      await check.call(app, request, reply);
    } catch (err) {
      if (err instanceof LadderError) recordRefused(request, err, ctx);
      throw err;
    }
  });
}

/** A refused submission request: each of its submissions goes to the history as rejected, and to the metrics. */
function recordRefused(request: FastifyRequest, error: LadderError, ctx: HttpContext): void {
  const submissions = request.routeOptions.config.submissions;
  const boardId = (request.params as { id?: unknown } | undefined)?.id;
  if (submissions === undefined || typeof boardId !== 'string') return;
  const inputs = submissions(request.body);
  if (inputs.length === 0) return;
  ctx.metrics.rejected(error.code, inputs.length);
  void ctx.ladder.recordRejections(boardId, inputs.map((input) => ({ input, error })));
}
