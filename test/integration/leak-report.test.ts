import { generateKeyPairSync, sign } from 'node:crypto';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { Logger } from '@aws-lambda-powertools/logger';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoKeyTable } from '../../lambda/adapters/dynamodb-key-table';
import { GitHubReportVerifier } from '../../lambda/adapters/github-secret-scanning';
import { SecretsManagerVersionStore } from '../../lambda/adapters/secrets-manager-version-store';
import { keyOperationsOnAws } from '../../lambda/adapters/key-operations-on-aws';
import { generateApiKey, hashApiKey } from '../../lambda/domain/api-key';
import { CacheFlushFailedError } from '../../lambda/domain/errors';
import { PUBLIC_ENDPOINT_LIMITS } from '../../lambda/contracts/public-endpoints';
import { flushAfterRevocation, type AuthorizerStage, type RegionalApiGateway } from '../../lambda/domain/authorizer-cache-flush';
import type { LeakAction, LeakedKeysOutcome } from '../../lambda/domain/leak-reports';
import { SourceBudgets } from '../../lambda/domain/source-budget';
import { createLeakReportHandler } from '../../lambda/handlers/leak-report-handler';
import { createEmergencyHandler } from '../../lambda/handlers/emergency-handler';
import { localDynamoDbClient } from '../../local/dynalite-server';
import { FaultInjector } from '../../proof/faults';
import { useDynalite } from '../support/dynamodb';
import { CLIENT_TOPIC_ARN, OPERATIONS_TOPIC_ARN } from '../support/rotation-fixture';
import { RotationHarness } from '../support/rotation-harness';

/**
 * The GitHub secret scanning partner endpoint on the real adapters (the key table on dynalite, Secrets Manager as
 * the model): reports signed with a generated P-256 key standing in for GitHub's published one; no network.
 */

const secretsManager = mockClient(SecretsManagerClient);
const sns = mockClient(SNSClient);
const dynamo = useDynalite();
const github = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const KEY_ID = 'bcb53661c06b4728e59d897fb6165d5c9cda0fd9cdf9d09ead458168deb7518c';
const keyFetches: number[] = [];
const publishedKeys = async () => {
  keyFetches.push(1);
  return { keys: [{ key_identifier: KEY_ID, key: github.publicKey.export({ type: 'spki', format: 'pem' }).toString(), is_current: true }] };
};

function signedRequest(body: string, options: { keyId?: string; signWith?: typeof github.privateKey; signature?: string } = {}) {
  const signature = options.signature ?? sign('sha256', Buffer.from(body), options.signWith ?? github.privateKey).toString('base64');
  return {
    version: '2.0',
    rawPath: '/',
    requestContext: { http: { method: 'POST', path: '/', sourceIp: '192.0.2.10' } },
    headers: { 'content-type': 'application/json', 'github-public-key-identifier': options.keyId ?? KEY_ID, 'github-public-key-signature': signature },
    body,
    isBase64Encoded: false,
  };
}

/** API Gateway in the install's region, as a record of what happened to it: each sleep, each listing, each flush. */
class RecordedGateway implements RegionalApiGateway {
  readonly region = 'eu-west-1';
  readonly events: string[] = [];
  failWith: Error | undefined;
  sleep = async (ms: number) => void this.events.push(`sleep ${ms}`);
  discoverStages = async (): Promise<AuthorizerStage[]> => {
    this.events.push('list');
    return [{ kind: 'rest', apiId: 'abc123', stageName: 'prod' }];
  };
  flushStage = async (stage: AuthorizerStage) => {
    this.events.push(`flush ${stage.apiId}/${stage.stageName}`);
    if (this.failWith !== undefined) throw this.failWith;
    return true;
  };
}

