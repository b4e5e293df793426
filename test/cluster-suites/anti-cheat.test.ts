// The anti-cheat rules and rate limits suite in cluster mode (test/helpers/server.ts): the windows live in Redis.
import { skipWithoutCluster } from '../helpers/cluster.js';

process.env.LADDER_TEST_CLUSTER = '1';
if ((await skipWithoutCluster('the anti-cheat rules and rate limits suite in cluster mode')) === false) await import('../anti-cheat.test.js');
