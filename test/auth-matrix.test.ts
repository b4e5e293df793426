/**
 * The auth matrix: every endpoint of the running server (its /openapi.json,
 * so that a new route fails here until it is given its row) × every kind of
 * caller (keys of each scope, board-limited keys, player tokens with and
 * without a `boards` claim, an expired one), with LADDER_READ_AUTH=true so
 * that reads are checked too. Each cell is 401, 403, or `ok` (anything but
 * 401/403: the request got past auth, and whatever it then answers is other
 * suites' business).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { FeedClient, wsUrl } from './helpers/realtime.js';
import { api, boardId, startServer, type TestServer } from './helpers/server.js';

const SECRET = 'the-auth-matrix-secret-long-enough-for-hs256';
const PLAYER = 'p1';

const callers = ['none', 'wrong', 'revoked', 'read', 'write', 'admin', 'otherBoard', 'thisBoard', 'player', 'playerOtherBoard', 'expiredToken'] as const;
type Caller = (typeof callers)[number];
type Cell = 401 | 403 | 'ok';
type Row = Record<Caller, Cell>;

/** One row per kind of route; the table below gives each route its row. */
function row(...cells: Cell[]): Row {
  return Object.fromEntries(callers.map((caller, i) => [caller, cells[i]])) as Row;
}
//                              none wrong revoked read  write admin otherBoard thisBoard player playerOtherBoard expiredToken
const open = /*          */ row('ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok');
const readBoard = /*     */ row(401, 401, 401, 'ok', 'ok', 'ok', 403, 'ok', 'ok', 'ok', 401);
const readOffBoard = /*  */ row(401, 401, 401, 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 401);
const submitScores = /*  */ row(401, 401, 401, 403, 'ok', 'ok', 403, 'ok', 'ok', 403, 401);
const ownProfile = /*    */ row(401, 401, 401, 403, 'ok', 'ok', 403, 403, 'ok', 'ok', 401);
const admin = /*         */ row(401, 401, 401, 403, 403, 'ok', 403, 403, 403, 403, 401);

const table: Record<string, Row> = {
  'GET /metrics': open,
  'GET /healthz': open,
  'GET /readyz': open,
  'POST /v1/leaderboards': admin,
  'GET /v1/leaderboards': readOffBoard,
  'GET /v1/leaderboards/{id}': readBoard,
  'PATCH /v1/leaderboards/{id}': admin,
  'DELETE /v1/leaderboards/{id}': admin,
  'POST /v1/leaderboards/{id}/close': admin,
  'POST /v1/leaderboards/{id}/reopen': admin,
  'GET /v1/leaderboards/{id}/periods': readBoard,
  'POST /v1/leaderboards/{id}/scores': submitScores,
  'POST /v1/leaderboards/{id}/scores/batch': submitScores,
  'GET /v1/leaderboards/{id}/rankings': readBoard,
  'GET /v1/leaderboards/{id}/participants/{pid}': readBoard,
  'GET /v1/participants/{pid}/placements': readOffBoard,
  'GET /v1/leaderboards/{id}/export': admin,
  'PUT /v1/participants/{pid}': ownProfile,
  'GET /v1/participants/{pid}': readOffBoard,
  'DELETE /v1/participants/{pid}': admin,
  'GET /v1/leaderboards/{id}/participants/{pid}/events': readBoard,
  'POST /v1/keys': admin,
  'GET /v1/keys': admin,
  'DELETE /v1/keys/{keyId}': admin,
  'GET /v1/leaderboards/{id}/webhooks': admin,
  'POST /v1/leaderboards/{id}/participants/{pid}/hide': admin,
  'POST /v1/leaderboards/{id}/participants/{pid}/unhide': admin,
  'POST /v1/leaderboards/{id}/participants/{pid}/flag': admin,
  'POST /v1/leaderboards/{id}/participants/{pid}/unflag': admin,
  'GET /v1/leaderboards/{id}/participants/{pid}/moderation': admin,
  'GET /v1/leaderboards/{id}/moderation': admin,
  // Checked over a real WebSocket below: the refusal comes on the socket.
  'GET /v1/leaderboards/{id}/subscribe': readBoard,
  'GET /v1/leaderboards/{id}/events': readBoard,
  'POST /v1/leaderboards/{id}/import': admin,
};

/** A body that passes for the route's (auth comes first, so only the player's participant matters). */
function bodyOf(route: string): unknown {
  if (route.endsWith('/scores')) return { participant_id: PLAYER, score: 1 };
  if (route.endsWith('/scores/batch')) return { scores: [{ participant_id: PLAYER, score: 1 }] };
  if (route === 'PUT /v1/participants/{pid}') return { display_name: 'P one' };
  return route.startsWith('POST') || route.startsWith('PUT') || route.startsWith('PATCH') ? {} : undefined;
}

