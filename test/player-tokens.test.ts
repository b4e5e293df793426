/**
 * Player tokens (service/player-tokens.ts, http/auth.ts): a JWT whose `sub`
 * is a participant reads like a read key, and submits for that participant
 * only, to the boards of its `boards` claim only. Tokens are signed here with
 * jose: HS256 with a shared secret, RS256 with a key served as a JWKS by a
 * local HTTP server, and ES256 with a PEM public key.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { effectiveConfig, loadConfig } from '../src/core/config.js';
import { LadderError } from '../src/core/errors.js';
import { isPlayerToken, PlayerTokens } from '../src/service/player-tokens.js';
import { FeedClient, sleep, wsUrl } from './helpers/realtime.js';
import { api, boardId, startServer, type TestServer } from './helpers/server.js';

const SECRET = 'a-test-secret-that-is-long-enough-for-hs256';
const AUDIENCE = 'ladder-tests';
const ISSUER = 'https://game.example';

/** A token signed with `key` (the shared secret by default): aud, iss and a 5-minute expiry unless `claims` says otherwise. */
async function token(claims: JWTPayload & { boards?: unknown }, options: { key?: CryptoKey | Uint8Array; alg?: string; kid?: string } = {}): Promise<string> {
  const { exp = Math.floor(Date.now() / 1000) + 300, ...rest } = claims;
  const jwt = new SignJWT({ aud: AUDIENCE, iss: ISSUER, ...rest })
    .setProtectedHeader({ alg: options.alg ?? 'HS256', ...(options.kid === undefined ? {} : { kid: options.kid }) })
    .setIssuedAt();
  if (exp !== null) jwt.setExpirationTime(exp as number);
  return jwt.sign(options.key ?? new TextEncoder().encode(SECRET));
}

