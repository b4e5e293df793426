// The rate limits suite in cluster mode (test/helpers/server.ts): two members behind a round-robin proxy share their counters in Redis.
import { skipWithoutCluster } from '../helpers/cluster.js';

process.env.LADDER_TEST_CLUSTER = '1';
if ((await skipWithoutCluster('the rate limits suite in cluster mode')) === false) await import('../rate-limits.test.js');
