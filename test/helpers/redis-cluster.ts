/**
 * A real Redis Cluster for one test file: three `redis-server` masters (no
 * replicas) started as child processes on free ports, in a temporary
 * directory of their own, the 16384 slots split between them. `seeds` is
 * what LADDER_REDIS_URL takes; `stop` kills the servers and removes the
 * directory (they are killed at exit too, should the file crash first).
 *
 * The server is LADDER_TEST_REDIS_SERVER, by default redis-server on PATH.
 * Without it the suites fail on CI (CI=true) and are skipped, loudly,
 * elsewhere.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { isFree } from './ports.js';

const SERVER = process.env.LADDER_TEST_REDIS_SERVER ?? 'redis-server';
const NODES = 3;
const SLOTS = 16_384;
/** A node's cluster bus listens on its port + 10000, so ports come from a range where both fit. */
const PORT_RANGE = [20_000, 30_000] as const;
const BUS_OFFSET = 10_000;
const START_ATTEMPTS = 5;
const READY_MS = 10_000;

export interface TestRedisCluster {
  /** The nodes' URLs, comma-separated: `redis://127.0.0.1:p1,redis://127.0.0.1:p2,…`. */
  readonly seeds: string;
  readonly ports: readonly number[];
  /** A plain (non-cluster) connection to each node, in the order of `ports`. */
  readonly nodes: readonly Redis[];
  /** Kills node i (SIGKILL), as a crash would. */
  killNode(i: number): Promise<void>;
  /** Starts node i again on its port and configuration (its data is gone), and waits until the cluster is ok again. */
  restartNode(i: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * For `describe(..., { skip })`: false when redis-server can be run (or on
 * CI, where the suites then fail on it); otherwise why not, said on stderr.
 */
export function skipWithoutRedisServer(suites: string): string | false {
  const probe = spawnSync(SERVER, ['--version'], { encoding: 'utf8' });
  if (probe.status === 0) return false;
  const reason = `${SERVER} cannot be run (${probe.error?.message ?? probe.stderr.trim()})`;
  if (process.env.CI === 'true') throw new Error(`${reason}: ${suites} cannot run; install Redis 7 or set LADDER_TEST_REDIS_SERVER`);
  process.stderr.write(`\n!!! ${reason}: SKIPPING ${suites}. Install Redis 7 or set LADDER_TEST_REDIS_SERVER. On CI this fails. !!!\n\n`);
  return reason;
}

/** NODES distinct ports of PORT_RANGE that are free, and whose bus ports are free too. */
async function freePorts(): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < NODES) {
    const port = PORT_RANGE[0] + Math.floor(Math.random() * (PORT_RANGE[1] - PORT_RANGE[0]));
    if (ports.includes(port)) continue;
    if ((await isFree(port)) && (await isFree(port + BUS_OFFSET))) ports.push(port);
  }
  return ports;
}

/** Starts one redis-server; resolves once it accepts connections, rejects when it exits first (e.g. its port was taken meanwhile). */
function startServer(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(
    SERVER,
    [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--cluster-enabled', 'yes',
      '--cluster-config-file', join(dir, `nodes-${port}.conf`),
      '--dir', dir,
      '--save', '',
      '--appendonly', 'no',
      '--daemonize', 'no',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server on port ${port} did not get ready in ${READY_MS} ms:\n${output}`));
    }, READY_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.off('exit', onExit);
        // Drained, so that a full pipe never blocks the server.
        child.stdout!.resume();
        child.stderr!.resume();
        resolve(child);
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      reject(new Error(`redis-server on port ${port} exited with ${signal ?? code}:\n${output}`));
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', onExit);
  });
}

function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** Polls until every node says cluster_state:ok and knows every node. */
async function untilClusterOk(nodes: readonly Redis[]): Promise<void> {
  const deadline = Date.now() + READY_MS;
  for (;;) {
    // A node that is just back may not answer yet.
    const infos = await Promise.all(nodes.map((node) => (node.cluster('INFO') as Promise<string>).catch((err: Error) => err.message)));
    if (infos.every((info) => /cluster_state:ok/.test(info) && new RegExp(`cluster_known_nodes:${NODES}\\b`).test(info))) return;
    if (Date.now() > deadline) throw new Error(`the Redis Cluster did not reach cluster_state:ok in ${READY_MS} ms:\n${infos.join('\n---\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function startRedisCluster(): Promise<TestRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'ladder-redis-cluster-'));
  const children: ChildProcess[] = [];
  const killAtExit = () => {
    for (const child of children) child.kill('SIGKILL');
  };
  process.once('exit', killAtExit);
  const nodes: Redis[] = [];
  const stop = async () => {
    process.off('exit', killAtExit);
    for (const node of nodes) node.disconnect();
    await Promise.all(children.map(stopServer));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    let ports: number[] = [];
    for (let attempt = 1; children.length < NODES; attempt++) {
      // Another process may take a port between the check and the server's bind: start again on others.
      ports = await freePorts();
      try {
        for (const port of ports) children.push(await startServer(port, dir));
      } catch (err) {
        await Promise.all(children.splice(0).map(stopServer));
        if (attempt === START_ATTEMPTS) throw err;
      }
    }
    for (const port of ports) {
      const node = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
      // A killed node's connection reconnects by itself once it is back.
      node.on('error', () => undefined);
      nodes.push(node);
    }
    // By hand what `redis-cli --cluster create … --cluster-replicas 0` does: an even share of the slots each, then a handshake.
    const share = Math.ceil(SLOTS / NODES);
    await Promise.all(nodes.map((node, i) => node.cluster('ADDSLOTSRANGE', i * share, Math.min(SLOTS, (i + 1) * share) - 1)));
    await Promise.all(nodes.slice(1).map((_, i) => nodes[0]!.cluster('MEET', '127.0.0.1', ports[i + 1]!)));
    await untilClusterOk(nodes);
    return {
      seeds: ports.map((port) => `redis://127.0.0.1:${port}`).join(','),
      ports,
      nodes,
      killNode: (i) => stopServer(children[i]!),
      async restartNode(i) {
        await stopServer(children[i]!);
        children[i] = await startServer(ports[i]!, dir);
        await untilClusterOk(nodes);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
