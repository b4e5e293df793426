/** Builds the Fastify application: the v1 REST API, real-time endpoints and the dashboard. */
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import { LadderError } from '../core/errors.js';
import { registerAuthorization } from './auth.js';
import { registerBoardRoutes } from './boards.js';
import { clientErrorHandler, requireHost } from './client-errors.js';
import type { HttpContext } from './context.js';
import { registerDashboardRoute } from './dashboard.js';
import { registerErrorHandling, RETRY_AFTER_SECONDS } from './errors.js';
import { registerEventsRoute } from './events.js';
import { registerExportRoute } from './export.js';
import { registerImportRoute } from './import.js';
import { registerHistoryRoute } from './history.js';
import { registerKeyRoutes } from './keys.js';
import { registerMetrics } from './metrics.js';
import { registerModerationRoutes } from './moderation.js';
import { registerOpenApi } from './openapi.js';
import { registerPlacementRoutes } from './placements.js';
import { registerParticipantRoutes } from './participants.js';
import { registerRankingRoutes } from './rankings.js';
import { registerRateLimits } from './rate-limits.js';
import { registerScoreRoutes } from './scores.js';
import { registerSubscribeRoute } from './subscribe.js';
import { validatorCompiler } from './validation.js';
import { registerWebhookRoutes } from './webhooks.js';

/** What an incoming X-Request-Id may be to be kept: a short token, nothing that could forge a log line. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export async function buildServer(ctx: HttpContext, logger: FastifyBaseLogger): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    loggerInstance: logger,
    // Behind a load balancer, the client's address (per-IP rate limits) comes from X-Forwarded-For, if trusted.
    trustProxy: ctx.config.trustProxy,
    bodyLimit: ctx.config.bodyLimit,
    // One log line per request would cost more than the request itself at these rates.
    logController: new LogController({ disableRequestLogging: true }),
    // Pipelining load generators and long-polls keep connections busy; idle ones are closed after 72 s.
    keepAliveTimeout: 72_000,
    // Replaced by the hook below, which answers in the API's error shape.
    return503OnClosing: false,
    // On shutdown, idle keep-alive connections are closed at once instead of holding close() open.
    forceCloseConnections: 'idle',
    // Errors Fastify raises before routing (a malformed URL, an unparsable
    // Content-Type) get the API's error shape too.
    frameworkErrors: (error, _request, reply) => {
      const field = /URL/.test(error.code) ? 'url' : 'headers';
      const body = new LadderError('invalid_request', `${field}: ${error.message}`, { field }).toBody();
      void (reply as FastifyReply).status(400).send(body);
    },
    // Requests Node's HTTP parser refuses, and those without Host, get the API's error shape too.
    clientErrorHandler: clientErrorHandler(logger),
    http: { requireHostHeader: false },
    // A caller's X-Request-Id (a proxy's, say) is kept when it is a sane token, so that logs join up;
    // otherwise one is made. Either way it is sent back (hook below) and is in every log line of the request.
    requestIdHeader: false,
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
  });
  app.setValidatorCompiler(validatorCompiler);
  // The API speaks JSON only; other bodies get 415 instead of a confusing validation error.
  app.removeContentTypeParser('text/plain');
  // A route without a body (DELETE) takes an empty one from clients that always send Content-Type: application/json.
  const parseJson = app.getDefaultJsonParser(app.initialConfig.onProtoPoisoning ?? 'error', app.initialConfig.onConstructorPoisoning ?? 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '' && request.routeOptions.schema?.body === undefined) done(null, undefined);
    else parseJson(request, body as string, done);
  });
  registerErrorHandling(app, ctx.config.bodyLimit);
  await registerOpenApi(app);

  // Once close() has begun, requests on open keep-alive connections get a 503
  // that tells load balancers and clients to go elsewhere.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async () => {
    if (closing) throw new LadderError('shutting_down', 'the server is shutting down; retry on another instance');
  });
  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  registerMetrics(app, ctx.metrics);
  app.addHook('onRequest', requireHost);
  registerAuthorization(app, ctx.auth);
  await registerRateLimits(app, ctx);

  // Liveness: the process answers. Readiness: it can serve, its store and index answer (backend.ready()).
  app.get('/healthz', async () => ({ status: 'ok', ...ctx.ladder.backend.health() }));
  app.get('/readyz', async (_request, reply) => {
    const checks = await ctx.ladder.backend.ready();
    const failed = checks.find((check) => !check.ok);
    const body = { status: failed === undefined ? 'ready' : 'unavailable', checks: Object.fromEntries(checks.map((check) => [check.name, check.ok ? 'ok' : check.detail])) };
    if (failed === undefined) return body;
    return reply.status(503).header('retry-after', RETRY_AFTER_SECONDS).send({ ...new LadderError(failed.code ?? 'store_unavailable', `not ready: ${failed.name}: ${failed.detail}`, body).toBody() });
  });
  registerBoardRoutes(app, ctx);
  registerScoreRoutes(app, ctx);
  registerRankingRoutes(app, ctx);
  registerPlacementRoutes(app, ctx);
  registerExportRoute(app, ctx);
  registerImportRoute(app, ctx);
  registerParticipantRoutes(app, ctx);
  registerModerationRoutes(app, ctx);
  registerHistoryRoute(app, ctx);
  registerKeyRoutes(app, ctx);
  registerWebhookRoutes(app, ctx);
  registerSubscribeRoute(app, ctx);
  registerEventsRoute(app, ctx);
  registerDashboardRoute(app);
  return app;
}
