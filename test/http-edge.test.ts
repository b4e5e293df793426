/**
 * The edges of the HTTP API through the real server: requests Node's HTTP
 * parser refuses (over a raw socket, since fetch cannot send them), the order
 * of auth and validation, the wording of validation errors, and empty bodies.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { api, boardId, startServer, type TestServer } from './helpers/server.js';

interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests index into arbitrary JSON answers
  readonly body: any;
}

/** Splits what a connection received into responses (each with Content-Length, as the server sends them). */
function parseResponses(text: string): RawResponse[] {
  const responses: RawResponse[] = [];
  let rest = text;
  while (rest !== '') {
    const split = rest.indexOf('\r\n\r\n');
    const [statusLine = '', ...lines] = rest.slice(0, split).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const bytes = Buffer.from(rest.slice(split + 4));
    const length = Number(headers['content-length'] ?? bytes.length);
    let body: unknown = bytes.subarray(0, length).toString();
    try {
      body = JSON.parse(body as string);
    } catch {
      // Left as text, so that the assertion shows it.
    }
    responses.push({ status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine)?.[1] ?? 0), headers, body });
    rest = bytes.subarray(length).toString();
  }
  return responses;
}

/**
 * Writes `request` as is to a new connection (then half-closes it when
 * `end`), and reads until the server closes the connection. Answers the last
 * response: a request before the broken part may have been answered first.
 */
