/**
 * Configuration: every option is a LADDER_* environment variable, declared
 * once here with its default and a one-line doc. `loadConfig` parses and
 * validates them all, and a bad value stops startup with a message that names
 * the variable. The README table is generated from this schema
 * (`npm run docs:config`), so the two cannot drift apart.
 */
import { availableParallelism } from 'node:os';
import { parseRateLimit, type RateLimit } from './rate-limit.js';

type Parser<T> = (raw: string) => T;

interface Option<T> {
  readonly env: string;
  readonly default: T;
  readonly doc: string;
  readonly parse: Parser<T>;
}

class ConfigError extends Error {}

function integer(min: number, max: number): Parser<number> {
  return (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(`must be an integer, got '${raw}'`);
    const value = Number(raw);
    if (value < min || value > max) throw new ConfigError(`must be between ${min} and ${max}, got ${value}`);
    return value;
  };
}

function oneOf<T extends string>(...choices: T[]): Parser<T> {
  return (raw) => {
    if (!(choices as string[]).includes(raw)) throw new ConfigError(`must be one of ${choices.join(', ')}, got '${raw}'`);
    return raw as T;
  };
}

const boolean: Parser<boolean> = (raw) => {
  if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
  throw new ConfigError(`must be true or false, got '${raw}'`);
};

const text: Parser<string> = (raw) => raw;

/** A count of worker processes, or `auto`: one per core this process may use. */
const workers: Parser<number> = (raw) => (raw.trim() === 'auto' ? availableParallelism() : integer(1, 256)(raw));
const optionalText: Parser<string | null> = (raw) => (raw === '' ? null : raw);

/** An HMAC secret shorter than the hash (32 bytes for SHA-256) weakens HS256 below its design. */
const jwtSecret: Parser<string | null> = (raw) => {
  if (raw === '') return null;
  if (raw.length < 32) throw new ConfigError(`must be at least 32 characters, got ${raw.length}`);
  return raw;
};

const httpUrl: Parser<string | null> = (raw) => {
  if (raw === '') return null;
  if (!/^https?:\/\/[^\s/]+/i.test(raw)) throw new ConfigError(`must be an http(s) URL, got '${raw}'`);
  return raw;
};

/** PEM text; an environment variable often cannot hold line breaks, so a literal `\n` stands for one. */
const pem: Parser<string | null> = (raw) => {
  if (raw === '') return null;
  const text = raw.replace(/\\n/g, '\n');
  if (!/-----BEGIN PUBLIC KEY-----[\s\S]+-----END PUBLIC KEY-----/.test(text)) throw new ConfigError('must be a PEM public key (-----BEGIN PUBLIC KEY----- ... -----END PUBLIC KEY-----)');
  return text;
};

