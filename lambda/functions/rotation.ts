/**
 * The rotation Lambda's entry point: configuration, clients and wiring, once per container. A missing or
 * bad environment variable fails the cold start with an error that names it.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoKeyTable } from '../adapters/dynamodb-key-table';
import { HttpEndpointProbe } from '../adapters/http-endpoint-probe';
import { SecretsManagerVersionStore } from '../adapters/secrets-manager-version-store';
import { SnsNotifier } from '../adapters/sns-notifier';
import { readRotationConfig } from '../config/rotation-config';
import { generateApiKey } from '../domain/api-key';
import { KeyRotation } from '../domain/rotation';
import { createRotationHandler } from '../handlers/rotation-handler';
import { ROTATION_METRICS, ROTATION_SERVICE } from '../contracts/metrics';
import { knownKeyPropagationMs } from '../contracts/known-keys';
import { setTimeout } from 'node:timers/promises';

/** How often a waiting step reads a replica that has not caught up. */
const REPLICA_POLL_MS = 250;

const config = readRotationConfig(process.env);
const clientOptions = { requestHandler: { connectionTimeout: 2_000, requestTimeout: 10_000 } };
const keyTable = new DynamoKeyTable(new DynamoDBClient(clientOptions), config.keyTableName);
const sns = new SNSClient(clientOptions);
// One client per replica region, created once per container: the replica wait reads each region's own table.
const replicaTables = new Map(config.replicaRegions.map((region) => [region, new DynamoKeyTable(new DynamoDBClient({ ...clientOptions, region }), config.keyTableName)]));

const metrics = new Metrics({ namespace: config.metricsNamespace, serviceName: ROTATION_SERVICE });

export const handler = createRotationHandler({
  logger: new Logger({ serviceName: ROTATION_SERVICE }),
  countRefusal: () => {
    metrics.addMetric(ROTATION_METRICS.refused, MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
  },
  rotation: new KeyRotation({
    secrets: new SecretsManagerVersionStore(new SecretsManagerClient(clientOptions)),
    keys: keyTable,
    registry: keyTable,
    issued: keyTable,
    events: keyTable,
    notifier: new SnsNotifier(sns, config.clientTopicArn),
    operationsNotifier: config.operationsTopicArn === undefined ? undefined : new SnsNotifier(sns, config.operationsTopicArn),
    probe: config.probeUrl === undefined ? undefined : new HttpEndpointProbe(config.probeUrl, config.apiKeyHeader, config.probeTimeoutMs),
    clock: Date.now,
    generateKey: () => generateApiKey(config.keyPrefix),
    keyPrefix: config.keyPrefix,
    defaultGracePeriodSeconds: config.gracePeriodSeconds,
    knownKeys: { index: keyTable, propagationMs: knownKeyPropagationMs(config.knownKeysWindowMs), sleep: (ms: number) => setTimeout(ms) },
    ...(replicaTables.size === 0
      ? {}
      : {
          replicas: {
            tables: {
              regions: config.replicaRegions,
              findByHash: (region: string, keyHash: string) => replicaTables.get(region)?.findByHash(keyHash) ?? Promise.resolve(undefined),
              knownKeyAdded: (region: string, keyHash: string, registeredAtMs: number) => replicaTables.get(region)?.knownKeyAdded(keyHash, registeredAtMs) ?? Promise.resolve(false),
            },
            wait: { boundMs: config.replicaWaitSeconds * 1000, pollMs: REPLICA_POLL_MS, clock: Date.now, sleep: (ms: number) => setTimeout(ms) },
            exclusions: keyTable,
          },
        }),
  }),
});
