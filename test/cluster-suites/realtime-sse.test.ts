// The realtime-sse suite against a two-member cluster behind a round-robin proxy (test/helpers/server.ts).
import { skipWithoutCluster } from '../helpers/cluster.js';

process.env.LADDER_TEST_CLUSTER = '1';
if ((await skipWithoutCluster('the realtime-sse suite in cluster mode')) === false) await import('../realtime-sse.test.js');