/** A JWKS on 127.0.0.1, as an identity provider serves it. */
async function serveJwks(jwks: unknown): Promise<{ url: string; server: Server }> {
  const server = createServer((_request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify(jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`, server };
}

async function createBoard(server: TestServer, id = boardId('pt')): Promise<string> {
  const created = await api(server, 'POST', '/v1/leaderboards', { key: server.adminKey, body: { id, sort_order: 'desc', operator: 'best' } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return id;
}

describe('player tokens (HS256 and a JWKS, with audience, issuer and LADDER_READ_AUTH)', () => {
  let server: TestServer;
  let jwks: Server;
  let rsa: CryptoKey;
  let board: string;
  let other: string;

  before(async () => {
    const pair = await generateKeyPair('RS256');
    rsa = pair.privateKey;
    const served = await serveJwks({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' }] });
    jwks = served.server;
    server = await startServer({ readAuth: true, jwtSecret: SECRET, jwtJwksUrl: served.url, jwtAudience: AUDIENCE, jwtIssuer: ISSUER });
    board = await createBoard(server);
    other = await createBoard(server);
  });
  after(async () => {
    await server.close();
    jwks.close();
  });

  const submit = (id: string, key: string, body: unknown) => api(server, 'POST', `/v1/leaderboards/${id}/scores`, { key, body });

  it('submits for its own participant and reads with it', async () => {
    const alice = await token({ sub: 'alice' });
    const answer = await submit(board, alice, { participant_id: 'alice', score: 10 });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.rank, 1);
    const rankings = await api(server, 'GET', `/v1/leaderboards/${board}/rankings`, { key: alice });
    assert.equal(rankings.status, 200);
    assert.deepEqual(rankings.body.entries.map((e: { participant_id: string }) => e.participant_id), ['alice']);
    assert.equal((await api(server, 'GET', `/v1/leaderboards/${board}/rankings?key=${alice}`)).status, 200, 'a token in ?key= on a GET');
    assert.equal((await api(server, 'GET', '/v1/leaderboards', { key: alice })).status, 200);
    assert.equal((await api(server, 'GET', `/v1/leaderboards/${board}/rankings`)).status, 401, 'reads need a key or a token');
  });

  it('refuses an expired token, a bad signature, another audience or issuer, and one without exp or sub, with 401 invalid_token', async () => {
    const past = Math.floor(Date.now() / 1000) - 60;
    const cases: [string, string][] = [
      ['expired', await token({ sub: 'alice', exp: past })],
      ['bad signature', await token({ sub: 'alice' }, { key: new TextEncoder().encode('another-secret-that-is-long-enough-for-hs256') })],
      ['tampered', (await token({ sub: 'alice' })).replace(/\.[^.]+\./, `.${Buffer.from(JSON.stringify({ sub: 'bob', aud: AUDIENCE, iss: ISSUER, exp: past + 600 })).toString('base64url')}.`)],
      ['wrong audience', await token({ sub: 'alice', aud: 'another-service' })],
      ['wrong issuer', await token({ sub: 'alice', iss: 'https://evil.example' })],
      ['no exp', await token({ sub: 'alice', exp: null as unknown as number })],
      ['no sub', await token({})],
      ['sub not a participant id', await token({ sub: 'not a participant!' })],
      ['boards not a list', await token({ sub: 'alice', boards: 'all' })],
      ['unknown kid', await token({ sub: 'alice' }, { key: rsa, alg: 'RS256', kid: 'rsa-unknown' })],
    ];
    for (const [what, jwt] of cases) {
      for (const answer of [await submit(board, jwt, { participant_id: 'alice', score: 11 }), await api(server, 'GET', `/v1/leaderboards/${board}/rankings`, { key: jwt })]) {
        assert.equal(answer.status, 401, `${what}: ${JSON.stringify(answer.body)}`);
        assert.equal(answer.body.error.code, 'invalid_token', what);
      }
    }
  });

  it('verifies RS256 tokens against the JWKS', async () => {
    const bob = await token({ sub: 'bob' }, { key: rsa, alg: 'RS256', kid: 'rsa-1' });
    const answer = await submit(board, bob, { participant_id: 'bob', score: 5 });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const forged = await submit(board, bob, { participant_id: 'alice', score: 1_000 });
    assert.equal(forged.status, 403);
  });

  it('refuses a submission for another participant with 403, and records it in that participant\'s history', async () => {
    const id = await createBoard(server);
    const mallory = await token({ sub: 'mallory' });
    const forged = await submit(id, mallory, { participant_id: 'victim', score: 1_000_000, event_id: 'forged-1' });
    assert.equal(forged.status, 403);
    assert.equal(forged.body.error.code, 'forbidden');
    assert.equal(forged.body.error.details.token_participant_id, 'mallory');
    const missing = await submit(id, mallory, { score: 1 });
    assert.equal(missing.status, 403, 'a body naming no participant is not the token\'s either');
    let events: { outcome: string; code: string; event_id: string }[] = [];
    for (let attempt = 0; events.length === 0 && attempt < 500; attempt++) {
      if (attempt > 0) await sleep(10);
      const history = await api(server, 'GET', `/v1/leaderboards/${id}/participants/victim/events`, { key: server.adminKey });
      assert.equal(history.status, 200, JSON.stringify(history.body));
      events = history.body.events;
    }
    assert.deepEqual(events.map((e) => [e.outcome, e.code, e.event_id]), [['rejected', 'forbidden', 'forged-1']]);
    const rankings = await api(server, 'GET', `/v1/leaderboards/${id}/rankings`, { key: server.adminKey });
    assert.equal(rankings.body.total, 0);
  });

  it('refuses a whole batch with a foreign item, and takes a batch of its own', async () => {
    const id = await createBoard(server);
    const carol = await token({ sub: 'carol' });
    const mixed = await api(server, 'POST', `/v1/leaderboards/${id}/scores/batch`, {
      key: carol,
      body: { scores: [{ participant_id: 'carol', score: 3 }, { participant_id: 'dave', score: 4 }] },
    });
    assert.equal(mixed.status, 403);
    assert.equal(mixed.body.error.details.participant_id, 'dave');
    assert.equal((await api(server, 'GET', `/v1/leaderboards/${id}/rankings`, { key: carol })).body.total, 0, 'nothing of it was applied');
    const own = await api(server, 'POST', `/v1/leaderboards/${id}/scores/batch`, {
      key: carol,
      body: { scores: [{ participant_id: 'carol', score: 3 }, { participant_id: 'carol', score: 8 }] },
    });
    assert.equal(own.status, 200, JSON.stringify(own.body));
    assert.equal(own.body.results[1].score, 8);
  });

  it('submits only to the boards of its boards claim, and reads every board', async () => {
    const limited = await token({ sub: 'erin', boards: [board] });
    assert.equal((await submit(board, limited, { participant_id: 'erin', score: 2 })).status, 200);
    const elsewhere = await submit(other, limited, { participant_id: 'erin', score: 2 });
    assert.equal(elsewhere.status, 403);
    assert.equal(elsewhere.body.error.details.leaderboard_id, other);
    const batch = await api(server, 'POST', `/v1/leaderboards/${other}/scores/batch`, { key: limited, body: { scores: [{ participant_id: 'erin', score: 2 }] } });
    assert.equal(batch.status, 403);
    assert.equal((await api(server, 'GET', `/v1/leaderboards/${other}/rankings`, { key: limited })).status, 200);
    const none = await token({ sub: 'erin', boards: [] });
    assert.equal((await submit(board, none, { participant_id: 'erin', score: 2 })).status, 403, 'an empty claim allows no board');
  });

  it('edits its own profile only, and gets 403 on admin routes and keys', async () => {
    const frank = await token({ sub: 'frank' });
    assert.equal((await api(server, 'PUT', '/v1/participants/frank', { key: frank, body: { display_name: 'Frank' } })).status, 200);
    assert.equal((await api(server, 'PUT', '/v1/participants/grace', { key: frank, body: { display_name: 'Not Grace' } })).status, 403);
    for (const [method, path, body] of [
      ['POST', '/v1/leaderboards', { id: boardId('pt'), sort_order: 'desc', operator: 'best' }],
      ['DELETE', `/v1/leaderboards/${board}`, undefined],
      ['POST', `/v1/leaderboards/${board}/close`, undefined],
      ['GET', '/v1/keys', undefined],
      ['POST', '/v1/keys', { scope: 'admin' }],
      ['DELETE', '/v1/participants/frank', undefined],
    ] as const) {
      const answer = await api(server, method, path, { key: frank, body });
      assert.equal(answer.status, 403, `${method} ${path}`);
      assert.equal(answer.body.error.code, 'forbidden');
    }
  });

  it('subscribes over WebSocket with a token, and is refused with a bad one', async () => {
    const alice = await token({ sub: 'alice' });
    const client = await FeedClient.connect(wsUrl(server, board, `?key=${alice}`));
    const snapshot = await client.subscribe('top', { top: 3 });
    assert.equal(snapshot.type, 'snapshot');
    client.close();
    const expired = await token({ sub: 'alice', exp: Math.floor(Date.now() / 1000) - 60 });
    const refused = await FeedClient.connect(wsUrl(server, board, `?key=${expired}`));
    await refused.next((m) => m.type === 'error' && m.code === 'invalid_token');
    assert.equal((await refused.closed).code, 4401);
  });
});

describe('player tokens (ES256 with a PEM public key)', () => {
  let server: TestServer;
  let ec: CryptoKey;
  let board: string;

  before(async () => {
    const pair = await generateKeyPair('ES256');
    ec = pair.privateKey;
    // With `\n` for its line breaks, as an environment variable would carry it.
    const pem = (await exportSPKI(pair.publicKey)).trim().replace(/\n/g, '\\n');
    server = await startServer({ jwtPublicKey: loadConfig({ LADDER_JWT_PUBLIC_KEY: pem }).jwtPublicKey });
    board = await createBoard(server);
  });
  after(() => server.close());

  it('takes ES256 tokens, without audience or issuer checks when none are set', async () => {
    const jwt = await token({ sub: 'heidi', aud: undefined, iss: undefined }, { key: ec, alg: 'ES256' });
    const answer = await api(server, 'POST', `/v1/leaderboards/${board}/scores`, { key: jwt, body: { participant_id: 'heidi', score: 1 } });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
  });

  it('refuses HS256 tokens when no secret is set', async () => {
    const jwt = await token({ sub: 'heidi' });
    const answer = await api(server, 'POST', `/v1/leaderboards/${board}/scores`, { key: jwt, body: { participant_id: 'heidi', score: 1 } });
    assert.equal(answer.status, 401);
    assert.equal(answer.body.error.code, 'invalid_token');
  });
});

describe('player tokens without JWT configuration', () => {
  it('takes a JWT for an unknown API key', async () => {
    const server = await startServer();
    try {
      const id = await createBoard(server);
      const answer = await api(server, 'POST', `/v1/leaderboards/${id}/scores`, { key: await token({ sub: 'ivan' }), body: { participant_id: 'ivan', score: 1 } });
      assert.equal(answer.status, 401);
      assert.equal(answer.body.error.code, 'invalid_api_key');
    } finally {
      await server.close();
    }
  });
});

describe('PlayerTokens', () => {
  it('tells tokens from API keys', async () => {
    assert.equal(isPlayerToken(await token({ sub: 'a' })), true);
    assert.equal(isPlayerToken('ldr_abc.def.ghi'), false);
    assert.equal(isPlayerToken('my.admin.key'), false, 'three parts that are no JOSE header');
  });

  it('answers 503 token_keys_unavailable when the JWKS cannot be fetched', async () => {
    const closed = await serveJwks({});
    const url = `http://127.0.0.1:${(closed.server.address() as AddressInfo).port}/jwks.json`;
    await new Promise((resolve) => closed.server.close(resolve));
    const tokens = PlayerTokens.fromConfig(loadConfig({ LADDER_JWT_JWKS_URL: url }))!;
    const { privateKey } = await generateKeyPair('RS256');
    await assert.rejects(tokens.verify(await token({ sub: 'a' }, { key: privateKey, alg: 'RS256', kid: 'k' })), (err: unknown) => err instanceof LadderError && err.code === 'token_keys_unavailable');
  });

  it('masks the secret in check-config', () => {
    const env = { LADDER_JWT_SECRET: SECRET, LADDER_JWT_AUDIENCE: AUDIENCE };
    const shown = effectiveConfig(loadConfig(env), env);
    assert.match(shown, /^LADDER_JWT_SECRET +\*\*\* \(set\) +\(environment\)$/m);
    assert.match(shown, /^LADDER_JWT_AUDIENCE +"ladder-tests" +\(environment\)$/m);
    assert.ok(!shown.includes(SECRET));
  });

  it('refuses configurations that cannot work, naming the variable', () => {
    assert.throws(() => loadConfig({ LADDER_JWT_SECRET: 'short' }), /LADDER_JWT_SECRET: must be at least 32 characters/);
    assert.throws(() => loadConfig({ LADDER_JWT_PUBLIC_KEY: 'not a pem' }), /LADDER_JWT_PUBLIC_KEY/);
    assert.throws(() => loadConfig({ LADDER_JWT_AUDIENCE: 'x' }), /LADDER_JWT_AUDIENCE is set but player tokens are off/);
    assert.throws(() => loadConfig({ LADDER_JWT_JWKS_URL: 'ftp://x' }), /LADDER_JWT_JWKS_URL: must be an http\(s\) URL/);
  });
});
