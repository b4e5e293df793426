// `npm run cluster`: a local cluster of two Ladder processes on this machine's
// Redis and PostgreSQL, for development and the benchmarks. It creates the
// database when missing, starts `node dist/cli.js serve` twice (ports 8081 and
// 8082 unless LADDER_CLUSTER_PORTS says otherwise) as cluster members, and
// stops both on Ctrl-C. Every other LADDER_* variable is passed on.
//
//   LADDER_REDIS_URL     default redis://127.0.0.1:6379/0
//   LADDER_DATABASE_URL  default postgres://postgres@127.0.0.1:5432/ladder
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import pg from 'pg';

const redisUrl = process.env.LADDER_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const databaseUrl = process.env.LADDER_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/ladder';
const ports = (process.env.LADDER_CLUSTER_PORTS ?? '8081,8082').split(',').map(Number);

if (!existsSync('dist/cli.js')) {
  console.error('cluster: dist/cli.js is missing; run `npm run build` first');
  process.exit(1);
}

/** Creates the database of LADDER_DATABASE_URL unless it exists (connecting to the server's `postgres` database). */
async function ensureDatabase(url) {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) {
      await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
      console.log(`cluster: created database ${name}`);
    }
  } finally {
    await client.end();
  }
}

try {
  await ensureDatabase(databaseUrl);
} catch (err) {
  console.error(`cluster: cannot prepare the database of LADDER_DATABASE_URL (${databaseUrl}): ${err.message}`);
  process.exit(1);
}

async function untilHealthy(port) {
  for (let waited = 0; waited < 60_000; waited += 100) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`cluster: the member on port ${port} did not answer /healthz within 60 s`);
}

const children = [];
for (const [i, port] of ports.entries()) {
  const child = spawn(process.execPath, ['dist/cli.js', 'serve'], {
    env: { ...process.env, LADDER_REDIS_URL: redisUrl, LADDER_DATABASE_URL: databaseUrl, LADDER_PORT: String(port) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(child);
  child.on('exit', (code, signal) => {
    console.error(`cluster: member ${i + 1} (port ${port}) exited (${signal ?? code})`);
    if (children.every((c) => c.exitCode !== null || c.signalCode !== null)) process.exit(0);
  });
  // The first member migrates an empty database and prints a generated admin key: the others start after it answers.
  if (i === 0) await untilHealthy(port);
}
console.log(`cluster: members on ${ports.map((port) => `http://127.0.0.1:${port}`).join(' and ')} (Ctrl-C stops both)`);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => children.forEach((child) => child.kill('SIGTERM')));