/** The status a plain request answers; the body is not waited for (the SSE route streams). */
async function statusOf(server: TestServer, method: string, path: string, key: string | null, body: unknown): Promise<number> {
  const headers: Record<string, string> = key === null ? {} : { authorization: `Bearer ${key}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${server.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  await response.body?.cancel();
  return response.status;
}

/** What a subscribe over WebSocket answers: a snapshot (ok), or the error of a refused connection. */
async function subscribeStatus(server: TestServer, board: string, key: string | null): Promise<number> {
  const client = await FeedClient.connect(wsUrl(server, board, key === null ? '' : `?key=${key}`));
  try {
    const answer = await client.subscribe('m', { top: 1 });
    if (answer.type !== 'error') return 200;
    return answer.code === 'forbidden' ? 403 : ['missing_api_key', 'invalid_api_key', 'invalid_token'].includes(answer.code) ? 401 : 200;
  } finally {
    client.close();
  }
}

const matches = (status: number, cell: Cell) => (cell === 'ok' ? status !== 401 && status !== 403 : status === cell);

describe('auth matrix (LADDER_READ_AUTH=true, player tokens on)', () => {
  let server: TestServer;
  let routes: string[];
  const keys = {} as Record<Caller, string | null>;
  /** Each route acts on a board of its own, so that a delete or a close does not change another's cell. */
  const boards = new Map<string, string>();

  before(async () => {
    server = await startServer({ readAuth: true, jwtSecret: SECRET });
    const spec = (await (await fetch(`${server.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    routes = Object.entries(spec.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`));
    for (const route of routes) {
      const id = boardId('am');
      assert.equal((await api(server, 'POST', '/v1/leaderboards', { key: server.adminKey, body: { id, sort_order: 'desc', operator: 'best' } })).status, 201);
      boards.set(route, id);
    }
    const issue = async (scope: string, limitedTo?: string[]) => {
      const created = await api(server, 'POST', '/v1/keys', { key: server.adminKey, body: { scope, ...(limitedTo === undefined ? {} : { boards: limitedTo }) } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      return created.body as { id: string; key: string };
    };
    const revoked = await issue('admin');
    assert.equal((await api(server, 'DELETE', `/v1/keys/${revoked.id}`, { key: server.adminKey })).status, 200);
    Object.assign(keys, {
      none: null,
      wrong: 'ldr_not-a-key-of-this-server',
      revoked: revoked.key,
      read: (await issue('read')).key,
      write: (await issue('write')).key,
      admin: (await issue('admin')).key,
      otherBoard: (await issue('write', [await createOther()])).key,
      thisBoard: (await issue('write', [...boards.values()])).key,
      player: await playerToken({}),
      playerOtherBoard: await playerToken({ boards: [await createOther()] }),
      expiredToken: await playerToken({ exp: Math.floor(Date.now() / 1000) - 60 }),
    });
  });
  after(() => server.close());

  const playerToken = (claims: Record<string, unknown>) =>
    new SignJWT({ exp: Math.floor(Date.now() / 1000) + 600, ...claims }).setProtectedHeader({ alg: 'HS256' }).setSubject(PLAYER).sign(new TextEncoder().encode(SECRET));

  async function createOther(): Promise<string> {
    const id = boardId('other');
    assert.equal((await api(server, 'POST', '/v1/leaderboards', { key: server.adminKey, body: { id, sort_order: 'desc', operator: 'best' } })).status, 201);
    return id;
  }

  it('has a row for every route of the server, and no row for a route it does not have', () => {
    assert.deepEqual([...routes].sort(), Object.keys(table).sort());
  });

  it('answers each caller of each route as its row says', async () => {
    const wrong: string[] = [];
    for (const route of routes) {
      const [method, template] = route.split(' ') as [string, string];
      const board = boards.get(route)!;
      const path = template.replace('{id}', board).replace('{pid}', PLAYER).replace('{keyId}', '00000000-0000-4000-8000-000000000000');
      // Callers that may succeed go last, so that a delete or an erasure by one does not decide the cells of the others.
      for (const caller of [...callers].sort((a, b) => Number(table[route]![a] === 'ok') - Number(table[route]![b] === 'ok'))) {
        const expected = table[route]![caller];
        const status = route.endsWith('/subscribe') ? await subscribeStatus(server, board, keys[caller]) : await statusOf(server, method, path, keys[caller], bodyOf(route));
        if (!matches(status, expected)) wrong.push(`${route} as ${caller}: ${status}, expected ${expected}`);
      }
    }
    assert.deepEqual(wrong, []);
  });
});