async function endpoint(action: LeakAction, options: { syncFlushMs?: number } = {}) {
  const faults = new FaultInjector();
  secretsManager.reset();
  sns.reset();
  const tableName = await dynamo.newTable();
  const h = new RotationHarness({ secretsManager, sns, dynamodbEndpoint: dynamo.endpoint(), tableName, faults });
  const acme = await h.newClient('acme');
  await h.rotate(acme, { token: 'a1' });
  const table = new DynamoKeyTable(localDynamoDbClient(dynamo.endpoint()), tableName);
  const secrets = new SecretsManagerVersionStore(new SecretsManagerClient({}));
  const logLines: string[] = [];
  const logger = new Logger({ serviceName: 'keyroll-leak-report-test', logLevel: 'INFO' });
  const gateway = new RecordedGateway();
  // The real emergency handler behind the report endpoint, in place of the Lambda invoke between them.
  const emergency = createEmergencyHandler({
    leakedKeys: {
      keys: table,
      operations: keyOperationsOnAws({
        dynamodb: localDynamoDbClient(dynamo.endpoint()),
        keyTableName: tableName,
        secretsManager: new SecretsManagerClient({}),
        sns: new SNSClient({}),
        install: { clientTopicArn: CLIENT_TOPIC_ARN, operationsTopicArn: OPERATIONS_TOPIC_ARN, secretNamePrefix: 'keyroll/clients/', defaultGracePeriodSeconds: 3600 },
        clock: h.clock.now,
      }),
      rotation: secrets,
      secretNamePrefix: 'keyroll/clients/',
      action,
      clock: () => h.clock.nowMs,
    },
    flush: (revocation, deadlineMs) =>
      flushAfterRevocation([{ gateway, home: true }], revocation, { revocationPollMs: 1_000, directory: table, clock: () => h.clock.nowMs, sleep: gateway.sleep, ...(deadlineMs === undefined ? {} : { deadlineMs }) }),
    syncFlushMs: options.syncFlushMs ?? 10_000,
    clock: () => h.clock.nowMs,
    logger,
  });
  const flushesLater: Promise<unknown>[] = [];
  const handler = createLeakReportHandler({
    verifier: new GitHubReportVerifier(publishedKeys),
    revoker: {
      endLeakedKeys: async (keys) => JSON.parse(JSON.stringify(await emergency(JSON.parse(JSON.stringify({ leakedKeys: keys }))))) as LeakedKeysOutcome,
      flushLater: async (flush) => void flushesLater.push(emergency(JSON.parse(JSON.stringify({ flushAfterRevocation: flush })))),
    },
    keyPrefix: 'kr',
    sources: new SourceBudgets(PUBLIC_ENDPOINT_LIMITS.leakReports.perSource),
    clock: () => h.clock.nowMs,
    logger,
  });
  /** Runs `work` with the functions' log lines kept in `logLines` instead of the test output. */
  const capturingLogs = async <T>(work: () => Promise<T>): Promise<T> => {
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (logLines.push(String(chunk)), true));
    const writeErr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (logLines.push(String(chunk)), true));
    try {
      return await work();
    } finally {
      write.mockRestore();
      writeErr.mockRestore();
    }
  };
  const call = (event: unknown) =>
    capturingLogs(async () => {
      const response = await handler(event);
      return { status: response.statusCode, body: JSON.parse(response.body) as unknown };
    });
  return { h, acme, table, call, capturingLogs, logLines, gateway, flushesLater, faults };
}

const report = (...tokens: string[]) => JSON.stringify(tokens.map((token) => ({ token, type: 'keyroll_api_key', url: 'https://github.com/octocat/app/blob/abc/config.js', source: 'content' })));

