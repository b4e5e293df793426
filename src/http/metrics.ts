/**
 * GET /metrics in the Prometheus text format (prom-client). Each server has
 * its own registry, so that several servers in one process (the tests) do not
 * share counters. Labels are bounded: routes are Fastify's route patterns
 * (`/v1/leaderboards/:id/scores`), never raw URLs, and codes come from the
 * error catalogue.
 *
 * The feed, the stores and the persister know nothing of prom-client: they
 * report to small observer interfaces (feed/observer.ts, backend/observer.ts,
 * store/observer.ts) that this class implements. The request hook costs a
 * counter increment and a histogram observation per request; the gauges are
 * read from the feed and the service at scrape time.
 */
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BackendObserver, StoreKind } from '../backend/observer.js';
import type { PersisterLag } from '../backend/persister.js';
import type { Feed } from '../feed/feed.js';
import type { FeedObserver } from '../feed/observer.js';
import type { Ladder } from '../service/ladder.js';
import type { StoreObserver } from '../store/observer.js';

/** What the gauges read at scrape time; set once the service and the feed exist (watch). */
interface Sources {
  readonly ladder: Ladder;
  readonly feed: Feed;
}

export class Metrics implements FeedObserver, BackendObserver {
  readonly registry = new Registry();
  readonly #requests: Counter<'method' | 'route' | 'status'>;
  readonly #duration: Histogram<'method' | 'route'>;
  readonly #submissions: Counter<'outcome' | 'code'>;
  readonly #tick: Histogram;
  readonly #messages: Counter;
  readonly #bytes: Counter;
  readonly #skips: Counter;
  readonly #slowCloses: Counter;
  readonly #lagSeconds: Gauge;
  readonly #lagEvents: Gauge;
  readonly #batch: Histogram<'store'>;
  readonly #storeErrors: Counter<'store'>;
  #sources: Sources | null = null;

  constructor() {
    const registers = [this.registry];
    const sources = (): Sources | null => this.#sources;
    collectDefaultMetrics({ register: this.registry, prefix: 'ladder_' });
    // These three of prom-client's are gauges named *_total, which Prometheus's
    // linter (promtool check metrics) refuses; the process and event-loop figures remain.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(`ladder_${name}`);
    this.#requests = new Counter({ name: 'ladder_http_requests_total', help: 'HTTP requests answered, by route pattern and status.', labelNames: ['method', 'route', 'status'], registers });
    this.#duration = new Histogram({
      name: 'ladder_http_request_duration_seconds',
      help: 'Time from a request to its answer, by route pattern.',
      labelNames: ['method', 'route'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.#submissions = new Counter({ name: 'ladder_submissions_total', help: 'Score submissions (single and batch items): accepted, or rejected with their error code.', labelNames: ['outcome', 'code'], registers });
    new Gauge({
      name: 'ladder_live_views',
      help: 'Live views (top-N, around, participant) with subscribers or lingering for resumes.',
      registers,
      collect() {
        this.set(sources()?.feed.viewCount ?? 0);
      },
    });
    new Gauge({
      name: 'ladder_viewers',
      help: 'Connected real-time viewers (WebSocket connections and SSE streams).',
      registers,
      collect() {
        this.set(sources()?.feed.subscriberCount ?? 0);
      },
    });
    new Gauge({
      name: 'ladder_subscriptions',
      help: 'Subscriptions of connected viewers, by the kind of their view (top, around, participant).',
      labelNames: ['view'],
      registers,
      collect() {
        const counts = sources()?.feed.subscriptionsByKind ?? { top: 0, around: 0, participant: 0 };
        for (const [view, count] of Object.entries(counts)) this.set({ view }, count);
      },
    });
    new Gauge({
      name: 'ladder_boards',
      help: 'Boards, including closed ones.',
      registers,
      collect() {
        this.set(sources()?.ladder.boardCount ?? 0);
      },
    });
    this.#tick = new Histogram({
      name: 'ladder_fanout_tick_seconds',
      help: 'Time a fan-out tick takes: reading the changed views of its boards and handing their deltas to every socket.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    this.#messages = new Counter({ name: 'ladder_fanout_messages_total', help: 'Messages (deltas, snapshots, control messages) handed to WebSocket and SSE connections.', registers });
    this.#bytes = new Counter({ name: 'ladder_fanout_bytes_total', help: 'UTF-8 bytes of the messages handed to WebSocket and SSE connections.', registers });
    this.#skips = new Counter({ name: 'ladder_slow_socket_skips_total', help: 'Times a subscription of a slow socket (past LADDER_SLOW_SOCKET_BYTES unsent) started skipping deltas; each is made good by one snapshot once the socket drains.', registers });
    this.#slowCloses = new Counter({ name: 'ladder_slow_socket_closes_total', help: 'Slow sockets closed with 4008 (past LADDER_MAX_SOCKET_BYTES unsent).', registers });
    this.#lagSeconds = new Gauge({ name: 'ladder_persister_lag_seconds', help: 'Cluster mode: age of the oldest event in Redis streams not committed to PostgreSQL yet, as of the last sweep (millisecond precision; 0 when none, and in embedded mode).', registers });
    this.#lagEvents = new Gauge({ name: 'ladder_persister_lag_events', help: 'Cluster mode: events in Redis streams not committed to PostgreSQL yet, as of the last sweep.', registers });
    this.#batch = new Histogram({
      name: 'ladder_commit_batch_events',
      help: 'Score events per group-committed transaction, by store: SQLite (embedded submissions) or PostgreSQL (the persister batches of cluster mode).',
      labelNames: ['store'],
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000],
      registers,
    });
    this.#storeErrors = new Counter({
      name: 'ladder_store_errors_total',
      help: 'Failed calls to a store: SQLite commits, PostgreSQL calls, Redis commands (a lost or refused connection, a timeout, an I/O error).',
      labelNames: ['store'],
      registers,
    });
  }

  /** Lets the gauges read the service and the feed; until then they read 0. */
  watch(ladder: Ladder, feed: Feed): void {
    this.#sources = { ladder, feed };
  }

  /** Counts an answered request. */
  answered(method: string, route: string, status: number, seconds: number): void {
    this.#requests.inc({ method, route, status: String(status) });
    this.#duration.observe({ method, route }, seconds);
  }

  accepted(count = 1): void {
    this.#submissions.inc({ outcome: 'accepted', code: '' }, count);
  }

  rejected(code: string, count = 1): void {
    this.#submissions.inc({ outcome: 'rejected', code }, count);
  }

  ticked(seconds: number): void {
    this.#tick.observe(seconds);
  }

  delivered(bytes: number): void {
    this.#messages.inc();
    this.#bytes.inc(bytes);
  }

  skipped(): void {
    this.#skips.inc();
  }

  closedSlow(): void {
    this.#slowCloses.inc();
  }

  store(kind: StoreKind): StoreObserver {
    // Exposed at 0 from the start, so that a rate() over the first error has a sample before it.
    this.#storeErrors.inc({ store: kind }, 0);
    return {
      committed: (events) => this.#batch.observe({ store: kind }, events),
      failed: () => this.#storeErrors.inc({ store: kind }),
    };
  }

  persisterSwept(lag: PersisterLag): void {
    this.#lagSeconds.set(lag.ms / 1000);
    this.#lagEvents.set(lag.events);
  }
}

export function registerMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', async (request, reply) => {
    metrics.answered(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
  });
  app.get('/metrics', async (_request, reply) => {
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}
