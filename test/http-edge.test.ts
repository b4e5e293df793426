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

/**
 * Writes `request` as is to a new connection (then half-closes it when
 * `end`), and reads one response until the server closes the connection.
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
      const text = Buffer.concat(chunks).toString();
      const split = text.indexOf('\r\n\r\n');
      const [statusLine = '', ...lines] = text.slice(0, split).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      let body: unknown = text.slice(split + 4);
      try {
        body = JSON.parse(body as string);
      } catch {
        // Left as text, so that the assertion shows it.
      }
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine)?.[1] ?? 0), headers, body });
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
      assert.deepEqual(res.body, { status: 'ok' });
    });
  });
});
