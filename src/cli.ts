#!/usr/bin/env node
/**
 * `ladder serve` (the default) runs the server; `ladder demo` runs it with a
 * simulated tournament; `ladder rebuild` restores cluster mode's live ranks
 * in Redis from PostgreSQL; `ladder import` submits a file of scores to a
 * running server (cli-import.ts); `ladder config` prints every LADDER_* option.
 */
import cluster from 'node:cluster';
import { resolve } from 'node:path';
import { pino } from 'pino';
import { startupErrorMessage } from './cli-errors.js';
import { count, progressBar } from './cli-progress.js';
import { configTable, effectiveConfig, isCluster, loadConfig, unknownVariableWarnings, type Config } from './core/config.js';
import { startLadder, type RunningLadder } from './app.js';
import { BOARD_ID_RULE, isBoardId } from './core/ids.js';
import { IMPORT_SOURCE_PATTERN, IMPORT_SOURCE_RULE } from './core/import-records.js';
import { parseRateLimit, type RateLimit } from './core/rate-limit.js';
import { generateKey } from './service/auth.js';

const usage = `usage: ladder [serve|demo|rebuild|import|keys|config|check-config]
  serve    run the server (default); configure with LADDER_* variables (ladder config lists them)
  demo     run the server with bots submitting scores on several boards (LADDER_DEMO_RATE scores/s, default 50),
           keeping its data in ./data-demo unless LADDER_DATA_DIR is set
  rebuild  cluster mode: restore every board's live ranks and versions in Redis from PostgreSQL (after Redis
           lost data), with a new epoch; --board <id> does one board. Running processes serve the result at once.
  import   ladder import <board> <file> [--url <url>] [--key <key>] [--format csv|ndjson] [--source <name>]: submit a
           CSV or NDJSON file of scores to a running server (LADDER_URL, default http://127.0.0.1:8080) with a write
           key (LADDER_KEY), 1000 per request. Lines without an event_id get import:<source>:<line>, the source
           being the file's hash unless given, so running the same file again applies nothing twice. Failed lines
           are listed; the exit code is 1 if any.
  keys     ladder keys create --scope admin|write|read [--name <name>] [--boards a,b] [--rate-limit 100/1s] | list | revoke <id>
           [--url <url>] [--key <admin key>]: manage a running server's API keys (LADDER_URL, LADDER_KEY)
  config   print the configuration options as a Markdown table
  check-config  validate the LADDER_* environment and print the effective configuration (secrets masked);
           exit code 2 when a value is invalid`;

