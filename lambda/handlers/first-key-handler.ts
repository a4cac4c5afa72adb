import type { Logger } from '@aws-lambda-powertools/logger';
import { InvalidFirstKeyEventError } from '../domain/errors';

interface FirstKeyRequest {
  readonly requestType: 'Create' | 'Update' | 'Delete';
  readonly secretId: string;
  readonly oldSecretId?: string;
  readonly physicalResourceId?: string;
}

/** What the custom resource provider framework expects back. */
export interface CustomResourceResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: Record<string, string>;
}

export function parseFirstKeyEvent(event: unknown): FirstKeyRequest {
  if (typeof event !== 'object' || event === null) throw new InvalidFirstKeyEventError('the event is not an object');
  const fields = event as Record<string, unknown>;
  const requestType = fields['RequestType'];
  if (requestType !== 'Create' && requestType !== 'Update' && requestType !== 'Delete') {
    throw new InvalidFirstKeyEventError(`RequestType must be Create, Update or Delete; got ${JSON.stringify(requestType)}`);
  }
  const secretId = secretIdOf(fields['ResourceProperties']);
  if (secretId === undefined) throw new InvalidFirstKeyEventError('ResourceProperties.SecretId must be a non-empty string');
  const oldSecretId = secretIdOf(fields['OldResourceProperties']);
  const physicalResourceId = typeof fields['PhysicalResourceId'] === 'string' ? fields['PhysicalResourceId'] : undefined;
  return { requestType, secretId, ...(oldSecretId === undefined ? {} : { oldSecretId }), ...(physicalResourceId === undefined ? {} : { physicalResourceId }) };
}

function secretIdOf(properties: unknown): string | undefined {
  if (typeof properties !== 'object' || properties === null) return undefined;
  const secretId = (properties as Record<string, unknown>)['SecretId'];
  return typeof secretId === 'string' && secretId.length > 0 ? secretId : undefined;
}

/**
 * The custom resource that issues a client's first key when its secret is created (or replaced), and does
 * nothing on later deploys or on deletion: a deploy never rotates a key by itself.
 */
export function createFirstKeyHandler(deps: {
  readonly issueFirstKey: (secretId: string) => Promise<{ readonly versionId: string }>;
  readonly logger: Logger;
}) {
  return async (event: unknown): Promise<CustomResourceResponse> => {
    const request = parseFirstKeyEvent(event);
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
