// The scopes and all-time suite against a two-member cluster behind a round-robin proxy (test/helpers/server.ts).
import { skipWithoutCluster } from '../helpers/cluster.js';

process.env.LADDER_TEST_CLUSTER = '1';
if ((await skipWithoutCluster('the scopes suite in cluster mode')) === false) await import('../scopes.test.js');
