#!/usr/bin/env node
/**
 * `ladder serve` (the default) runs the server; `ladder demo` runs it with a
 * simulated tournament; `ladder config` prints every LADDER_* option.
 */
import { pino } from 'pino';
import { configTable, loadConfig, type Config } from './core/config.js';
import { startLadder, type RunningLadder } from './app.js';
import { generateKey } from './service/auth.js';

const usage = `usage: ladder [serve|demo|config]
  serve    run the server (default); configure with LADDER_* variables (ladder config lists them)
  demo     run the server with bots submitting scores on several boards (LADDER_DEMO_RATE scores/s, default 50)
  config   print the configuration options as a Markdown table`;

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

async function main(argv: string[]): Promise<void> {
  const command = argv[0] ?? 'serve';
  if (command === 'config') {
    process.stdout.write(`${configTable()}\n`);
    return;
  }
  if (command !== 'serve' && command !== 'demo') {
    process.stderr.write(`${usage}\n`);
    process.exit(command === 'help' || command === '--help' ? 0 : 2);
  }
  let config: Config;
  try {
    if (command === 'demo') {
      // The demo needs a key it knows; an explicit LADDER_ADMIN_KEY still wins.
      config = loadConfig({ LADDER_ADMIN_KEY: generateKey(), ...process.env });
    } else {
      config = loadConfig();
    }
  } catch (err) {
    process.stderr.write(`ladder: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const running = await serve(config);
  if (command === 'demo') {
    const { runDemo } = await import('./demo/index.js');
    const rate = Number(process.env.LADDER_DEMO_RATE ?? 50);
    await runDemo({ baseUrl: running.url, adminKey: config.adminKey as string, rate });
    process.stdout.write(`\nDemo running: open ${running.url}/ in a browser. Admin key for this run: ${config.adminKey}\n`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`ladder: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
