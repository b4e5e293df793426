import { startServer, api } from './helpers/server.js';
import { ManualClock } from '../src/service/clock.js';
import { periodAt } from '../src/core/periods.js';
const clock = new ManualClock(Date.UTC(2031, 4, 14, 12));
const server = await startServer({ logLevel: 'error' }, { clock });
await api(server, 'POST', '/v1/leaderboards', { key: server.adminKey, body: { id: 'x', sort_order: 'desc', operator: 'increment', reset: 'daily', keep_all_time: true } });
try { console.log(await server.ladder.submit('x', { participantId: 'a', score: 1 })); } catch (e) { console.log(e); }
clock.set(periodAt('daily', clock.now()).end + 1000);
await server.ladder.lifecycle.runDue();
try { console.log(await server.ladder.submit('x', { participantId: 'a', score: 1 })); } catch (e) { console.log(e); }
console.log(await server.ladder.rankings('x', { limit: 10, offset: 0, period: 'all' }));
await server.close();
