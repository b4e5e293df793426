// The moderation suite in cluster mode (test/helpers/server.ts): hides reach every member.
import { skipWithoutCluster } from '../helpers/cluster.js';

process.env.LADDER_TEST_CLUSTER = '1';
if ((await skipWithoutCluster('the moderation suite in cluster mode')) === false) await import('../moderation.test.js');
