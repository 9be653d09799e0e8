import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort, PrivateRedisServer } from '../../../test/support/redis-server.js';
import { RedisStore } from '../src/kv/redis.js';
import { RedisChannel } from '../src/pubsub/redis.js';
import { makeTempDir } from './helpers/temp-dir.js';
import { describeKeyValueStoreConformance } from './kv/conformance.js';
import { describeChannelConformance } from './pubsub/conformance.js';

// The conformance suites again, on a real Sentinel setup and a real three-node Cluster, each made
// of private redis-server processes on free ports and torn down afterwards.

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Topology {
  readonly options: ConstructorParameters<typeof RedisStore>[0];
  stop(): Promise<void>;
}

async function startSentinel(): Promise<Topology> {
  const dir = await makeTempDir('sentinel');
  const master = new PrivateRedisServer(await freePort());
  await master.start();
  const sentinelPort = await freePort();
  const config = join(dir.path, 'sentinel.conf');
  // Sentinel rewrites its config file, so it lives in the temp dir.
  await writeFile(config, `sentinel monitor tessera-test 127.0.0.1 ${master.port} 1\n`);
  const sentinel = new PrivateRedisServer(sentinelPort, {
    leadingArgs: [config, '--sentinel'],
    readyWhen: '+monitor master',
  });
  await sentinel.start();
  return {
    options: { redis: { sentinels: [{ host: '127.0.0.1', port: sentinelPort }], name: 'tessera-test' } },
    stop: async () => {
      await sentinel.kill();
      await master.kill();
      await dir.remove();
    },
  };
}

async function startCluster(): Promise<Topology> {
  const dir = await makeTempDir('cluster');
  const nodes: PrivateRedisServer[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const node = new PrivateRedisServer(port, {
      extraArgs: [
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir.path, `nodes-${port}.conf`),
        '--cluster-node-timeout',
        '2000',
        '--dir',
        dir.path,
      ],
    });
    await node.start();
    nodes.push(node);
  }
  const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
  await promisify(execFile)('redis-cli', [
    '--cluster',
    'create',
    ...addresses,
    '--cluster-replicas',
    '0',
    '--cluster-yes',
  ]);
  // Wait until every node agrees the cluster is up.
  for (const node of nodes) {
    const client = new Redis({ host: '127.0.0.1', port: node.port });
    try {
      for (let i = 0; i < 200 && !String(await client.cluster('INFO')).includes('cluster_state:ok'); i++) {
        await sleep(50);
      }
    } finally {
      client.disconnect();
    }
  }
  return {
    options: { cluster: { nodes: nodes.map((node) => ({ host: '127.0.0.1', port: node.port })) } },
    stop: async () => {
      for (const node of nodes) await node.kill();
      await dir.remove();
    },
  };
}

for (const [name, start] of [
  ['Sentinel', startSentinel],
  ['Cluster', startCluster],
] as const) {
  describeKeyValueStoreConformance(`RedisStore on ${name}`, async () => {
    const topology = await start();
    return {
      open: (prefix) => new RedisStore({ ...topology.options, prefix }),
      advance: sleep,
      cleanup: topology.stop,
    };
  });

  describeChannelConformance(`RedisChannel on ${name}`, async () => {
    const topology = await start();
    return {
      open: (options) => new RedisChannel({ ...topology.options, ...options }),
      cleanup: topology.stop,
    };
  });
}