describe('Leaked key reports (GitHub secret scanning)', () => {
  it('revokes a reported key, rotates its client, tells it and operations, and answers with hashes only', async () => {
    const { h, acme, table, call, logLines, gateway } = await endpoint('rotate');
    const leaked = h.keyOf(acme, 'a1');
    const unknown = generateApiKey();
    const { status, body } = await call(signedRequest(report(leaked, unknown)));
    expect(status).toBe(200);
    expect(body).toEqual([
      { token_hash: hashApiKey(leaked), token_type: 'keyroll_api_key', label: 'true_positive' },
      { token_hash: hashApiKey(unknown), token_type: 'keyroll_api_key', label: 'false_positive' },
    ]);
    expect(await table.findByHash(hashApiKey(leaked))).toMatchObject({ revokedReason: 'leaked: reported by GitHub secret scanning (content)' });
    expect(await h.verify(leaked)).toMatchObject({ status: 'revoked' });
    expect(h.model.rotationInProgress(acme)).toBeDefined();
    expect(h.published.filter((n) => n.type === 'key.revoked').map((n) => n.versionId)).toEqual(['a1']);
    expect(h.operations.filter((n) => n.type === 'key.revoked').map((n) => n.versionId)).toEqual(['a1']);
    expect((await table.trail('acme', 0)).filter((e) => e.kind === 'operator')).toEqual([expect.objectContaining({ what: 'key.revoke', actor: 'github-secret-scanning' })]);
    const logged = logLines.join('');
    expect(logged).toContain('"message":"leak report handled"');
    expect(logged).toContain('"revoked":1');
    expect(logged).toContain('"flushed":["rest:abc123/prod"]');
    // API Gateway's cached answers go once every authorizer container has read the revocation (poll + margin);
    // the region's stages are listed the first time, and remembered for the next emergency.
    expect(gateway.events).toEqual(['sleep 1500', 'list', 'flush abc123/prod']);
    expect((await table.rememberedStages('eu-west-1'))?.stages).toEqual([{ kind: 'rest', apiId: 'abc123', stageName: 'prod' }]);
    for (const secret of [leaked, unknown, hashApiKey(leaked), 'octocat']) expect(logged).not.toContain(secret);
  });

  it('changes nothing on a replayed report', async () => {
    const { h, acme, table, call, gateway } = await endpoint('revoke');
    const request = signedRequest(report(h.keyOf(acme, 'a1')));
    await call(request);
    const first = await table.findByHash(hashApiKey(h.keyOf(acme, 'a1')));
    h.clock.advance(60_000);
    expect((await call(request)).status).toBe(200);
    expect(await table.findByHash(hashApiKey(h.keyOf(acme, 'a1')))).toEqual(first);
    expect((await table.trail('acme', 0)).filter((e) => e.kind === 'operator')).toHaveLength(1);
    expect(h.published.filter((n) => n.type === 'key.revoked')).toHaveLength(1);
    // Within the hour API Gateway may cache an answer, a replayed report flushes again (an earlier flush may have failed).
    expect(gateway.events.filter((e) => e.startsWith('flush'))).toHaveLength(2);
  });

  it('keeps the key revoked and answers GitHub when the cache flush fails, and logs that operations must flush by hand', async () => {
    const { h, acme, table, call, logLines, gateway } = await endpoint('revoke');
    gateway.failWith = Object.assign(new Error('User is not authorized to perform: apigateway:GET'), { name: 'AccessDeniedException' });
    const { status, body } = await call(signedRequest(report(h.keyOf(acme, 'a1'))));
    expect(status).toBe(200);
    expect(body).toEqual([expect.objectContaining({ label: 'true_positive' })]);
    expect(await table.findByHash(hashApiKey(h.keyOf(acme, 'a1')))).toMatchObject({ revokedAtMs: expect.any(Number) });
    const logged = logLines.join('');
    expect(logged).toContain('"level":"ERROR"');
    expect(logged).toContain('flush them by hand');
    expect(logged).toContain('AccessDeniedException: User is not authorized to perform: apigateway:GET');
    expect(logged).toContain('aws apigateway flush-stage-authorizers-cache --region eu-west-1 --rest-api-id abc123 --stage-name prod');
    expect(logged).not.toContain(h.keyOf(acme, 'a1'));
  });

  it('repairs on GitHub\'s retry what failed the first time: a key revoked whose client was not rotated', async () => {
    const { h, acme, call, faults } = await endpoint('rotate');
    const leaked = h.keyOf(acme, 'a1');
    faults.schedule([{ service: 'secretsmanager', operation: 'RotateSecret', callIndex: 0, timing: 'before' }]);
    // The first attempt revokes the key, then fails to rotate: the report fails, and GitHub sends it again.
    await expect(call(signedRequest(report(leaked)))).rejects.toThrow('injected: secretsmanager RotateSecret throttled');
    expect(await h.verify(leaked)).toMatchObject({ status: 'revoked' });
    expect(h.model.rotationInProgress(acme)).toBeUndefined();
    const retry = await call(signedRequest(report(leaked)));
    expect(retry.status).toBe(200);
    expect(h.model.rotationInProgress(acme)).toBeDefined();
    expect(h.published.filter((n) => n.type === 'key.revoked')).toHaveLength(1);
  });

  it('repairs on GitHub\'s retry a revocation nobody was told about, telling the client and operations once', async () => {
    const { h, acme, call, faults } = await endpoint('revoke');
    const leaked = h.keyOf(acme, 'a1');
    faults.schedule([{ service: 'sns', callIndex: 0, timing: 'before' }]);
    await expect(call(signedRequest(report(leaked)))).rejects.toThrow('injected: sns Publish throttled');
    expect(await h.verify(leaked)).toMatchObject({ status: 'revoked' });
    expect((await call(signedRequest(report(leaked)))).status).toBe(200);
    expect((await call(signedRequest(report(leaked)))).status).toBe(200);
    expect(h.published.filter((n) => n.type === 'key.revoked').map((n) => n.versionId)).toEqual(['a1']);
    expect(h.operations.filter((n) => n.type === 'key.revoked').map((n) => n.versionId)).toEqual(['a1']);
  });

  it('answers GitHub before a long flush ends: the rest is an asynchronous call, which fails (and is retried) while a stage is not flushed', async () => {
    const { h, acme, call, capturingLogs, gateway, flushesLater } = await endpoint('revoke', { syncFlushMs: 0 });
    const { status } = await call(signedRequest(report(h.keyOf(acme, 'a1'))));
    expect(status).toBe(200);
    expect(gateway.events.filter((e) => e.startsWith('flush'))).toEqual([]);
    expect(flushesLater).toHaveLength(1);
    gateway.failWith = Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' });
    await expect(capturingLogs(() => flushesLater[0] ?? Promise.resolve())).rejects.toThrow(CacheFlushFailedError);
    gateway.failWith = undefined;
    await expect(call(signedRequest(report(h.keyOf(acme, 'a1'))))).resolves.toMatchObject({ status: 200 });
    await capturingLogs(() => flushesLater[1] ?? Promise.resolve());
    expect(gateway.events.filter((e) => e.startsWith('flush'))).toEqual(['flush abc123/prod', 'flush abc123/prod']);
  });

  it('handles a report of 1,000 matches in one call, revoking the one keyroll issued', async () => {
    const { h, acme, call } = await endpoint('revoke');
    const leaked = h.keyOf(acme, 'a1');
    const tokens = [...Array.from({ length: 999 }, () => generateApiKey()), leaked];
    const { status, body } = await call(signedRequest(report(...tokens)));
    expect(status).toBe(200);
    expect((body as { label: string }[]).map((feedback) => feedback.label).filter((label) => label === 'true_positive')).toHaveLength(1);
    expect((body as unknown[]).length).toBe(1_000);
    expect(await h.verify(leaked)).toMatchObject({ status: 'revoked' });
  });

  it('revokes a reported key that was already replaced, and leaves its client\'s current key alone (no rotation)', async () => {
    const { h, acme, call } = await endpoint('rotate');
    await h.rotate(acme, { token: 'a2' });
    h.clock.advance(2 * 3600_000); // a1's grace has ended
    const { status } = await call(signedRequest(report(h.keyOf(acme, 'a1'))));
    expect(status).toBe(200);
    expect(await h.verify(h.keyOf(acme, 'a1'))).toMatchObject({ status: 'revoked' });
    expect(h.model.rotationInProgress(acme)).toBeUndefined();
    expect(await h.verify(h.keyOf(acme, 'a2'))).toMatchObject({ status: 'valid' });
  });

  it.each<[string, (body: string) => unknown]>([
    ['a forged body', (body) => ({ ...signedRequest(body), body: body.replace('content', 'commit') })],
    ['a signature by another key', (body) => signedRequest(body, { signWith: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey })],
    ['a key GitHub does not publish', (body) => signedRequest(body, { keyId: 'f'.repeat(64) })],
    ['no signature', (body) => signedRequest(body, { signature: '' })],
    ['a signature that is not DER', (body) => signedRequest(body, { signature: 'bm90IGEgc2lnbmF0dXJl' })],
    ['a signed body that is not JSON', () => signedRequest('token=kr_x')],
    ['a signed body that is not a list of matches', () => signedRequest('{"token":"x"}')],
  ])('rejects %s with 401 and revokes nothing', async (_name, forge) => {
    const { h, acme, table, call, logLines } = await endpoint('rotate');
    const { status, body } = await call(forge(report(h.keyOf(acme, 'a1'))));
    expect(status).toBe(401);
    expect(logLines.join('')).toContain('"message":"leak report rejected"');
    expect(logLines.join('')).not.toContain(h.keyOf(acme, 'a1'));
    // One body whatever the check that failed.
    expect(body).toEqual({ error: 'rejected', message: 'This is not a secret scanning report signed by a key GitHub publishes.' });
    expect(await table.findByHash(hashApiKey(h.keyOf(acme, 'a1')))).toMatchObject({ versionId: 'a1', revokedAtMs: undefined });
    expect(h.model.rotationInProgress(acme)).toBeUndefined();
  });

  it('answers 404 to anything but a POST', async () => {
    const { call } = await endpoint('revoke');
    expect((await call({ version: '2.0', requestContext: { http: { method: 'GET' } }, headers: {} })).status).toBe(404);
  });
});