/** `<max>/<window>` (core/rate-limit.ts), or empty for none. */
const optionalRateLimit: Parser<RateLimit | null> = (raw) => {
  if (raw.trim() === '') return null;
  try {
    return parseRateLimit(raw);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
};

/** Fastify's trustProxy: false, true (every peer), or a comma-separated list of the proxies' addresses or CIDRs. */
const trustProxy: Parser<boolean | string> = (raw) => {
  const value = raw.trim();
  if (value === '' || /^(false|no|off|0)$/i.test(value)) return false;
  if (/^(true|yes|on|1)$/i.test(value)) return true;
  if (!/^[0-9a-f.:/,\s]+$/i.test(value)) throw new ConfigError(`must be true, false or a comma-separated list of addresses/CIDRs, got '${raw}'`);
  return value;
};

function option<T>(env: string, defaultValue: T, parse: Parser<T>, doc: string): Option<T> {
  return { env, default: defaultValue, parse, doc };
}

export const configSchema = {
  port: option('LADDER_PORT', 8080, integer(0, 65535), 'TCP port of the HTTP/WebSocket server (0 picks a free one).'),
  host: option('LADDER_HOST', '127.0.0.1', text, 'Interface to listen on; set 0.0.0.0 to accept remote clients.'),
  dataDir: option('LADDER_DATA_DIR', './data', text, 'Directory of the embedded SQLite database.'),
  adminKey: option<string | null>('LADDER_ADMIN_KEY', null, optionalText, 'Admin API key. Unset: the first start generates one, stores its hash and prints it once.'),
  logLevel: option('LADDER_LOG_LEVEL', 'info' as const, oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'), 'Log level of the structured (pino) log.'),
  readAuth: option('LADDER_READ_AUTH', false, boolean, 'When true, reads need an API key too (scope read or higher).'),
  bodyLimit: option('LADDER_BODY_LIMIT', 4 * 1024 * 1024, integer(1024, 256 * 1024 * 1024), 'Largest accepted request body in bytes (413 above).'),
  commitIntervalMs: option('LADDER_COMMIT_INTERVAL_MS', 0, integer(0, 1000), 'Extra wait before a commit so that more submissions share it. 0: submissions arriving while a commit runs share the next one.'),
  sqliteSync: option('LADDER_SQLITE_SYNC', 'full' as const, oneOf('full', 'normal'), 'SQLite synchronous mode: full survives power loss, normal survives a process crash (kill -9) only.'),
  tickMs: option('LADDER_TICK_MS', 50, integer(1, 10_000), 'Fan-out tick: changes of a board are coalesced and pushed once per tick.'),
  historySize: option('LADDER_HISTORY_SIZE', 256, integer(0, 100_000), 'Deltas retained per view for resume (since_version / Last-Event-ID).'),
  historyBytes: option('LADDER_HISTORY_BYTES', 1024 * 1024, integer(0, 1024 * 1024 * 1024), 'Byte bound of the retained deltas per view.'),
  lifecycleTickMs: option('LADDER_LIFECYCLE_TICK_MS', 1000, integer(10, 60_000), 'How often boards are checked for a period or a schedule that ended (the close itself is exact: a late submission never lands in a closed period).'),
  webhookRetryMs: option('LADDER_WEBHOOK_RETRY_MS', 1000, integer(1, 3_600_000), 'Wait before the first retry of a failed webhook delivery; each further retry waits twice as long (with jitter), at most an hour, until a receiver answers 2xx or 3 days after the close.'),
  clockOffsetMs: option('LADDER_CLOCK_OFFSET_MS', 0, integer(-(10 ** 13), 10 ** 13), "Shifts the service's clock for schedules, periods and default timestamps (demos and tests of time; leave 0 in production)."),
  viewLingerMs: option('LADDER_VIEW_LINGER_MS', 60_000, integer(0, 3_600_000), 'How long a view without subscribers keeps its history, so that reconnecting clients resume; in cluster mode also how long Redis keeps view windows for resumes on another member.'),
  heartbeatMs: option('LADDER_HEARTBEAT_MS', 30_000, integer(100, 3_600_000), 'WebSocket ping interval; a socket that misses a pong for as long is closed.'),
  slowSocketBytes: option('LADDER_SLOW_SOCKET_BYTES', 256 * 1024, integer(1024, 1024 * 1024 * 1024), 'Unsent bytes after which a socket skips deltas and gets a fresh snapshot once it drains.'),
  maxSocketBytes: option('LADDER_MAX_SOCKET_BYTES', 4 * 1024 * 1024, integer(1024, 1024 * 1024 * 1024), 'Unsent bytes after which a slow socket is closed (code 4008).'),
  longPollMaxMs: option('LADDER_LONG_POLL_MAX_MS', 30_000, integer(0, 600_000), 'Upper bound of timeout_ms on a rankings long-poll.'),
  maxViews: option('LADDER_MAX_VIEWS', 1000, integer(1, 1_000_000), 'Distinct live views per board (top-N, around, participant); views without subscribers make room, then subscribes get too_many_views.'),
  rateLimitDefault: option<RateLimit | null>('LADDER_RATE_LIMIT_DEFAULT', null, optionalRateLimit, "Requests per key for keys without a rate_limit of their own, and per client IP for requests without a key, e.g. 1000/1s or 60/1m (429 rate_limited beyond). Unset: no default limit. LADDER_ADMIN_KEY is never limited."),
  trustProxy: option<boolean | string>('LADDER_TRUST_PROXY', false, trustProxy, "Whether X-Forwarded-For names the client: true (trust every peer), or the proxies' addresses/CIDRs, comma-separated. Behind a load balancer, per-IP limits need it, or every client shares the balancer's address."),
  wsMessagesPerSecond: option('LADDER_WS_MESSAGES_PER_SECOND', 200, integer(1, 1_000_000), 'Messages one WebSocket connection may send per second, at least LADDER_MAX_SUBSCRIPTIONS (a reconnecting client resubscribes all its views at once); beyond, each is refused with a rate_limited error, and a connection that sends more than twice as many in a second is closed (code 4029).'),
  wsMaxConnections: option('LADDER_WS_MAX_CONNECTIONS', 1000, integer(0, 10_000_000), 'WebSocket connections at once per key (per client IP for sockets without a key), counted per process; beyond, a new connection is refused with too_many_connections and closed (code 4029). 0: no limit.'),
  maxSubscriptions: option('LADDER_MAX_SUBSCRIPTIONS', 100, integer(1, 10_000), 'Subscriptions one WebSocket connection may hold (too_many_subscriptions beyond).'),
  boardIdleMs: option('LADDER_BOARD_IDLE_MS', 600_000, integer(0, 86_400_000), "A board's entries are loaded on first use and released from memory after this long unused (0: never released)."),
  checkpointEvents: option('LADDER_CHECKPOINT_EVENTS', 100_000, integer(0, 1_000_000_000), "A board is checkpointed (a snapshot file its next load starts from) after this many events since its last checkpoint (0: never; loads replay the whole log)."),
  checkpointIntervalMs: option('LADDER_CHECKPOINT_INTERVAL_MS', 30_000, integer(0, 86_400_000), 'At least this long between two checkpoints of a board, which bounds their cost on a busy board; one checkpoint runs at a time.'),
  redisUrl: option<string | null>('LADDER_REDIS_URL', null, optionalText, 'Redis of cluster mode, e.g. redis://127.0.0.1:6379/0; several comma-separated seed nodes for a Redis Cluster. Needs LADDER_DATABASE_URL too.'),
  databaseUrl: option<string | null>('LADDER_DATABASE_URL', null, optionalText, 'PostgreSQL of cluster mode, e.g. postgres://user@host:5432/ladder (an empty database is migrated on start). Needs LADDER_REDIS_URL too.'),
  databaseConnectTimeoutMs: option('LADDER_DATABASE_CONNECT_TIMEOUT_MS', 2_000, integer(100, 600_000), 'Cluster mode: how long a call waits for a PostgreSQL connection (a new one, or a free one of the pool) before it fails with 503 store_unavailable.'),
  databaseQueryTimeoutMs: option('LADDER_DATABASE_QUERY_TIMEOUT_MS', 3_000, integer(100, 600_000), 'Cluster mode: how long a single-statement PostgreSQL call of a request (a board, a key, a history page) may take before it fails with 503 store_unavailable; group commits and board loads are not bounded by it.'),
  redisCommandTimeoutMs: option('LADDER_REDIS_COMMAND_TIMEOUT_MS', 5_000, integer(100, 600_000), 'Cluster mode: how long a Redis command may go unanswered (a Redis that hangs) before it fails, and its request with 503 index_unavailable. A Redis that is down fails commands at once.'),
  redisPrefix: option('LADDER_REDIS_PREFIX', 'ladder:', text, "Prefix of every Redis key and channel of cluster mode; clusters sharing one Redis need different ones."),
  workers: option('LADDER_WORKERS', 1, workers, 'Cluster mode: worker processes sharing the port on this machine (node:cluster), or auto for one per core. Each is a full cluster member.'),
  ack: option('LADDER_ACK', 'redis' as const, oneOf('redis', 'durable'), 'Cluster mode: when a submission is answered. redis: applied in Redis and its stream (PostgreSQL within the persister lag); durable: also committed to PostgreSQL.'),
  auditRetentionDays: option('LADDER_AUDIT_RETENTION_DAYS', 0, integer(0, 36_500), 'Score events older than this many days are deleted from the audit log, except those the kept checkpoints still need, and so are recorded rejections (0: kept forever).'),
  readyMaxLagMs: option('LADDER_READY_MAX_LAG_MS', 10_000, integer(0, 3_600_000), 'Cluster mode: GET /readyz answers 503 while the persister is further behind Redis than this, so that a load balancer sends traffic elsewhere.'),
  shutdownTimeoutMs: option('LADDER_SHUTDOWN_TIMEOUT_MS', 10_000, integer(100, 600_000), 'On SIGTERM/SIGINT: in-flight requests finish, commits are flushed and live connections are told to reconnect (close code 1012); a shutdown that takes longer than this exits with code 1.'),
  jwtSecret: option<string | null>('LADDER_JWT_SECRET', null, jwtSecret, 'Player tokens: the shared secret of HS256-signed JWTs (at least 32 characters). Unset: no HS256 tokens.'),
  jwtJwksUrl: option<string | null>('LADDER_JWT_JWKS_URL', null, httpUrl, 'Player tokens: the URL of a JWKS whose keys sign RS256/ES256 JWTs (fetched on first use, refetched for unknown key ids). Not with LADDER_JWT_PUBLIC_KEY.'),
  jwtPublicKey: option<string | null>('LADDER_JWT_PUBLIC_KEY', null, pem, 'Player tokens: the PEM public key (RSA: RS256, P-256: ES256) of signed JWTs; `\\n` stands for a line break. Not with LADDER_JWT_JWKS_URL.'),
  jwtAudience: option<string | null>('LADDER_JWT_AUDIENCE', null, optionalText, "Player tokens: when set, a token's `aud` must name it."),
  jwtIssuer: option<string | null>('LADDER_JWT_ISSUER', null, optionalText, "Player tokens: when set, a token's `iss` must be it."),
} as const;

export type ConfigSchema = typeof configSchema;
export type Config = { readonly [K in keyof ConfigSchema]: ConfigSchema[K]['default'] };

/** Parses LADDER_* variables from `env`, throws an Error naming the variable on a bad value. */
export function loadConfig(env: Record<string, string | undefined> = process.env, overrides: Partial<Config> = {}): Config {
  const config: Record<string, unknown> = {};
  for (const [key, opt] of Object.entries(configSchema) as [string, Option<unknown>][]) {
    const raw = env[opt.env];
    if (raw === undefined) {
      config[key] = opt.default;
      continue;
    }
    try {
      config[key] = opt.parse(raw);
    } catch (err) {
      if (err instanceof ConfigError) throw new Error(`invalid ${opt.env}: ${err.message}`, { cause: err });
      throw err;
    }
  }
  const loaded = Object.freeze({ ...config, ...overrides }) as Config;
  if ((loaded.redisUrl === null) !== (loaded.databaseUrl === null)) {
    const [set, unset] = loaded.redisUrl === null ? ['LADDER_DATABASE_URL', 'LADDER_REDIS_URL'] : ['LADDER_REDIS_URL', 'LADDER_DATABASE_URL'];
    throw new Error(`${set} is set but ${unset} is not: cluster mode needs both (Redis for live ranks, PostgreSQL for durable history); unset ${set} for embedded mode`);
  }
  if (loaded.wsMessagesPerSecond < loaded.maxSubscriptions) {
    throw new Error(
      `LADDER_WS_MESSAGES_PER_SECOND=${loaded.wsMessagesPerSecond} is below LADDER_MAX_SUBSCRIPTIONS=${loaded.maxSubscriptions}: a client that reconnects resubscribes all its views at once and would be refused; raise it to at least ${loaded.maxSubscriptions}`,
    );
  }
  if (loaded.workers > 1 && loaded.redisUrl === null) {
    throw new Error(`LADDER_WORKERS=${loaded.workers} needs cluster mode (LADDER_REDIS_URL and LADDER_DATABASE_URL): embedded mode keeps its ranking in one process, so it runs one`);
  }
  if (loaded.jwtJwksUrl !== null && loaded.jwtPublicKey !== null) {
    throw new Error('LADDER_JWT_JWKS_URL and LADDER_JWT_PUBLIC_KEY are both set: player tokens are checked against one of them; unset the other');
  }
  if (!playerTokensEnabled(loaded)) {
    const claim = loaded.jwtAudience !== null ? 'LADDER_JWT_AUDIENCE' : loaded.jwtIssuer !== null ? 'LADDER_JWT_ISSUER' : null;
    if (claim !== null) throw new Error(`${claim} is set but player tokens are off: set LADDER_JWT_SECRET, LADDER_JWT_JWKS_URL or LADDER_JWT_PUBLIC_KEY too`);
  }
  return loaded;
}

/** True when requests may carry a player token (a JWT) instead of an API key. */
export function playerTokensEnabled(config: Config): boolean {
  return config.jwtSecret !== null || config.jwtJwksUrl !== null || config.jwtPublicKey !== null;
}

/** True when the configuration makes this process a cluster member (Redis + PostgreSQL). */
export function isCluster(config: Config): boolean {
  return config.redisUrl !== null && config.databaseUrl !== null;
}

/** Markdown table of every option, for the README. */
export function configTable(): string {
  const rows = Object.values(configSchema).map((opt) => `| \`${opt.env}\` | \`${JSON.stringify(opt.default)}\` | ${opt.doc} |`);
  return ['| variable | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

/** Options whose values are secrets: `ladder check-config` shows only whether they are set. */
const secretOptions: ReadonlySet<string> = new Set(['LADDER_ADMIN_KEY', 'LADDER_JWT_SECRET']);

/** A value as `ladder check-config` prints it: secrets masked, and the password of a URL hidden. */
function shownValue(env: string, value: unknown): string {
  if (value === null) return 'unset';
  if (secretOptions.has(env)) return '*** (set)';
  if (typeof value === 'string' && /^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    return value.split(',').map((url) => url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, '$1:***@')).join(',');
  }
  return JSON.stringify(value);
}

/**
 * The effective configuration, one line per option: its variable, its value
 * (secrets masked) and whether it came from the environment or the default.
 */
export function effectiveConfig(config: Config, env: Record<string, string | undefined> = process.env): string {
  const entries = Object.entries(configSchema) as [keyof Config, Option<unknown>][];
  const width = Math.max(...entries.map(([, opt]) => opt.env.length));
  const lines = entries.map(([key, opt]) => {
    const source = env[opt.env] === undefined ? 'default' : 'environment';
    return `${opt.env.padEnd(width)}  ${shownValue(opt.env, config[key])}  (${source})`;
  });
  return [`mode: ${isCluster(config) ? 'cluster (Redis + PostgreSQL)' : 'embedded (SQLite)'}`, ...lines].join('\n');
}

/** LADDER_* variables read outside the schema: not options, but not typos either. */
const otherVariables = [
  // The demo's scores per second (src/cli.ts).
  'LADDER_DEMO_RATE',
  // The server and key of `ladder import` (src/cli.ts), a client of a running server.
  'LADDER_URL',
  'LADDER_KEY',
  // Read by the benchmarks and the tests, which pass their environment on to the server.
  'LADDER_BENCH_REDIS_URL',
  'LADDER_TEST_SEED',
  'LADDER_TEST_REDIS_URL',
  'LADDER_TEST_DATABASE_URL',
  'LADDER_TEST_REDIS_SERVER',
  // The ports of `npm run cluster` (scripts/cluster.mjs), which passes its environment on to the members.
  'LADDER_CLUSTER_PORTS',
];

/** Every LADDER_* name Ladder reads. */
export function knownVariables(): string[] {
  return [...Object.values(configSchema).map((opt) => opt.env), ...otherVariables];
}

/**
 * Optimal string alignment distance: insertions, deletions, substitutions,
 * and swaps of neighbours (PROT → PORT) each count as one edit.
 * Complexity: O(a.length × b.length).
 */
export function editDistance(a: string, b: string): number {
  const width = b.length + 1;
  const table = new Array<number>((a.length + 1) * width).fill(0);
  const at = (i: number, j: number): number => table[i * width + j] ?? 0;
  for (let i = 0; i <= a.length; i++) table[i * width] = i;
  for (let j = 0; j <= b.length; j++) table[j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      let edits = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) edits = Math.min(edits, at(i - 2, j - 2) + 1);
      table[i * width + j] = edits;
    }
  }
  return at(a.length, b.length);
}

/**
 * The known name closest to `name`, when it is close enough to be a typo: at
 * most one edit per three characters after the LADDER_ prefix (at least one).
 */
export function closestName(name: string, known: readonly string[] = knownVariables()): string | null {
  const prefix = 'LADDER_';
  const bare = (n: string) => (n.startsWith(prefix) ? n.slice(prefix.length) : n);
  const allowed = Math.max(1, Math.floor(bare(name).length / 3));
  let closest: string | null = null;
  let distance = Infinity;
  for (const candidate of known) {
    const d = editDistance(bare(name), bare(candidate));
    if (d < distance) {
      closest = candidate;
      distance = d;
    }
  }
  return distance <= allowed ? closest : null;
}

/** A warning for every LADDER_* variable of `env` that Ladder does not read, with the likely meant name. */
export function unknownVariableWarnings(env: Record<string, string | undefined> = process.env): string[] {
  const known = new Set(knownVariables());
  return Object.keys(env)
    .filter((name) => name.startsWith('LADDER_') && !known.has(name))
    .sort()
    .map((name) => {
      const closest = closestName(name);
      return closest === null
        ? `unknown variable ${name} (ladder config lists the options)`
        : `unknown variable ${name}; did you mean ${closest}?`;
    });
}