async function serve(config: Config): Promise<RunningLadder> {
  const logger = pino({ level: config.logLevel });
  const running = await startLadder(config, logger);
  if (running.generatedAdminKey !== null) {
    // Printed once, on the first start; only its hash is stored.
    process.stdout.write(
      `\nGenerated an admin API key (shown only this once; set LADDER_ADMIN_KEY to use your own):\n\n  ${running.generatedAdminKey}\n\n`,
    );
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining requests and commits');
    // A store or a client that never lets go must not keep an orchestrator waiting: the exit is bounded.
    setTimeout(() => {
      logger.error({ ms: config.shutdownTimeoutMs }, 'shutdown did not finish within LADDER_SHUTDOWN_TIMEOUT_MS; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs).unref();
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return running;
}

/**
 * LADDER_WORKERS: this process forks the workers, which share the port
 * (node:cluster hands connections out in turn) and are each a full cluster
 * member. The first starts alone, so that a first start generates one admin
 * key, not several; a worker that dies is started again; SIGTERM and SIGINT
 * go to every worker, and this process exits after the last.
 */
function superviseWorkers(count: number): void {
  let stopping = false;
  const fork = () => {
    const worker = cluster.fork();
    worker.on('exit', (code, signal) => {
      if (stopping) {
        if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
        return;
      }
      process.stderr.write(`ladder: worker ${worker.process.pid} exited (${signal ?? code}); starting another\n`);
      setTimeout(fork, 1_000).unref();
    });
    return worker;
  };
  fork().once('listening', () => {
    for (let i = 1; i < count; i++) fork();
  });
  const stop = (signal: NodeJS.Signals) => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** `ladder rebuild [--board <id>]`: see the usage. */
async function rebuild(args: string[]): Promise<void> {
  let boardId: string | null = null;
  if (args.length > 0) {
    if (args[0] !== '--board' || args[1] === undefined || args.length > 2) {
      process.stderr.write(`${usage}\n`);
      process.exit(2);
    }
    boardId = args[1];
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`ladder: ${(err as Error).message}\n`);
    process.exit(2);
  }
  if (!isCluster(config)) {
    process.stderr.write('ladder: rebuild restores Redis from PostgreSQL in cluster mode: set LADDER_REDIS_URL and LADDER_DATABASE_URL\n');
    process.exit(2);
  }
  try {
    const logger = pino({ level: config.logLevel === 'info' ? 'warn' : config.logLevel });
    const { rebuildBoards } = await import('./backend/cluster-rebuild.js');
    const done = await rebuildBoards(config, logger, boardId, (progress) => process.stderr.write(progressLine(progress)));
    process.stderr.write(`\nrebuilt ${done.boards} board(s), ${done.entries.toLocaleString('en-US')} entries, in ${(done.ms / 1000).toFixed(1)} s\n`);
  } catch (err) {
    fail(err, config);
  }
}

/** `\r[#####.....] 3/10 boards  1,234,567 entries  current-board`, redrawn in place. */
function progressLine(progress: { boards: number; of: number; entries: number; boardId: string }): string {
  return progressBar(progress.boards, progress.of, `${progress.boards}/${progress.of} boards  ${count(progress.entries)} entries  ${progress.boardId}`);
}

/** `ladder import <board> <file> [--url <url>] [--key <key>] [--format csv|ndjson] [--source <name>]`: see the usage. */
async function importScores(args: string[]): Promise<void> {
  const { positional, flags } = parseArgs(args, ['url', 'key', 'format', 'source']);
  const [boardId, file] = positional;
  if (boardId === undefined || file === undefined || positional.length > 2) usageError('import takes a board id and a file');
  if (!isBoardId(boardId)) usageError(`the board id '${boardId}' ${BOARD_ID_RULE}`);
  const format = flags.format ?? null;
  if (format !== null && format !== 'csv' && format !== 'ndjson') usageError(`--format must be csv or ndjson, got '${format}'`);
  const source = flags.source ?? null;
  if (source !== null && !new RegExp(IMPORT_SOURCE_PATTERN).test(source)) usageError(`--source ${IMPORT_SOURCE_RULE}`);
  const url = flags.url ?? process.env.LADDER_URL ?? 'http://127.0.0.1:8080';
  const key = flags.key ?? process.env.LADDER_KEY;
  if (key === undefined || key === '') usageError('import needs an API key with write scope: set LADDER_KEY or pass --key');

  const { importFile, ImportStopped } = await import('./cli-import.js');
  let drawn = 0;
  let bar = '';
  let stale = false;
  const draw = (force: boolean) => {
    // At most ten redraws a second: a terminal redrawn a thousand times a second slows the import.
    if (!stale || (!force && performance.now() - drawn < 100)) return;
    drawn = performance.now();
    stale = false;
    process.stderr.write(bar);
  };
  try {
    const done = await importFile(
      { boardId, file, url, key, format, source },
      (progress) => {
        bar = progressBar(progress.bytes, progress.size, `${count(progress.records)} lines  ${count(progress.failed)} failed  ${file}`);
        stale = true;
        draw(false);
      },
      (failure) => process.stderr.write(`\r\x1b[Kline ${failure.line}: ${failure.code}: ${failure.message}\n${bar}`),
    );
    draw(true);
    process.stderr.write(
      `\nimported ${file} (${done.format}) into ${boardId}: ${count(done.records)} lines, ${count(done.accepted)} accepted, ${count(done.failed)} failed, in ${(done.ms / 1000).toFixed(1)} s\n`,
    );
    if (done.failed > 0) {
      process.stderr.write(`to apply the failed lines once fixed in place, and no other line again: ladder import ${boardId} ${file} --source ${done.source}\n`);
      process.exit(1);
    }
  } catch (err) {
    if (!(err instanceof ImportStopped)) throw err;
    process.stderr.write(`\nladder: import stopped: ${err.message}\n`);
    process.exit(1);
  }
}

/** Positional arguments and `--name value` options (each of `names` at most once); anything else is a usage error. */
function parseArgs(args: string[], names: readonly string[]): { positional: string[]; flags: Record<string, string> } {
  const positional: string[] = [];
  const flags: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg.startsWith('--') && names.includes(arg.slice(2))) {
      const value = args[++i];
      if (value === undefined || arg.slice(2) in flags) usageError(`${arg} needs one value`);
      flags[arg.slice(2)] = value;
    } else if (arg.startsWith('--')) {
      usageError(`unknown option ${arg}`);
    } else {
      positional.push(arg);
    }
  }
  return { positional, flags };
}

/** `ladder keys ...` (src/cli-keys.ts). */
async function manageKeys(args: string[]): Promise<void> {
  const [action, ...rest] = args;
  if (action !== 'create' && action !== 'list' && action !== 'revoke') usageError('keys takes create, list or revoke');
  const { positional, flags } = parseArgs(rest, ['url', 'key', 'scope', 'name', 'boards', 'rate-limit']);
  if (action === 'create' && flags.scope === undefined) usageError('keys create needs --scope admin, write or read');
  if (action === 'revoke' && positional.length !== 1) usageError('keys revoke takes the id of one key (ladder keys list shows them)');
  if (action !== 'revoke' && positional.length > 0) usageError(`keys ${action} takes no arguments`);
  let rateLimit: RateLimit | undefined;
  if (flags['rate-limit'] !== undefined) {
    if (action !== 'create') usageError('--rate-limit goes with keys create');
    try {
      rateLimit = parseRateLimit(flags['rate-limit']);
    } catch (err) {
      usageError(`--rate-limit ${(err as Error).message}`);
    }
  }
  const key = flags.key ?? process.env.LADDER_KEY;
  if (key === undefined || key === '') usageError('keys needs an admin API key: set LADDER_KEY or pass --key');
  const { runKeys, KeysFailed } = await import('./cli-keys.js');
  try {
    const output = await runKeys({
      action,
      url: flags.url ?? process.env.LADDER_URL ?? 'http://127.0.0.1:8080',
      key,
      scope: flags.scope,
      name: flags.name,
      boards: flags.boards?.split(',').filter((board) => board !== ''),
      rateLimit,
      id: positional[0],
    });
    process.stdout.write(`${output}\n`);
  } catch (err) {
    if (!(err instanceof KeysFailed)) throw err;
    process.stderr.write(`ladder: ${err.message}\n`);
    process.exit(1);
  }
}

function usageError(problem: string): never {
  process.stderr.write(`ladder: ${problem}\n${usage}\n`);
  process.exit(2);
}

/** LADDER_DEMO_RATE, checked before anything starts; unset means 50. */
function demoRate(raw: string | undefined): number {
  if (raw === undefined) return 50;
  const rate = raw.trim() === '' ? NaN : Number(raw);
  if (!(rate >= 1 && rate <= 10_000)) {
    throw new Error(`invalid LADDER_DEMO_RATE: must be a number of scores per second from 1 to 10000, got '${raw}'`);
  }
  return rate;
}

/** `ladder check-config`: the warnings, then the effective configuration or the invalid variable (exit 2). */
function checkConfig(): void {
  for (const warning of unknownVariableWarnings()) process.stderr.write(`ladder: warning: ${warning}\n`);
  try {
    process.stdout.write(`${effectiveConfig(loadConfig())}\n`);
  } catch (err) {
    process.stderr.write(`ladder: ${(err as Error).message}\n`);
    process.exit(2);
  }
}

/** Prints the one line of a startup failure (and its stack when debugging) and exits. */
function fail(err: unknown, config: Config | null): never {
  process.stderr.write(`ladder: ${startupErrorMessage(err, config)}\n`);
  const level = config?.logLevel ?? process.env.LADDER_LOG_LEVEL;
  if ((level === 'debug' || level === 'trace') && err instanceof Error && err.stack !== undefined) process.stderr.write(`${err.stack}\n`);
  process.exit(1);
}

async function main(argv: string[]): Promise<void> {
  const command = argv[0] ?? 'serve';
  if (command === 'config') {
    process.stdout.write(`${configTable()}\n`);
    return;
  }
  if (command === 'check-config') {
    checkConfig();
    return;
  }
  if (command === 'rebuild') {
    await rebuild(argv.slice(1));
    return;
  }
  if (command === 'keys') {
    await manageKeys(argv.slice(1));
    return;
  }
  if (command === 'import') {
    await importScores(argv.slice(1));
    return;
  }
  if (command !== 'serve' && command !== 'demo') {
    process.stderr.write(`${usage}\n`);
    process.exit(command === 'help' || command === '--help' ? 0 : 2);
  }
  for (const warning of unknownVariableWarnings()) process.stderr.write(`ladder: warning: ${warning}\n`);
  let config: Config;
  let rate = 0;
  try {
    if (command === 'demo') {
      rate = demoRate(process.env.LADDER_DEMO_RATE);
      // The demo needs a key it knows, and keeps its boards away from ./data; explicit variables still win.
      config = loadConfig({ LADDER_ADMIN_KEY: generateKey(), LADDER_DATA_DIR: './data-demo', ...process.env });
    } else {
      config = loadConfig();
    }
  } catch (err) {
    process.stderr.write(`ladder: ${(err as Error).message}\n`);
    process.exit(2);
  }
  if (config.workers > 1 && command === 'serve') {
    if (cluster.isPrimary) {
      superviseWorkers(config.workers);
      return;
    }
  }
  try {
    const running = await serve(config);
    if (command === 'demo') {
      const { runDemo } = await import('./demo/index.js');
      await runDemo({ baseUrl: running.url, adminKey: config.adminKey as string, rate });
      process.stdout.write(
        `\nDemo running: open ${running.url}/ in a browser. Its boards and scores are kept in ${resolve(config.dataDir)} (LADDER_DATA_DIR). ` +
          `Admin key for this run: ${config.adminKey}\n`,
      );
    }
  } catch (err) {
    fail(err, config);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => fail(err, null));
