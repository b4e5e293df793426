/**
 * Requests that never reach a route because they are not valid HTTP/1.1:
 * those Node's parser refuses (its `clientError`), and HTTP/1.1 requests
 * without a Host header. Both get the API's error shape and a closed
 * connection, since nothing after a broken request can be trusted to be
 * where the next one starts.
 */
import { maxHeaderSize, STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionError, FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import { LadderError } from '../core/errors.js';

const NOT_HTTP = 'the request could not be parsed as HTTP/1.1';
/** How long a refused connection may stay open for the client to read the answer. */
const LINGER_MS = 1000;

/** llhttp's reasons that do not say what is wrong by themselves; the others are quoted as they are. */
const problems: Record<string, string> = {
  HPE_INVALID_METHOD: 'the method is not valid (methods are upper case, such as GET; bytes past the Content-Length of a body are read as the next request)',
  HPE_INVALID_EOF_STATE: 'the connection ended before the request was complete (is Content-Length larger than the body?)',
};

/** Node's socket, with the response it is writing, if any (the same internal field Node's own clientError answer checks). */
type HttpSocket = Socket & { _httpMessage?: ServerResponse | null };

function rawResponse(status: number, body: string): string {
  const head = [`HTTP/1.1 ${status} ${STATUS_CODES[status]}`, 'Content-Type: application/json; charset=utf-8', `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close'];
  return `${head.join('\r\n')}\r\n\r\n${body}`;
}

function headerLimit(): string {
  return maxHeaderSize % 1024 === 0 ? `${maxHeaderSize / 1024} KiB` : `${maxHeaderSize} bytes`;
}

function parserError(err: ConnectionError & { reason?: string }): LadderError {
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    return new LadderError('headers_too_large', `the request line and headers exceed ${headerLimit()}`, { limit_bytes: maxHeaderSize });
  }
  return new LadderError('invalid_request', `${NOT_HTTP}: ${problems[err.code] ?? err.reason ?? err.message}`);
}

/** Fastify's `clientErrorHandler`: writes the answer straight to the socket, because there is no request to reply to. */
export function clientErrorHandler(log: FastifyBaseLogger): (err: ConnectionError, socket: Socket) => void {
  // Node reports the parser's error again for every later chunk of the connection.
  const answered = new WeakSet<Socket>();
  return (err, socket) => {
    if (socket.destroyed || answered.has(socket)) return;
    answered.add(socket);
    let response: string | null = null;
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      // The catalogue has no code for it; Node's own answer, with the connection closed.
      response = `HTTP/1.1 408 ${STATUS_CODES[408]}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`;
    } else if (err.code?.startsWith('HPE_')) {
      const error = parserError(err);
      // Without err itself: its rawPacket is the whole refused input.
      log.debug({ code: err.code, bytesParsed: err.bytesParsed }, `request refused: ${error.message}`);
      response = rawResponse(error.status, JSON.stringify(error.toBody()));
    }
    // Like Node: never write into a response whose head has gone out already.
    const inFlight = (socket as HttpSocket)._httpMessage;
    if (response !== null && socket.writable && !inFlight?.headersSent) socket.end(response);
    else socket.destroy();
    // Ending (not destroying) lets the answer reach a client that is still sending; then the connection goes.
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  };
}

/** An onRequest hook: Node's own Host check is off (`requireHostHeader: false`), because it answers with an empty body. */
export async function requireHost(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const { httpVersionMajor, httpVersionMinor, headers } = request.raw;
  if (httpVersionMajor === 1 && httpVersionMinor === 1 && headers.host === undefined) {
    void reply.header('connection', 'close');
    throw new LadderError('invalid_request', `${NOT_HTTP}: it has no Host header, which HTTP/1.1 requires`);
  }
}
