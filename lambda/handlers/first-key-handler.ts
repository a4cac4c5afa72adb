import type { Logger } from '@aws-lambda-powertools/logger';
import { CLIENT_ID_PATTERN, type ClientSettingValues } from '../domain/client-settings';
import { InvalidFirstKeyEventError, SecretRenameRefusedError } from '../domain/errors';
import type { ClientRegistry } from '../domain/ports';

/** The custom resource types this function serves, declared once for it and the construct. */
export const CLIENT_RESOURCE_TYPES = {
  firstKey: 'Custom::KeyrollFirstKey',
  registration: 'Custom::KeyrollClientRegistration',
} as const;

/** Who the registrations this function writes were made by. */
export const DEPLOYMENT_REGISTRANT = 'cloudformation';

type RequestType = 'Create' | 'Update' | 'Delete';

interface FirstKeyRequest {
  readonly kind: 'first-key';
  readonly requestType: RequestType;
  readonly secretId: string;
  readonly oldSecretId?: string;
  readonly physicalResourceId?: string;
}

interface RegistrationRequest {
  readonly kind: 'registration';
  readonly requestType: RequestType;
  readonly clientId: string;
  readonly secretArn: string;
  readonly settings: ClientSettingValues;
  readonly oldSecretArn?: string;
}

/** What the custom resource provider framework expects back. */
export interface CustomResourceResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: Record<string, string>;
}

/** Reads a CloudFormation custom resource request for a client's first key or its registration. */
export function parseClientResourceEvent(event: unknown): FirstKeyRequest | RegistrationRequest {
  if (typeof event !== 'object' || event === null) throw new InvalidFirstKeyEventError('the event is not an object');
  const fields = event as Record<string, unknown>;
  const requestType = fields['RequestType'];
  if (requestType !== 'Create' && requestType !== 'Update' && requestType !== 'Delete') {
    throw new InvalidFirstKeyEventError(`RequestType must be Create, Update or Delete; got ${JSON.stringify(requestType)}`);
  }
  const properties = record(fields['ResourceProperties']);
  const oldProperties = record(fields['OldResourceProperties']);
  if (fields['ResourceType'] === CLIENT_RESOURCE_TYPES.registration) {
    const clientId = text(properties, 'ClientId');
    const secretArn = text(properties, 'SecretArn');
    if (clientId === undefined || !CLIENT_ID_PATTERN.test(clientId)) throw new InvalidFirstKeyEventError('ResourceProperties.ClientId must be a client id');
    if (secretArn === undefined || !secretArn.startsWith('arn:')) throw new InvalidFirstKeyEventError('ResourceProperties.SecretArn must be the secret\'s ARN');
    const settings = record(properties?.['Settings']) ?? {};
    if (!Object.values(settings).every((value) => typeof value === 'string')) throw new InvalidFirstKeyEventError('ResourceProperties.Settings must map setting names to strings');
    const oldSecretArn = text(oldProperties, 'SecretArn');
    return { kind: 'registration', requestType, clientId, secretArn, settings: settings as ClientSettingValues, ...(oldSecretArn === undefined ? {} : { oldSecretArn }) };
  }
  const secretId = text(properties, 'SecretId');
  if (secretId === undefined) throw new InvalidFirstKeyEventError('ResourceProperties.SecretId must be a non-empty string');
  const oldSecretId = text(oldProperties, 'SecretId');
  const physicalResourceId = typeof fields['PhysicalResourceId'] === 'string' ? fields['PhysicalResourceId'] : undefined;
  return { kind: 'first-key', requestType, secretId, ...(oldSecretId === undefined ? {} : { oldSecretId }), ...(physicalResourceId === undefined ? {} : { physicalResourceId }) };
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function text(properties: Record<string, unknown> | undefined, name: string): string | undefined {
  const value = properties?.[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * The custom resources of a declared client. Its registration (created before its rotation schedule) names its
 * secret and holds its settings, updated by every deploy that changes them; when the client leaves the deployment,
 * the registration goes and every key of the client is revoked. Its first key is issued when its secret is
 * created (or replaced), and nothing happens on later deploys: a deploy never rotates a key by itself.
 */
export function createFirstKeyHandler(deps: {
  readonly issueFirstKey: (secretId: string) => Promise<{ readonly versionId: string }>;
  readonly registry: Pick<ClientRegistry, 'registerClient'>;
  /** Deregisters a removed client and revokes its keys; returns the versions revoked. */
  readonly endRemovedClient: (clientId: string, secretArn: string) => Promise<readonly string[]>;
  readonly clock: () => number;
  readonly logger: Logger;
}) {
  return async (event: unknown): Promise<CustomResourceResponse> => {
    const request = parseClientResourceEvent(event);
    if (request.kind === 'registration') {
      const physicalResourceId = `keyroll-registration:${request.clientId}`;
      if (request.requestType === 'Delete') {
        const revokedVersionIds = await deps.endRemovedClient(request.clientId, request.secretArn);
        deps.logger.info('client removed: registration deleted, keys revoked', { clientId: request.clientId, secretArn: request.secretArn, revokedVersionIds });
        return { PhysicalResourceId: physicalResourceId };
      }
      if (request.oldSecretArn !== undefined && request.oldSecretArn !== request.secretArn) throw secretRenameRefused(request.clientId, request.oldSecretArn, request.secretArn);
      await deps.registry.registerClient({ clientId: request.clientId, secretArn: request.secretArn, settings: request.settings, registeredAtMs: deps.clock(), registeredBy: DEPLOYMENT_REGISTRANT });
      deps.logger.info('client registered', { requestType: request.requestType, clientId: request.clientId, secretArn: request.secretArn });
      return { PhysicalResourceId: physicalResourceId };
    }
    const isNewSecret = request.requestType === 'Create' || (request.requestType === 'Update' && request.oldSecretId !== request.secretId);
    if (!isNewSecret) {
      deps.logger.info('first key: nothing to do', { requestType: request.requestType, secretId: request.secretId });
      return { PhysicalResourceId: request.physicalResourceId ?? request.secretId };
    }
    const { versionId } = await deps.issueFirstKey(request.secretId);
    deps.logger.info('first key issued', { requestType: request.requestType, secretId: request.secretId, versionId });
    return { PhysicalResourceId: request.secretId, Data: { VersionId: versionId } };
  };
}

/**
 * A changed secret name replaces the secret: CloudFormation creates the new one, the client gets a new key there,
 * and whatever reads the old name keeps a key that ends. Refused before anything changes, so the deploy rolls
 * back (an upgrade from the old default prefix `keyroll/clients/`, a changed construct id or prefix).
 */
function secretRenameRefused(clientId: string, oldArn: string, newArn: string): SecretRenameRefusedError {
  const nameOf = (arn: string) => arn.slice(arn.indexOf(':secret:') + ':secret:'.length).replace(/-[A-Za-z0-9]{6}$/, '');
  const oldName = nameOf(oldArn);
  const oldPrefix = oldName.endsWith(clientId) ? oldName.slice(0, -clientId.length) : undefined;
  return new SecretRenameRefusedError(
    `client "${clientId}" has the secret ${oldName}; this deploy would replace it with ${nameOf(newArn)}, a new secret with a new key that nothing reading the old name sees` +
      (oldPrefix === undefined ? '' : `: deploy with secretNamePrefix: '${oldPrefix}' to keep it`) +
      ', or remove the client and add it again to move it',
  );
}
