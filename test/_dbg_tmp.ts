import { startServer, boardId } from './helpers/server.js';
import { LadderClient } from '../src/client/index.js';
const server = await startServer({ readAuth: true, longPollMaxMs: Number(process.env.LP ?? 30000) });
const admin = new LadderClient({ baseUrl: server.url, apiKey: server.adminKey });
const id = boardId('x');
await admin.createBoard({ id, sort_order: 'desc', operator: 'best' });
await admin.submitScore(id, { participant_id: 'a', score: 1 });
for (const key of process.argv.slice(2)) {
  const client = new LadderClient({ baseUrl: server.url, apiKey: key === 'key' ? server.adminKey : undefined, transports: ['poll'], backoff: { baseMs: 20, maxMs: 200 } });
  let done = false;
  client.subscribe(id, { top: 3 }, () => (done = true), { onError: (e) => { console.log('error', e.code); done = true; } });
  while (!done) await new Promise((r) => setTimeout(r, 10));
  client.close();
}
await new Promise((r) => setTimeout(r, Number(process.env.WAIT ?? 0)));
for (const h of (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles()) {
  const sock = h as { constructor: { name: string }; localPort?: number; remotePort?: number; readyState?: string; _httpMessage?: unknown; pending?: boolean; destroyed?: boolean };
  if (sock.constructor.name === 'Socket') console.log('socket', sock.localPort, '->', sock.remotePort, sock.readyState, sock.destroyed);
}
const t = Date.now();
await server.close();
console.log(process.argv.slice(2), 'close took', Date.now() - t);
