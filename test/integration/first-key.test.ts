import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@aws-lambda-powertools/logger';
import { RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { SecretsManagerVersionStore } from '../../lambda/adapters/secrets-manager-version-store';
import { ClientAlreadyRegisteredError, FirstKeyTimeoutError, InvalidFirstKeyEventError } from '../../lambda/domain/errors';
import { endRemovedClient, REMOVED_FROM_DEPLOYMENT } from '../../lambda/domain/client-removal';
import { issueFirstKey } from '../../lambda/domain/first-key';
import { CLIENT_RESOURCE_TYPES, createFirstKeyHandler } from '../../lambda/handlers/first-key-handler';
import { InMemoryKeyTable } from '../../proof/in-memory-key-table';
import { runRotation, type RotationFunction } from '../../local/rotation-driver';
import { useDynalite } from '../support/dynamodb';
import { stagesOf } from '../support/rotation-fixture';
import { RotationHarness } from '../support/rotation-harness';

const secretsManager = mockClient(SecretsManagerClient);
const sns = mockClient(SNSClient);
const dynamo = useDynalite();

/**
 * A client's placeholder secret, with Secrets Manager's asynchronous behaviour after RotateSecret: the
 * service answers at once and runs the steps afterwards. `rotationFunction` defaults to the real one.
 */
async function newClient(options: { rotationFunction?: RotationFunction } = {}) {
  secretsManager.reset();
  sns.reset();
  const h = new RotationHarness({ secretsManager, sns, dynamodbEndpoint: dynamo.endpoint(), tableName: await dynamo.newTable() });
  const arn = await h.newClient('acme');
  const rotationFunction = options.rotationFunction ?? ((event) => h.handler(event));
  const background: Promise<unknown>[] = [];
  secretsManager.on(RotateSecretCommand).callsFake((input) => {
    const response = h.model.rotateSecret(input);
    background.push(sleep(20).then(() => runRotation(h.model, arn, rotationFunction)));
    return response;
  });
  const control = new SecretsManagerVersionStore(new SecretsManagerClient({}));
  const issue = (timeoutMs = 5_000) => issueFirstKey(arn, { control, clock: Date.now, sleep, timeoutMs, pollIntervalMs: 5 });
  return { h, arn, issue, settle: () => Promise.all(background) };
}

describe('First key of a new client', () => {
  it('waits for the schedule\'s test run to end with DescribeSecret, rotates once, and returns when the client has a working key', async () => {
    const { h, arn, issue, settle } = await newClient();
    // What creating the RotationSchedule does: a RotateImmediately=false test, still running.
    h.model.rotateSecret({ SecretId: arn, RotateImmediately: false });
    const testRun = sleep(50).then(() => runRotation(h.model, arn, (event) => h.handler(event)));

    const { versionId } = await issue();

    await expect(testRun).resolves.toMatchObject({ outcome: 'succeeded' });
    await settle();
    // RotateSecret is never a "busy?" probe: it is called once, after the test run has released AWSPENDING.
    expect(secretsManager.commandCalls(RotateSecretCommand)).toHaveLength(1);
    expect(Object.values(stagesOf(h.model, arn)).flat()).not.toContain('AWSPENDING');
    expect(h.versionWithStage(arn, 'AWSCURRENT')).toBe(versionId);
    expect(await h.verify(h.currentKey(arn))).toMatchObject({ status: 'valid', version: { clientId: 'acme', versionId } });
    expect(h.published).toEqual([expect.objectContaining({ type: 'key.rotated', versionId })]);
  });

  it('fails clearly, naming the secret, when the first rotation does not complete', async () => {
    const { arn, issue, settle } = await newClient({
      rotationFunction: async () => {
        throw new Error('rotation function misconfigured');
      },
    });
    const failure = issue(300);
    await expect(failure).rejects.toThrow(FirstKeyTimeoutError);
    await expect(failure).rejects.toThrow(`the first rotation of secret ${arn}`);
    await settle();
  });
});

describe('First key custom resource', () => {
  function handlerWith() {
    const issued: string[] = [];
    const registry = new InMemoryKeyTable();
    const handler = createFirstKeyHandler({
      issueFirstKey: async (secretId) => (issued.push(secretId), { versionId: `v-${issued.length}` }),
      registry,
      endRemovedClient: (clientId, arn) => endRemovedClient(clientId, arn, { registry, keys: registry, revocations: registry, clock: () => 1_000 }),
      clock: () => 1_000,
      logger: new Logger({ logLevel: 'SILENT' }),
    });
    return { handler, issued, registry };
  }
  const secretArn = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:keyroll/clients/acme-AbCdEf';

  it('issues the first key when the secret is created, and reports its version', async () => {
    const { handler, issued } = handlerWith();
    await expect(handler({ RequestType: 'Create', ResourceProperties: { SecretId: secretArn } })).resolves.toEqual({
      PhysicalResourceId: secretArn,
      Data: { VersionId: 'v-1' },
    });
    expect(issued).toEqual([secretArn]);
  });

  it('never rotates on a later deploy of the same secret, nor on deletion', async () => {
    const { handler, issued } = handlerWith();
    const same = { ResourceProperties: { SecretId: secretArn }, PhysicalResourceId: secretArn };
    await expect(handler({ RequestType: 'Update', OldResourceProperties: { SecretId: secretArn }, ...same })).resolves.toEqual({ PhysicalResourceId: secretArn });
    await expect(handler({ RequestType: 'Delete', ...same })).resolves.toEqual({ PhysicalResourceId: secretArn });
    expect(issued).toEqual([]);
  });

  it('issues a first key for a secret that replaced the old one', async () => {
    const { handler, issued } = handlerWith();
    const replacement = `${secretArn}-2`;
    await expect(
      handler({ RequestType: 'Update', ResourceProperties: { SecretId: replacement }, OldResourceProperties: { SecretId: secretArn }, PhysicalResourceId: secretArn }),
    ).resolves.toMatchObject({ PhysicalResourceId: replacement });
    expect(issued).toEqual([replacement]);
  });

  const registrationEvent = (RequestType: string, properties: Record<string, unknown>, old?: Record<string, unknown>) => ({
    RequestType,
    ResourceType: CLIENT_RESOURCE_TYPES.registration,
    ResourceProperties: { ServiceToken: 'arn:aws:lambda:eu-west-1:111122223333:function:provider', ...properties },
    ...(old === undefined ? {} : { OldResourceProperties: old }),
  });

  it('registers a declared client\'s secret with its settings, updates them on a later deploy, and removes the registration with the client', async () => {
    const { handler, registry, issued } = handlerWith();
    const settings = { 'keyroll:scopes': 'read' };
    await expect(handler(registrationEvent('Create', { ClientId: 'acme', SecretArn: secretArn, Settings: settings }))).resolves.toEqual({ PhysicalResourceId: 'keyroll-registration:acme' });
    expect(await registry.registrationOf('acme')).toEqual({ clientId: 'acme', secretArn, settings, registeredAtMs: 1_000, registeredBy: 'cloudformation' });
    const wider = { 'keyroll:scopes': 'read write' };
    await handler(registrationEvent('Update', { ClientId: 'acme', SecretArn: secretArn, Settings: wider }, { ClientId: 'acme', SecretArn: secretArn, Settings: settings }));
    expect((await registry.registrationOf('acme'))?.settings).toEqual(wider);
    await handler(registrationEvent('Delete', { ClientId: 'acme', SecretArn: secretArn, Settings: wider }));
    expect(await registry.registrationOf('acme')).toBeUndefined();
    expect(issued).toEqual([]);
  });

  it('refuses a deploy that renames a registered client\'s secret (an upgrade from the old default prefix, a changed construct id): the deploy rolls back, the client keeps its secret and key', async () => {
    const { handler, registry, issued } = handlerWith();
    const legacy = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:keyroll/clients/acme-AbCdEf';
    const renamed = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:keyroll/Orders/ApiKeys/acme-GhIjKl';
    await handler(registrationEvent('Create', { ClientId: 'acme', SecretArn: legacy }));
    await expect(handler(registrationEvent('Update', { ClientId: 'acme', SecretArn: renamed }, { ClientId: 'acme', SecretArn: legacy }))).rejects.toThrow(
      /client "acme" has the secret keyroll\/clients\/acme.*would replace it with keyroll\/Orders\/ApiKeys\/acme.*secretNamePrefix: 'keyroll\/clients\/'/s,
    );
    expect((await registry.registrationOf('acme'))?.secretArn).toBe(legacy);
    expect(issued).toEqual([]);
    // Nor can a second secret claim the client.
    await expect(handler(registrationEvent('Create', { ClientId: 'acme', SecretArn: `${secretArn}-rogue` }))).rejects.toThrow(ClientAlreadyRegisteredError);
  });

  it('refuses an event that is not a custom resource request for a secret', async () => {
    const { handler } = handlerWith();
    await expect(handler({ RequestType: 'Create', ResourceProperties: {} })).rejects.toThrow(InvalidFirstKeyEventError);
    await expect(handler({ RequestType: 'Rotate', ResourceProperties: { SecretId: secretArn } })).rejects.toThrow(/RequestType must be/);
  });
});

describe('A client removed from the construct\'s clients (the registration\'s Delete, on dynalite)', () => {
  async function installedClient() {
    const h = new RotationHarness({ secretsManager, sns, dynamodbEndpoint: dynamo.endpoint(), tableName: await dynamo.newTable() });
    const arn = await h.newClient('acme');
    await h.rotate(arn, { token: 'acme-v1' });
    const graced = h.currentKey(arn);
    await h.rotate(arn, { token: 'acme-v2' });
    const current = h.currentKey(arn);
    const handler = createFirstKeyHandler({
      issueFirstKey: () => Promise.reject(new Error('not asked for')),
      registry: h.table,
      endRemovedClient: (clientId, secretArn) => endRemovedClient(clientId, secretArn, { registry: h.table, keys: h.table, revocations: h.table, clock: () => h.clock.nowMs }),
      clock: () => h.clock.nowMs,
      logger: new Logger({ logLevel: 'SILENT' }),
    });
    const deleteEvent = (secretArn: string) => ({
      RequestType: 'Delete',
      ResourceType: CLIENT_RESOURCE_TYPES.registration,
      PhysicalResourceId: 'keyroll-registration:acme',
      ResourceProperties: { ServiceToken: 'arn:aws:lambda:eu-west-1:111122223333:function:provider', ClientId: 'acme', SecretArn: secretArn },
    });
    return { h, arn, graced, current, handler, deleteEvent };
  }

  it('revokes every key the client still holds, current and in grace, and tells the authorizers', async () => {
    const { h, arn, graced, current, handler, deleteEvent } = await installedClient();
    expect(await h.verify(current)).toMatchObject({ status: 'valid' });
    expect(await h.verify(graced)).toMatchObject({ status: 'valid' });
    await handler(deleteEvent(arn));
    expect(await h.table.registrationOf('acme')).toBeUndefined();
    for (const key of [current, graced]) expect(await h.verify(key)).toMatchObject({ status: 'revoked', version: { revokedReason: REMOVED_FROM_DEPLOYMENT } });
    expect((await h.table.revokedSince(0)).length).toBe(2);
  });

  it('leaves the keys alone when the client is registered to another secret by then (removed and added again), not the one being deleted', async () => {
    const { h, arn, current, handler, deleteEvent } = await installedClient();
    await h.table.deregisterClient('acme', arn);
    await h.table.registerClient({ clientId: 'acme', secretArn: `${arn}-2`, settings: {}, registeredAtMs: h.clock.nowMs, registeredBy: 'cloudformation' });
    await handler(deleteEvent(arn));
    expect((await h.table.registrationOf('acme'))?.secretArn).toBe(`${arn}-2`);
    expect(await h.verify(current)).toMatchObject({ status: 'valid' });
  });
});
