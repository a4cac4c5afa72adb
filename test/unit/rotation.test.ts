import { attributeKey, KEY_TABLE_KEYS } from '../../lambda/adapters/key-table-schema';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { PutSecretValueCommand, SecretsManagerClient, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { keyVersionItem } from '../../lambda/adapters/dynamodb-key-table';
import { displayKey, generateApiKey, hashApiKey, parseApiKey, type ApiKey } from '../../lambda/domain/api-key';
import { KeyConflictError, KeyVerificationError, RotationRefusedError } from '../../lambda/domain/errors';
import type { KeyVersion } from '../../lambda/domain/key-version';
import { notificationEventId } from '../../lambda/domain/notifications';
import type { EndpointProbe } from '../../lambda/domain/ports';
import type { RotationStep } from '../../lambda/domain/rotation';
import { SecretsManagerModel } from '../../local/secrets-manager-model';
import { InjectedFaultError } from '../../proof/faults';
import { buildRotation, CLIENT_TOPIC_ARN, HOUR_MS, OPERATIONS_TOPIC_ARN, hashOf, keyOf, stagesOf, TestClock } from '../support/rotation-fixture';
import { createClientSecret as createSecretOnly, serveSecretsManagerFromModel } from '../support/secrets-manager';
import { InMemoryKeyTable } from '../../proof/in-memory-key-table';

/** A client's secret, registered (with these settings) as the construct or the CLI registers one. */
function createClientSecret(secrets: SecretsManagerModel, options: Parameters<typeof createSecretOnly>[1]): string {
  const arn = createSecretOnly(secrets, { ...options, tags: undefined });
  void clients.registerClient({ clientId: options.clientId, secretArn: arn, settings: options.tags ?? {}, registeredAtMs: 0, registeredBy: 'test' });
  return arn;
}

const secretsManager = mockClient(SecretsManagerClient);
const dynamodb = mockClient(DynamoDBClient);
const sns = mockClient(SNSClient);

let model: SecretsManagerModel;
let clock: TestClock;
/** The install's client registrations and issued keys (the rules are the DynamoDB adapter's, checked elsewhere). */
let clients: InMemoryKeyTable;

beforeEach(() => {
  secretsManager.reset();
  dynamodb.reset();
  sns.reset();
  model = new SecretsManagerModel();
  clock = new TestClock();
  clients = new InMemoryKeyTable();
  serveSecretsManagerFromModel(secretsManager, model);
  dynamodb.onAnyCommand().rejects(new Error('unmocked DynamoDB command'));
  sns.onAnyCommand().rejects(new Error('unmocked SNS command'));
});

/** A managed secret whose AWSCURRENT version `v1` holds a key, and a rotation to `v2` started. */
function givenRotationStarted(options: { tags?: Record<string, string> } = {}) {
  const currentKey = generateApiKey();
  const arn = createClientSecret(model, {
    clientId: 'acme',
    value: JSON.stringify({ clientId: 'acme', apiKey: currentKey, baseUrl: 'https://api.example.com' }),
    firstVersionId: 'v1',
    tags: options.tags,
  });
  model.rotateSecret({ SecretId: arn, ClientRequestToken: 'v2' });
  const rotationToken = model.rotationInProgress(arn)?.rotationToken;
  return { arn, currentKey: currentKey as ApiKey, rotationToken };
}

function registered(key: ApiKey, overrides: Partial<KeyVersion> = {}): KeyVersion {
  return {
    keyHash: hashApiKey(key),
    clientId: 'acme',
    versionId: 'v2',
    keyDisplay: displayKey(key),
    scopes: [],
    notBeforeMs: clock.nowMs - 1000,
    ...overrides,
  };
}

function keyVersionKey(keyHash: string): Record<string, AttributeValue> {
  return attributeKey(KEY_TABLE_KEYS.keyVersion(keyHash));
}

/** Serves GetItem for these key versions and answers UpdateItem with the item as it would become. */
function tableHolds(...versions: KeyVersion[]): void {
  dynamodb.on(GetItemCommand).resolves({});
  for (const version of versions) {
    dynamodb.on(GetItemCommand, { Key: keyVersionKey(version.keyHash) }).resolves({ Item: keyVersionItem(version) });
    dynamodb.on(UpdateItemCommand, { Key: keyVersionKey(version.keyHash) }).callsFake((input) => {
      const values: Record<string, AttributeValue> = input.ExpressionAttributeValues ?? {};
      const notAfter = values[':notAfter']?.N;
      const at = values[':at']?.N;
      const next: KeyVersion = {
        ...version,
        ...(notAfter === undefined ? {} : { notAfterMs: Number(notAfter) }),
        ...(at !== undefined && String(input.UpdateExpression).includes('currentSinceMs') ? { currentSinceMs: Number(at) } : {}),
        ...(at !== undefined && String(input.UpdateExpression).includes('revokedAtMs') ? { revokedAtMs: Number(at) } : {}),
      };
      return { Attributes: keyVersionItem(next) };
    });
  }
}

function allowEventRecording(): void {
  dynamodb.on(PutItemCommand).resolves({});
  dynamodb.on(UpdateItemCommand, { UpdateExpression: 'SET publishedAtMs = if_not_exists(publishedAtMs, :at)' }).resolves({});
  sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
}

/** No key version was written. (A failed step records its `rotation.failed` event; that is no key.) */
function expectNoKeyVersionWrites(): void {
  const written = [
    ...dynamodb.commandCalls(PutItemCommand).map((call) => call.args[0].input.Item?.['pk']?.S),
    ...dynamodb.commandCalls(UpdateItemCommand).map((call) => call.args[0].input.Key?.['pk']?.S),
  ];
  expect(written.filter((pk) => pk?.startsWith(KEY_TABLE_KEYS.keyVersionPrefix))).toEqual([]);
}

describe('Rotation guard', () => {
  it('refuses a secret that does not have rotation enabled, before touching anything', async () => {
    const { ARN } = model.createSecret({ Name: 'plain', SecretString: '{"clientId":"acme"}', Tags: [{ Key: 'keyroll:clientId', Value: 'acme' }] });
    const { rotation } = buildRotation({ clock, registry: clients, issued: clients });
    await expect(rotation.runStep({ step: 'createSecret', secretId: ARN ?? '', token: 't' })).rejects.toThrow(/does not have rotation enabled/);
    expect(secretsManager).not.toHaveReceivedCommand(PutSecretValueCommand);
    expect(dynamodb.calls()).toHaveLength(0);
  });

  it('refuses a secret keyroll does not manage (no keyroll:clientId tag)', async () => {
    const { ARN } = model.createSecret({ Name: 'someone-elses', SecretString: '{"password":"x"}' });
    model.rotateSecret({ SecretId: ARN, RotationLambdaARN: 'arn:aws:lambda:eu-west-1:1:function:f', ClientRequestToken: 't' });
    const { rotation } = buildRotation({ clock, registry: clients, issued: clients });
    await expect(rotation.runStep({ step: 'createSecret', secretId: ARN ?? '', token: 't' })).rejects.toThrow(RotationRefusedError);
    expect(secretsManager).not.toHaveReceivedCommand(PutSecretValueCommand);
  });

  it('refuses a token that is not a version of the secret', async () => {
    const { arn } = givenRotationStarted();
    const { rotation } = buildRotation({ clock, registry: clients, issued: clients });
    await expect(rotation.runStep({ step: 'setSecret', secretId: arn, token: 'nope' })).rejects.toThrow(/version nope has no staging label/);
  });

  it('refuses a token that is neither AWSCURRENT nor AWSPENDING', async () => {
    const { arn } = givenRotationStarted();
    model.updateSecretVersionStage({ SecretId: arn, VersionStage: 'AWSPENDING', RemoveFromVersionId: 'v2' });
    model.updateSecretVersionStage({ SecretId: arn, VersionStage: 'ARCHIVED', MoveToVersionId: 'v2' });
    const { rotation } = buildRotation({ clock, registry: clients, issued: clients });
    await expect(rotation.runStep({ step: 'testSecret', secretId: arn, token: 'v2' })).rejects.toThrow(/is not AWSPENDING/);
  });

  it.each<RotationStep>(['createSecret', 'setSecret', 'testSecret'])(
    'has nothing left to do in %s when the token is already AWSCURRENT',
    async (step) => {
      const { arn } = givenRotationStarted();
      const { rotation } = buildRotation({ clock, registry: clients, issued: clients });
      await expect(rotation.runStep({ step, secretId: arn, token: 'v1' })).resolves.toEqual({ step, result: 'already-current' });
      expect(secretsManager).not.toHaveReceivedCommand(PutSecretValueCommand);
      expect(dynamodb.calls()).toHaveLength(0);
      expect(sns.calls()).toHaveLength(0);
    },
  );
});

describe('createSecret', () => {
  beforeEach(() => {
    dynamodb.on(QueryCommand).resolves({ Items: [] });
    // The current version's key, looked up to complete a finishSecret cut off after its label moved: none here.
    dynamodb.on(GetItemCommand).resolves({});
  });

  it('first completes a finishSecret that moved AWSCURRENT and was cut off: marks the current version, closes its predecessor, sends key.rotated', async () => {
    const { arn, currentKey } = givenRotationStarted();
    const previousKey = generateApiKey();
    const previous = registered(previousKey, { versionId: 'v0', currentSinceMs: 1 });
    const cutOff = registered(currentKey, { versionId: 'v1' });
    tableHolds(previous, cutOff);
    model.updateSecretVersionStage({ SecretId: arn, VersionStage: 'AWSPREVIOUS', MoveToVersionId: 'v1' });
    model.putSecretValue({ SecretId: arn, ClientRequestToken: 'v0', SecretString: JSON.stringify({ clientId: 'acme', apiKey: previousKey }), VersionStages: ['AWSPREVIOUS'] });
    allowEventRecording();
    const { rotation } = buildRotation({ clock, registry: clients, issued: clients, defaultGracePeriodSeconds: 3600 });

    await rotation.runStep({ step: 'createSecret', secretId: arn, token: 'v2' });

    expect(dynamodb).toHaveReceivedCommandWith(UpdateItemCommand, { Key: keyVersionKey(cutOff.keyHash), UpdateExpression: 'SET currentSinceMs = if_not_exists(currentSinceMs, :at)' });
    expect(dynamodb).toHaveReceivedCommandWith(UpdateItemCommand, { Key: keyVersionKey(previous.keyHash), ExpressionAttributeValues: expect.objectContaining({ ':notAfter': { N: String(clock.nowMs + HOUR_MS) } }) });
    expect(sns).toHaveReceivedCommandWith(PublishCommand, { TopicArn: CLIENT_TOPIC_ARN, Message: expect.stringContaining('"type":"key.rotated"') });
    expect(model.getSecretValue({ SecretId: arn, VersionId: 'v2', VersionStage: 'AWSPENDING' }).SecretString).toBeDefined();
  });

  it('puts a new, well-formed key into AWSPENDING under the token, passing the RotationToken on', async () => {
    const { arn, currentKey, rotationToken } = givenRotationStarted();
    const { rotation } = buildRotation({ clock, registry: clients, issued: clients });

    const outcome = await rotation.runStep({ step: 'createSecret', secretId: arn, token: 'v2', rotationToken });

    expect(outcome).toEqual({ step: 'createSecret', result: 'created', revokedAbandonedVersionIds: [] });
    expect(secretsManager).toHaveReceivedCommandWith(PutSecretValueCommand, {
      SecretId: arn,
      ClientRequestToken: 'v2',
      VersionStages: ['AWSPENDING'],
      RotationToken: rotationToken,
    });
    const pending = JSON.parse(model.getSecretValue({ SecretId: arn, VersionId: 'v2', VersionStage: 'AWSPENDING' }).SecretString ?? '');
    expect(pending).toEqual({ clientId: 'acme', apiKey: expect.any(String), baseUrl: 'https://api.example.com' });
    expect(parseApiKey(pending.apiKey).ok).toBe(true);
    expect(pending.apiKey).not.toBe(currentKey);
    expect(stagesOf(model, arn)).toEqual({ v1: ['AWSCURRENT'], v2: ['AWSPENDING'] });
  });

  it('does nothing when the pending version already holds a value', async () => {
    const { arn } = givenRotationStarted();
    const { rotation } = buildRotation({ clock, registry: clients, issued: clients });
    await rotation.runStep({ step: 'createSecret', secretId: arn, token: 'v2' });
    const firstKey = keyOf(model, arn, 'v2');
    secretsManager.resetHistory();

    const outcome = await rotation.runStep({ step: 'createSecret', secretId: arn, token: 'v2' });

    expect(outcome).toMatchObject({ result: 'already-created' });
    expect(secretsManager).not.toHaveReceivedCommand(PutSecretValueCommand);
    expect(keyOf(model, arn, 'v2')).toBe(firstKey);
  });

  it('revokes the index entries of abandoned pending versions, and only those', async () => {
    const { arn, currentKey } = givenRotationStarted();
    const abandoned = registered(generateApiKey(), { versionId: 'v0-abandoned' });
    const current = registered(currentKey, { versionId: 'v1', currentSinceMs: 1 });
    const retired = registered(generateApiKey(), { versionId: 'v-old', currentSinceMs: 1, notAfterMs: 2 });
    const alreadyRevoked = registered(generateApiKey(), { versionId: 'v-revoked', revokedAtMs: 3 });
    dynamodb.on(QueryCommand).resolves({ Items: [abandoned, current, retired, alreadyRevoked].map(keyVersionItem) });
    tableHolds(abandoned);
    const { rotation } = buildRotation({ clock, registry: clients, issued: clients });

    const outcome = await rotation.runStep({ step: 'createSecret', secretId: arn, token: 'v2' });

    expect(outcome).toMatchObject({ revokedAbandonedVersionIds: ['v0-abandoned'] });
    expect(dynamodb).toHaveReceivedCommandTimes(UpdateItemCommand, 1);
    expect(dynamodb).toHaveReceivedCommandWith(UpdateItemCommand, {
      Key: keyVersionKey(abandoned.keyHash),
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: expect.objectContaining({ ':at': { N: String(clock.nowMs) }, ':reason': { S: 'rotation-abandoned' } }),
    });
    expect(dynamodb).toHaveReceivedCommandWith(QueryCommand, { IndexName: 'byClient', ExpressionAttributeValues: { ':client': { S: 'acme' } } });
  });

  it('lets a throttled PutSecretValue fail the step without leaving a pending value', async () => {
    const { arn } = givenRotationStarted();
    secretsManager.on(PutSecretValueCommand).rejects(new InjectedFaultError('throttled'));
    const { rotation } = buildRotation({ clock, registry: clients, issued: clients });
    await expect(rotation.runStep({ step: 'createSecret', secretId: arn, token: 'v2' })).rejects.toThrow('throttled');
    expect(() => model.getSecretValue({ SecretId: arn, VersionId: 'v2' })).toThrow(/can't find the specified secret value/);
  });
});

describe('setSecret', () => {
  async function givenPendingKey(tags?: Record<string, string>) {
    const started = givenRotationStarted({ tags });
    dynamodb.on(QueryCommand).resolves({ Items: [] });
    dynamodb.on(GetItemCommand).resolves({});
    await buildRotation({ clock, registry: clients, issued: clients }).rotation.runStep({ step: 'createSecret', secretId: started.arn, token: 'v2' });
    return { ...started, pendingKey: keyOf(model, started.arn, 'v2') };
  }

  it('registers the pending key by hash with a window opening now, and never stores the key', async () => {
    const { arn, pendingKey } = await givenPendingKey({ 'keyroll:scopes': 'write read' });
    dynamodb.on(PutItemCommand).resolves({});

    const outcome = await buildRotation({ clock, registry: clients, issued: clients }).rotation.runStep({ step: 'setSecret', secretId: arn, token: 'v2' });

    expect(outcome).toEqual({ step: 'setSecret', result: 'registered' });
    expect(dynamodb).toHaveReceivedCommandWith(PutItemCommand, {
      ConditionExpression: 'attribute_not_exists(pk)',
      Item: expect.objectContaining({
        ...attributeKey(KEY_TABLE_KEYS.keyVersion(hashApiKey(pendingKey))),
        clientId: { S: 'acme' },
        versionId: { S: 'v2' },
        notBeforeMs: { N: String(clock.nowMs) },
        scopes: { L: [{ S: 'read' }, { S: 'write' }] },
      }),
    });
    const item = JSON.stringify(dynamodb.commandCalls(PutItemCommand)[0]?.args[0].input);
    expect(item).not.toContain(pendingKey);
    expect(item).not.toContain(pendingKey.slice(7, 30));
    expect(item).not.toContain('expiresAtMs');
  });

  it('gives the version a hard expiry when the client has a maximum key age', async () => {
    const { arn } = await givenPendingKey({ 'keyroll:maxKeyAgeDays': '30' });
    dynamodb.on(PutItemCommand).resolves({});
    await buildRotation({ clock, registry: clients, issued: clients }).rotation.runStep({ step: 'setSecret', secretId: arn, token: 'v2' });
    expect(dynamodb).toHaveReceivedCommandWith(PutItemCommand, {
      Item: expect.objectContaining({ expiresAtMs: { N: String(clock.nowMs + 30 * 24 * HOUR_MS) } }),
    });
  });

  it('is idempotent: a second registration of the same version succeeds without a change', async () => {
    const { arn, pendingKey } = await givenPendingKey();
    dynamodb.on(PutItemCommand).rejects(new ConditionalCheckFailedException({ message: 'exists', $metadata: {} }));
    tableHolds(registered(pendingKey));
    await expect(buildRotation({ clock, registry: clients, issued: clients }).rotation.runStep({ step: 'setSecret', secretId: arn, token: 'v2' })).resolves.toEqual({
      step: 'setSecret',
      result: 'already-registered',
    });
    expect(dynamodb).not.toHaveReceivedCommand(UpdateItemCommand);
  });

  it('refuses to take over a hash that another version holds', async () => {
    const { arn, pendingKey } = await givenPendingKey();
    dynamodb.on(PutItemCommand).rejects(new ConditionalCheckFailedException({ message: 'exists', $metadata: {} }));
    tableHolds(registered(pendingKey, { versionId: 'someone-else' }));
    await expect(buildRotation({ clock, registry: clients, issued: clients }).rotation.runStep({ step: 'setSecret', secretId: arn, token: 'v2' })).rejects.toThrow(KeyConflictError);
  });

  it('fails clearly when createSecret has not put a value yet', async () => {
    const { arn } = givenRotationStarted();
    await expect(buildRotation({ clock, registry: clients, issued: clients }).rotation.runStep({ step: 'setSecret', secretId: arn, token: 'v2' })).rejects.toThrow(
      /pending version v2 has no value; createSecret has not run/,
    );
    expectNoKeyVersionWrites();
  });
});

describe('testSecret', () => {
  async function givenPendingKey() {
    const started = givenRotationStarted();
    dynamodb.on(QueryCommand).resolves({ Items: [] });
    dynamodb.on(GetItemCommand).resolves({});
    await buildRotation({ clock, registry: clients, issued: clients }).rotation.runStep({ step: 'createSecret', secretId: started.arn, token: 'v2' });
    dynamodb.resetHistory();
    return { ...started, pendingKey: keyOf(model, started.arn, 'v2') };
  }

  it('proves the pending key is accepted with one consistent read, and writes nothing', async () => {
    const { arn, pendingKey } = await givenPendingKey();
    tableHolds(registered(pendingKey));

    await expect(buildRotation({ clock, registry: clients, issued: clients }).rotation.runStep({ step: 'testSecret', secretId: arn, token: 'v2' })).resolves.toEqual({
      step: 'testSecret',
      result: 'verified',
      probed: false,
    });
    expect(dynamodb).toHaveReceivedCommandTimes(GetItemCommand, 1);
    expect(dynamodb).toHaveReceivedCommandWith(GetItemCommand, { Key: keyVersionKey(hashApiKey(pendingKey)), ConsistentRead: true });
    expectNoKeyVersionWrites();
    expect(sns.calls()).toHaveLength(0);
  });

  it.each([
    ['not_found', undefined],
    ['revoked', { revokedAtMs: 1 }],
    ['not_yet_valid', { notBeforeMs: Number.MAX_SAFE_INTEGER }],
    ['expired', { notAfterMs: 1 }],
  ])('fails when the pending key is %s', async (status, overrides) => {
    const { arn, pendingKey } = await givenPendingKey();
    if (overrides === undefined) tableHolds();
    else tableHolds(registered(pendingKey, overrides));
    await expect(buildRotation({ clock, registry: clients, issued: clients }).rotation.runStep({ step: 'testSecret', secretId: arn, token: 'v2' })).rejects.toThrow(
      new KeyVerificationError(`the key of version v2 is not accepted: ${status}`),
    );
  });

  it('fails when the pending key is registered to another client', async () => {
    const { arn, pendingKey } = await givenPendingKey();
    tableHolds(registered(pendingKey, { clientId: 'mallory' }));
    await expect(buildRotation({ clock, registry: clients, issued: clients }).rotation.runStep({ step: 'testSecret', secretId: arn, token: 'v2' })).rejects.toThrow(/another client/);
  });

  it('passes with RotateImmediately=false, where the pending version holds the current key', async () => {
    const currentKey = generateApiKey();
    const arn = createClientSecret(model, { clientId: 'acme', value: JSON.stringify({ clientId: 'acme', apiKey: currentKey }), firstVersionId: 'v1' });
    model.rotateSecret({ SecretId: arn, ClientRequestToken: 'test-only', RotateImmediately: false });
    tableHolds(registered(currentKey, { versionId: 'v1', currentSinceMs: 1 }));

    await expect(buildRotation({ clock, registry: clients, issued: clients }).rotation.runStep({ step: 'testSecret', secretId: arn, token: 'test-only' })).resolves.toMatchObject({
      result: 'verified',
    });
    expectNoKeyVersionWrites();
    expect(sns.calls()).toHaveLength(0);
  });

  it('has nothing to verify when RotateImmediately=false tests a new client\'s secret, which has no key yet', async () => {
    const arn = createClientSecret(model, { clientId: 'acme', firstVersionId: 'v0' });
    model.rotateSecret({ SecretId: arn, ClientRequestToken: 'schedule-test', RotateImmediately: false });

    await expect(buildRotation({ clock, registry: clients, issued: clients }).rotation.runStep({ step: 'testSecret', secretId: arn, token: 'schedule-test' })).resolves.toEqual({
      step: 'testSecret',
      result: 'nothing-to-verify',
    });
    expect(dynamodb.calls()).toHaveLength(0);
  });

  it('still fails a keyless pending version when the current version holds a key', async () => {
    const { arn } = givenRotationStarted();
    model.putSecretValue({ SecretId: arn, ClientRequestToken: 'v2', SecretString: JSON.stringify({ clientId: 'acme' }), VersionStages: ['AWSPENDING'] });
    await expect(buildRotation({ clock, registry: clients, issued: clients }).rotation.runStep({ step: 'testSecret', secretId: arn, token: 'v2' })).rejects.toThrow(
      /pending version v2 holds no key/,
    );
  });

  it('calls the configured probe with the pending key and requires it to pass', async () => {
    const { arn, pendingKey } = await givenPendingKey();
    tableHolds(registered(pendingKey));
    const probed: ApiKey[] = [];
    const passing: EndpointProbe = { check: async (key) => (probed.push(key), { ok: true }) };
    const failing: EndpointProbe = { check: async () => ({ ok: false, detail: 'https://api.example.com/ answered HTTP 403' }) };

    await expect(buildRotation({ clock, registry: clients, issued: clients, probe: passing }).rotation.runStep({ step: 'testSecret', secretId: arn, token: 'v2' })).resolves.toMatchObject({
      probed: true,
    });
    expect(probed).toEqual([pendingKey]);
    await expect(buildRotation({ clock, registry: clients, issued: clients, probe: failing }).rotation.runStep({ step: 'testSecret', secretId: arn, token: 'v2' })).rejects.toThrow(
      'the endpoint probe refused the key of version v2: https://api.example.com/ answered HTTP 403',
    );
    expectNoKeyVersionWrites();
  });
});

describe('finishSecret', () => {
  async function givenTestedRotation(tags?: Record<string, string>) {
    const started = givenRotationStarted({ tags });
    dynamodb.on(QueryCommand).resolves({ Items: [] });
    dynamodb.on(GetItemCommand).resolves({});
    await buildRotation({ clock, registry: clients, issued: clients }).rotation.runStep({ step: 'createSecret', secretId: started.arn, token: 'v2' });
    const pendingKey = keyOf(model, started.arn, 'v2');
    const current = registered(started.currentKey, { versionId: 'v1', notBeforeMs: 0, currentSinceMs: 0 });
    const pending = registered(pendingKey);
    dynamodb.reset();
    dynamodb.onAnyCommand().rejects(new Error('unmocked DynamoDB command'));
    tableHolds(current, pending);
    allowEventRecording();
    secretsManager.resetHistory();
    return { ...started, pendingKey, current, pending };
  }

  it('moves AWSCURRENT with RemoveFromVersionId, starts the old key\'s grace period and announces the rotation', async () => {
    const { arn, current, pending, currentKey, pendingKey } = await givenTestedRotation();

    const outcome = await buildRotation({ clock, registry: clients, issued: clients }).rotation.runStep({ step: 'finishSecret', secretId: arn, token: 'v2' });

    const graceEndMs = clock.nowMs + HOUR_MS;
    expect(outcome).toEqual({
      step: 'finishSecret',
      result: 'finished',
      previousVersionId: 'v1',
      previousNotAfterMs: graceEndMs,
      notification: 'published',
    });
    expect(secretsManager).toHaveReceivedNthSpecificCommandWith(1, UpdateSecretVersionStageCommand, {
      SecretId: arn,
      VersionStage: 'AWSCURRENT',
      MoveToVersionId: 'v2',
      RemoveFromVersionId: 'v1',
    });
    expect(secretsManager).toHaveReceivedNthSpecificCommandWith(2, UpdateSecretVersionStageCommand, {
      SecretId: arn,
      VersionStage: 'AWSPENDING',
      RemoveFromVersionId: 'v2',
    });
    expect(stagesOf(model, arn)).toEqual({ v1: ['AWSPREVIOUS'], v2: ['AWSCURRENT'] });
    expect(dynamodb).toHaveReceivedCommandWith(UpdateItemCommand, {
      Key: keyVersionKey(pending.keyHash),
      UpdateExpression: 'SET currentSinceMs = if_not_exists(currentSinceMs, :at)',
    });
    expect(dynamodb).toHaveReceivedCommandWith(UpdateItemCommand, {
      Key: keyVersionKey(current.keyHash),
      ConditionExpression: expect.stringContaining('attribute_not_exists(revokedAtMs)'),
      ExpressionAttributeValues: expect.objectContaining({ ':notAfter': { N: String(graceEndMs) } }),
    });
    const eventId = notificationEventId('key.rotated', 'acme', 'v2');
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: CLIENT_TOPIC_ARN,
      MessageAttributes: { clientId: { DataType: 'String', StringValue: 'acme' }, type: { DataType: 'String', StringValue: 'key.rotated' } },
    });
    const message = String(sns.commandCalls(PublishCommand)[0]?.args[0].input.Message);
    expect(JSON.parse(message)).toEqual({
      version: 1,
      type: 'key.rotated',
      clientId: 'acme',
      versionId: 'v2',
      previousVersionId: 'v1',
      expiresAt: new Date(graceEndMs).toISOString(),
      eventId,
      at: new Date(clock.nowMs).toISOString(),
    });
    for (const secret of [currentKey, pendingKey, current.keyHash, pending.keyHash]) expect(message).not.toContain(secret);
  });

  it('uses the client\'s own grace period from its tag', async () => {
    const { arn } = await givenTestedRotation({ 'keyroll:gracePeriodSeconds': '600' });
    await expect(buildRotation({ clock, registry: clients, issued: clients }).rotation.runStep({ step: 'finishSecret', secretId: arn, token: 'v2' })).resolves.toMatchObject({
      previousNotAfterMs: clock.nowMs + 600_000,
    });
  });

  it('completes AWSPENDING, the window and the notification when an earlier attempt already moved AWSCURRENT', async () => {
    const { arn, current } = await givenTestedRotation();
    model.updateSecretVersionStage({ SecretId: arn, VersionStage: 'AWSCURRENT', MoveToVersionId: 'v2', RemoveFromVersionId: 'v1' });
    secretsManager.resetHistory();

    const outcome = await buildRotation({ clock, registry: clients, issued: clients }).rotation.runStep({ step: 'finishSecret', secretId: arn, token: 'v2' });

    expect(outcome).toMatchObject({ result: 'completed', previousVersionId: 'v1', notification: 'published' });
    expect(secretsManager).toHaveReceivedCommandTimes(UpdateSecretVersionStageCommand, 1);
    expect(secretsManager).toHaveReceivedCommandWith(UpdateSecretVersionStageCommand, { VersionStage: 'AWSPENDING', RemoveFromVersionId: 'v2' });
    expect(stagesOf(model, arn)).toEqual({ v1: ['AWSPREVIOUS'], v2: ['AWSCURRENT'] });
    expect(dynamodb).toHaveReceivedCommandWith(UpdateItemCommand, { Key: keyVersionKey(current.keyHash), ExpressionAttributeValues: expect.objectContaining({ ':notAfter': expect.anything() }) });
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
  });

  it('does not announce a rotation twice once the event is recorded as published', async () => {
    const { arn } = await givenTestedRotation();
    const eventId = notificationEventId('key.rotated', 'acme', 'v2');
    dynamodb.on(PutItemCommand).rejects(new ConditionalCheckFailedException({ message: 'exists', $metadata: {} }));
    dynamodb.on(GetItemCommand, { Key: attributeKey(KEY_TABLE_KEYS.event('acme', eventId)) }).resolves({
      Item: {
        body: { S: JSON.stringify({ version: 1, type: 'key.rotated', clientId: 'acme', versionId: 'v2', eventId, at: '2026-11-22T11:00:00.000Z' }) },
        publishedAtMs: { N: '1' },
      },
    });

    await expect(buildRotation({ clock, registry: clients, issued: clients }).rotation.runStep({ step: 'finishSecret', secretId: arn, token: 'v2' })).resolves.toMatchObject({
      notification: 'already-published',
    });
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
  });

  it('refuses to make current a key the authorizer would refuse, leaving the labels alone', async () => {
    const { arn, current } = await givenTestedRotation();
    dynamodb.reset();
    tableHolds(current);

    await expect(buildRotation({ clock, registry: clients, issued: clients }).rotation.runStep({ step: 'finishSecret', secretId: arn, token: 'v2' })).rejects.toThrow(
      /the key of version v2 is not accepted: not_found/,
    );
    expect(secretsManager).not.toHaveReceivedCommand(UpdateSecretVersionStageCommand);
    expect(stagesOf(model, arn)).toEqual({ v1: ['AWSCURRENT'], v2: ['AWSPENDING'] });
  });

  it('leaves every window as it was when moving AWSCURRENT is throttled', async () => {
    const { arn } = await givenTestedRotation();
    secretsManager.on(UpdateSecretVersionStageCommand).rejects(new InjectedFaultError('throttled'));

    await expect(buildRotation({ clock, registry: clients, issued: clients }).rotation.runStep({ step: 'finishSecret', secretId: arn, token: 'v2' })).rejects.toThrow('throttled');
    expectNoKeyVersionWrites();
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: OPERATIONS_TOPIC_ARN,
      Message: JSON.stringify({
        version: 1,
        type: 'rotation.failed',
        clientId: 'acme',
        versionId: 'v2',
        eventId: notificationEventId('rotation.failed', 'acme', 'v2'),
        at: new Date(clock.nowMs).toISOString(),
      }),
    });
  });

  it('reports the step\'s own error when operators cannot be told of it', async () => {
    const { arn } = await givenTestedRotation();
    secretsManager.on(UpdateSecretVersionStageCommand).rejects(new InjectedFaultError('throttled'));
    sns.on(PublishCommand).rejects(new InjectedFaultError('SNS is down'));

    await expect(buildRotation({ clock, registry: clients, issued: clients }).rotation.runStep({ step: 'finishSecret', secretId: arn, token: 'v2' })).rejects.toThrow('throttled');
    expect(sns).toHaveReceivedCommandWith(PublishCommand, { TopicArn: OPERATIONS_TOPIC_ARN });
  });

  it('issues the first key of a new client: the placeholder it replaces has no key and no window to close', async () => {
    const arn = createClientSecret(model, { clientId: 'acme', firstVersionId: 'v0' });
    model.rotateSecret({ SecretId: arn, ClientRequestToken: 'v1' });
    dynamodb.on(QueryCommand).resolves({ Items: [] });
    dynamodb.on(GetItemCommand).resolves({});
    await buildRotation({ clock, registry: clients, issued: clients }).rotation.runStep({ step: 'createSecret', secretId: arn, token: 'v1' });
    tableHolds(registered(keyOf(model, arn, 'v1'), { versionId: 'v1' }));
    allowEventRecording();

    const outcome = await buildRotation({ clock, registry: clients, issued: clients }).rotation.runStep({ step: 'finishSecret', secretId: arn, token: 'v1' });

    expect(outcome).toEqual({ step: 'finishSecret', result: 'finished', notification: 'published' });
    expect(dynamodb).toHaveReceivedCommandTimes(UpdateItemCommand, 2);
    const message = JSON.parse(String(sns.commandCalls(PublishCommand)[0]?.args[0].input.Message));
    expect(message).not.toHaveProperty('previousVersionId');
    expect(message).not.toHaveProperty('expiresAt');
    expect(hashOf(model, arn, 'v1')).toMatch(/^[0-9a-f]{64}$/);
  });
});
