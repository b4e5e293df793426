/**
 * The Lua scripts of RedisIndex, read once from src/index/lua/ (copied to
 * dist/index/lua/ by the build). A script file is named
 * `verbNoun-<number of keys>.lua` and opens with a header listing its KEYS,
 * ARGV and output; a line `--- @include "name"` pulls in lua/includes/name.lua.
 * Each script is registered under a versioned name, `ladder_<verbNoun>_v<n>`,
 * which also heads its source, and called by EVALSHA; a server that does not
 * know the sha (restarted, SCRIPT FLUSH, another cluster node) gets the
 * source once by EVAL, which caches it there.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Cluster, type Redis } from 'ioredis';

export type RedisClient = Redis | Cluster;

/** Goes up whenever a script changes meaning, so the versioned names never mix two meanings. */
export const SCRIPTS_VERSION = 2;

/** The oldest Redis with what the scripts use: streams with explicit entry ids (5.0). */
export const MIN_REDIS_VERSION: readonly [number, number, number] = [5, 0, 0];

/** The first value of every script's reply (includes/board.lua uses the same numbers). */
export const ReplyCode = {
  ok: 0,
  boardNotFound: 1,
  scoreOverflow: 2,
  eventIdConflict: 3,
  boardBusy: 4,
  periodMismatch: 5,
  derivedNotFound: 6,
  derivedPeriodMismatch: 7,
} as const;

const LUA_DIR = new URL('./lua/', import.meta.url);
const INCLUDE = /^--- @include "([\w-]+)"$/gm;

export type ScriptArg = string | Buffer | number;

export class LuaScript {
  readonly name: string;
  readonly numberOfKeys: number;
  readonly source: string;
  readonly sha: string;

  constructor(name: string, numberOfKeys: number, source: string) {
    this.name = name;
    this.numberOfKeys = numberOfKeys;
    this.source = source;
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /**
   * EVALSHA, or EVAL when the server does not know the script. The keys go
   * in KEYS, so a cluster client sends the call to their slot's node.
   */
  async run(client: RedisClient, keys: readonly string[], args: readonly ScriptArg[]): Promise<unknown> {
    if (keys.length !== this.numberOfKeys) throw new Error(`${this.name} takes ${this.numberOfKeys} keys, not ${keys.length}`);
    try {
      return await client.call('evalsha', [this.sha, this.numberOfKeys, ...keys, ...args]);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    }
    return client.call('eval', [this.source, this.numberOfKeys, ...keys, ...args]);
  }
}

function withIncludes(source: string, file: string): string {
  return source.replace(INCLUDE, (_line, name: string) => {
    try {
      return readFileSync(new URL(`includes/${name}.lua`, LUA_DIR), 'utf8');
    } catch (err) {
      throw new Error(`${file} includes "${name}", which cannot be read: ${(err as Error).message}`, { cause: err });
    }
  });
}

/** Reads lua/<file>, e.g. `applyScores-6.lua`. */
export function readScript(file: string): LuaScript {
  const match = /^([a-z][A-Za-z]*)-(\d+)\.lua$/.exec(file);
  if (match === null) throw new Error(`${file} is not named verbNoun-<number of keys>.lua`);
  const name = `ladder_${match[1]}_v${SCRIPTS_VERSION}`;
  const source = withIncludes(readFileSync(new URL(file, LUA_DIR), 'utf8'), file);
  return new LuaScript(name, Number(match[2]), `-- ${name}\n${source}`);
}

export const scripts = {
  openBoard: readScript('openBoard-1.lua'),
  dropBoard: readScript('dropBoard-6.lua'),
  applyScores: readScript('applyScores-6.lua'),
  applyDerived: readScript('applyDerived-7.lua'),
  readRanks: readScript('readRanks-4.lua'),
  loadBoard: readScript('loadBoard-10.lua'),
  removeEntry: readScript('removeEntry-4.lua'),
  forgetMembers: readScript('forgetMembers-2.lua'),
  takeWindow: readScript('takeWindow-1.lua'),
} as const;

function parseVersion(text: string): [number, number, number] {
  const [major = 0, minor = 0, patch = 0] = text.split('.').map((part) => Number.parseInt(part, 10) || 0);
  return [major, minor, patch];
}

function older(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
}

/** Refuses a server (every master of a cluster) older than MIN_REDIS_VERSION. */
export async function assertRedisVersion(client: RedisClient): Promise<void> {
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  for (const node of nodes) {
    const info = await node.info('server');
    const version = /^redis_version:(\S+)/m.exec(info)?.[1];
    if (version === undefined) throw new Error(`cannot tell the version of Redis at ${node.options.host ?? '?'}:${node.options.port ?? '?'}`);
    if (older(parseVersion(version), MIN_REDIS_VERSION)) {
      throw new Error(`Redis ${version} is too old for Ladder's cluster mode: it needs ${MIN_REDIS_VERSION.join('.')} or newer`);
    }
  }
}