function rawRequest(server: TestServer, request: string, options: { end?: boolean } = {}): Promise<RawResponse> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open; it sent: ${Buffer.concat(chunks).toString()}`));
    }, 5000);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const responses = parseResponses(Buffer.concat(chunks).toString());
      resolve(responses[responses.length - 1] ?? { status: 0, headers: {}, body: null });
    });
    socket.write(request, () => {
      if (options.end) socket.end();
    });
  });
}

describe('HTTP edges', () => {
  let server: TestServer;
  let key: string;
  let board: string;

  before(async () => {
    server = await startServer();
    key = server.adminKey;
    board = boardId();
    const created = await api(server, 'POST', '/v1/leaderboards', { key, body: { id: board, sort_order: 'desc', operator: 'best' } });
    assert.equal(created.status, 201);
  });
  after(async () => server.close());

  describe('requests the HTTP parser refuses', () => {
    const json = 'Content-Type: application/json\r\n';
    const cases: { name: string; request: () => string; end?: boolean; problem: RegExp }[] = [
      {
        name: 'a chunked body that also has Content-Length',
        request: () => `POST /v1/leaderboards/${board}/scores HTTP/1.1\r\nHost: x\r\n${json}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n`,
        problem: /Content-Length.*Transfer-Encoding|Transfer-Encoding.*Content-Length/,
      },
      { name: 'a lowercase method', request: () => 'get /healthz HTTP/1.1\r\nHost: x\r\n\r\n', problem: /method/ },
      { name: 'a missing Host header', request: () => 'GET /healthz HTTP/1.1\r\n\r\n', problem: /Host/ },
      {
        name: 'a Content-Length larger than the body, then the connection half-closed',
        request: () => `POST /v1/leaderboards/${board}/scores HTTP/1.1\r\nHost: x\r\n${json}Content-Length: 100\r\n\r\n{"participant_id":"p"`,
        end: true,
        problem: /ended|Content-Length/,
      },
      {
        name: 'a Content-Length smaller than the body',
        request: () => `POST /v1/leaderboards/${board}/scores HTTP/1.1\r\nHost: x\r\n${json}Content-Length: 2\r\n\r\n{}"participant_id":"p","score":1}`,
        problem: /method|Content-Length/,
      },
      { name: 'a Content-Length that is no number', request: () => `POST /v1/leaderboards HTTP/1.1\r\nHost: x\r\n${json}Content-Length: ten\r\n\r\n`, problem: /Content-Length/ },
      { name: 'a header name with a space', request: () => 'GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n', problem: /header/ },
      { name: 'an unknown HTTP version', request: () => 'GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n', problem: /version/ },
    ];
    for (const { name, request, end, problem } of cases) {
      it(`answers ${name} with 400 invalid_request and closes the connection`, async () => {
        const res = await rawRequest(server, request(), { end });
        assert.equal(res.status, 400, JSON.stringify(res));
        assert.equal(res.headers.connection, 'close');
        assert.match(res.headers['content-type'] ?? '', /^application\/json/);
        assert.equal(res.body.error.code, 'invalid_request', JSON.stringify(res.body));
        assert.match(res.body.error.message, /^the request could not be parsed as HTTP\/1\.1: /);
        assert.match(res.body.error.message, problem);
        assert.deepEqual(Object.keys(res.body), ['error']);
      });
    }

    it('answers a 17 KB header with 431 headers_too_large', async () => {
      const res = await rawRequest(server, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: ${'a'.repeat(17 * 1024)}\r\n\r\n`);
      assert.equal(res.status, 431, JSON.stringify(res));
      assert.equal(res.headers.connection, 'close');
      assert.equal(res.body.error.code, 'headers_too_large');
      assert.match(res.body.error.message, /16 KiB/);
    });

    it('keeps serving, and still accepts HTTP/1.0 without Host', async () => {
      const res = await rawRequest(server, 'GET /healthz HTTP/1.0\r\n\r\n');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { status: 'ok', mode: 'embedded', loaded_boards: 0 });
    });
  });

  describe('auth comes before validation', () => {
    const path = () => `/v1/leaderboards/${board}/scores`;
    const badBody = { participant_id: 'p', score: 'high' };

    it('answers 401 to a bad body without a key or with an unknown one, and 403 with a key of too low a scope', async () => {
      const missing = await api(server, 'POST', path(), { body: badBody });
      assert.equal(missing.status, 401);
      assert.equal(missing.body.error.code, 'missing_api_key');
      const unknown = await api(server, 'POST', path(), { key: 'ldr_nope', body: badBody });
      assert.equal(unknown.status, 401);
      assert.equal(unknown.body.error.code, 'invalid_api_key');
      const readKey = (await api(server, 'POST', '/v1/keys', { key, body: { scope: 'read' } })).body.key;
      const forbidden = await api(server, 'POST', path(), { key: readKey, body: badBody });
      assert.equal(forbidden.status, 403);
      assert.equal(forbidden.body.error.code, 'forbidden');
      assert.equal((await api(server, 'POST', path(), { key, body: badBody })).status, 400);
    });

    it('answers 401 before reading malformed, oversized or non-JSON bodies', async () => {
      const cases: [string, string, Record<string, string>][] = [
        ['POST', '/v1/leaderboards', {}],
        ['POST', '/v1/keys', {}],
        ['POST', path(), {}],
        ['POST', `${path()}/batch`, {}],
      ];
      for (const [method, url, headers] of cases) {
        assert.equal((await api(server, method, url, { raw: '{"scores": [', headers })).status, 401, `${url} malformed`);
        assert.equal((await api(server, method, url, { raw: 'a=b', headers: { 'content-type': 'text/plain' } })).status, 401, `${url} text`);
      }
      const huge = await api(server, 'POST', path(), { raw: JSON.stringify({ pad: 'x'.repeat(5 * 1024 * 1024) }) });
      assert.equal(huge.status, 401);
      assert.equal((await api(server, 'DELETE', '/v1/leaderboards/bad%20id')).status, 401);
    });

    it('answers 401 to bad queries when reads need a key, and accepts ?key=', async () => {
      const guarded = await startServer({ readAuth: true });
      try {
        for (const url of ['/v1/leaderboards?limit=abc', `/v1/leaderboards/${board}/rankings?offset=-1`, '/v1/leaderboards/bad%20id', '/v1/leaderboards/x/participants/p?neighbors=x', '/v1/leaderboards/x/events']) {
          const res = await api(guarded, 'GET', url);
          assert.equal(res.status, 401, url);
          assert.equal(res.body.error.code, 'missing_api_key', url);
        }
        const head = await fetch(`${guarded.url}/v1/leaderboards`, { method: 'HEAD' });
        assert.equal(head.status, 401);
        const withKey = await api(guarded, 'GET', `/v1/leaderboards?limit=abc&key=${guarded.adminKey}`);
        assert.equal(withKey.status, 400);
        assert.equal(withKey.body.error.details.field, 'limit');
        assert.equal((await api(guarded, 'GET', `/v1/leaderboards?key=${guarded.adminKey}`)).status, 200);
        assert.equal((await api(guarded, 'GET', '/v1/leaderboards?key=ldr_wrong')).body.error.code, 'invalid_api_key');
        assert.equal((await api(guarded, 'GET', '/healthz')).status, 200);
      } finally {
        await guarded.close();
      }
    });
  });

  describe('validation messages', () => {
    const ajvPhrases = /must NOT|must be integer|must be (string|number|object|array|boolean|null)\b|must match|must have required property|must be equal to one of|must be >=|must be <=|must have (more|fewer)|additional properties|schema/i;
    const scores = () => `/v1/leaderboards/${board}/scores`;
    const tooManyProperties = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, i]));
    // [method, path, body, field, the whole message or a pattern it matches]
    const cases: () => [string, string, unknown, string, string | RegExp][] = () => [
      ['POST', '/v1/leaderboards', { sort_order: 'desc', operator: 'best' }, 'id', 'id is required'],
      ['POST', '/v1/leaderboards', { id: 'has space', sort_order: 'desc', operator: 'best' }, 'id', 'id must be 1 to 64 characters of A-Z a-z 0-9 _ . ~ -, starting with a letter or digit'],
      ['POST', '/v1/leaderboards', { id: 7, sort_order: 'desc', operator: 'best' }, 'id', /^id must be a string of 1 to 64 characters/],
      ['POST', '/v1/leaderboards', { id: 'ok', name: '', sort_order: 'desc', operator: 'best' }, 'name', 'name must be a string of 1 to 200 characters'],
      ['POST', '/v1/leaderboards', { id: 'ok', name: 'n'.repeat(201), sort_order: 'desc', operator: 'best' }, 'name', 'name must be a string of 1 to 200 characters'],
      ['POST', '/v1/leaderboards', { id: 'ok', sort_order: 'up', operator: 'best' }, 'sort_order', 'sort_order must be one of "desc", "asc"'],
      ['POST', '/v1/leaderboards', { id: 'ok', sort_order: 'desc', operator: 'best', colour: 1 }, 'colour', /^colour is not a known field/],
      ['POST', '/v1/leaderboards', { id: 'ok', sort_order: 'desc', operator: 'best', metadata: 'x' }, 'metadata', 'metadata must be an object of at most 64 fields, or null'],
      ['POST', '/v1/leaderboards', { id: 'ok', sort_order: 'desc', operator: 'best', metadata: tooManyProperties }, 'metadata', 'metadata must be an object of at most 64 fields, or null'],
      ['POST', '/v1/leaderboards', [1], 'body', 'body must be an object'],
      ['POST', scores(), { participant_id: 'p', score: 1.5 }, 'score', 'score must be an integer within ±(2^53−1)'],
      ['POST', scores(), { participant_id: 'p', score: 2 ** 60 }, 'score', 'score must be an integer within ±(2^53−1)'],
      ['POST', scores(), { participant_id: 'p', score: '1' }, 'score', 'score must be an integer within ±(2^53−1)'],
      ['POST', scores(), { participant_id: 'p' }, 'score', 'score is required'],
      ['POST', scores(), { participant_id: 'a/b', score: 1 }, 'participant_id', 'participant_id must be 1 to 128 characters of A-Z a-z 0-9 _ . ~ : @ -'],
      ['POST', scores(), { participant_id: 'p', score: 1, timestamp: -1 }, 'timestamp', 'timestamp must be an integer from 0 to 9007199254740991'],
      ['POST', scores(), { participant_id: 'p', score: 1, timestamp: 'now' }, 'timestamp', 'timestamp must be an integer from 0 to 9007199254740991'],
      ['POST', scores(), { participant_id: 'p', score: 1, event_id: '' }, 'event_id', /^event_id must be 1 to 128 printable ASCII characters/],
      ['POST', scores(), { participant_id: 'p', score: 1, metadata: [1] }, 'metadata', 'metadata must be an object of at most 64 fields, or null'],
      ['POST', scores(), { participant_id: 'p', score: 1, metadata: tooManyProperties }, 'metadata', 'metadata must be an object of at most 64 fields, or null'],
      ['POST', `${scores()}/batch`, { scores: [] }, 'scores', 'scores must hold 1 to 1000 items'],
      ['POST', `${scores()}/batch`, { scores: Array.from({ length: 1001 }, () => ({ participant_id: 'p', score: 1 })) }, 'scores', 'scores must hold 1 to 1000 items'],
      ['POST', `${scores()}/batch`, { scores: 'x' }, 'scores', 'scores must be an array of 1 to 1000 items'],
      ['POST', '/v1/keys', { scope: 'root' }, 'scope', 'scope must be one of "admin", "write", "read"'],
      ['POST', '/v1/keys', { scope: 'read', name: 'n'.repeat(201) }, 'name', 'name must be a string of at most 200 characters'],
      ['GET', '/v1/leaderboards?limit=0', undefined, 'limit', 'limit must be an integer from 1 to 1000'],
      ['GET', '/v1/leaderboards?limit=abc', undefined, 'limit', 'limit must be an integer from 1 to 1000'],
      ['GET', '/v1/leaderboards?offset=1.5', undefined, 'offset', 'offset must be an integer from 0 to 9007199254740991'],
      ['GET', '/v1/leaderboards?offset=-1', undefined, 'offset', 'offset must be an integer from 0 to 9007199254740991'],
      ['GET', '/v1/leaderboards?bogus=1', undefined, 'bogus', /^bogus is not a known parameter; known: limit, offset, key$/],
      ['GET', `/v1/leaderboards/${board}/rankings?limit=1001`, undefined, 'limit', 'limit must be an integer from 1 to 1000'],
      ['GET', `/v1/leaderboards/${board}/rankings?around=a%2Fb`, undefined, 'around', 'around must be 1 to 128 characters of A-Z a-z 0-9 _ . ~ : @ -'],
      ['GET', `/v1/leaderboards/${board}/rankings?participants=`, undefined, 'participants', 'participants must be a string of 1 to 140000 characters'],
      ['GET', `/v1/leaderboards/${board}/rankings?timeout_ms=-5`, undefined, 'timeout_ms', 'timeout_ms must be an integer from 0 to 3600000'],
      ['GET', `/v1/leaderboards/${board}/participants/p?neighbors=101`, undefined, 'neighbors', 'neighbors must be an integer from 0 to 100'],
      ['GET', `/v1/leaderboards/${board}/participants/a%20b`, undefined, 'pid', 'pid must be 1 to 128 characters of A-Z a-z 0-9 _ . ~ : @ -'],
      ['GET', '/v1/leaderboards/-x', undefined, 'id', 'id must be 1 to 64 characters of A-Z a-z 0-9 _ . ~ -, starting with a letter or digit'],
    ];

    it('names the field and its rule in Ladder words, never in Ajv words', async () => {
      for (const [method, path, body, field, message] of cases()) {
        const res = await api(server, method, path, { key, body });
        const label = `${method} ${path} ${JSON.stringify(body)?.slice(0, 80)}: ${JSON.stringify(res.body)}`;
        assert.equal(res.status, 400, label);
        assert.equal(res.body.error.details.field, field, label);
        assert.doesNotMatch(res.body.error.message, ajvPhrases, label);
        if (typeof message === 'string') assert.equal(res.body.error.message, message, label);
        else assert.match(res.body.error.message, message, label);
      }
    });

    it('words batch items the same way', async () => {
      const res = await api(server, 'POST', `${scores()}/batch`, {
        key,
        body: { scores: [{ participant_id: 'p', score: 0.5 }, { score: 1 }, { participant_id: 'p', score: 1, when: 1 }, { participant_id: 'p', score: 1, timestamp: 1.5 }] },
      });
      assert.equal(res.status, 200);
      const messages = res.body.results.map((r: { error: { message: string } }) => r.error.message);
      assert.deepEqual(messages.slice(0, 2), ['scores[0].score must be an integer within ±(2^53−1)', 'scores[1].participant_id is required']);
      assert.match(messages[2], /^scores\[2\]\.when is not a known field; known: participant_id, score, timestamp, event_id, metadata, scope$/);
      assert.equal(messages[3], 'scores[3].timestamp must be an integer from 0 to 9007199254740991');
    });
  });

  describe('empty bodies', () => {
    it('accepts an empty body with a JSON content type on a route that takes no body', async () => {
      const id = boardId();
      await api(server, 'POST', '/v1/leaderboards', { key, body: { id, sort_order: 'desc', operator: 'best' } });
      const res = await api(server, 'DELETE', `/v1/leaderboards/${id}`, { key, raw: '', headers: { 'content-type': 'application/json' } });
      assert.equal(res.status, 204, JSON.stringify(res.body));
      assert.equal((await api(server, 'GET', `/v1/leaderboards/${id}`)).status, 404);
    });

    it('still answers malformed_json to an empty body where the route takes one', async () => {
      for (const path of ['/v1/leaderboards', `/v1/leaderboards/${board}/scores`, `/v1/leaderboards/${board}/scores/batch`, '/v1/keys']) {
        const res = await api(server, 'POST', path, { key, raw: '', headers: { 'content-type': 'application/json' } });
        assert.equal(res.status, 400, path);
        assert.equal(res.body.error.code, 'malformed_json', path);
      }
    });
  });
});
