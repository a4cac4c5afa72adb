import type { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { InvalidRotationEventError, UnissuedKeyError, UnregisteredSecretError } from '../domain/errors';
import { ROTATION_STEPS, type KeyRotation, type RotationRequest, type RotationStep } from '../domain/rotation';

/** Parses the rotation event. Error messages quote the bad field, except RotationToken, which is never shown. */
export function parseRotationEvent(event: unknown): RotationRequest {
  if (typeof event !== 'object' || event === null) throw new InvalidRotationEventError('the rotation event must be a JSON object');
  const fields = event as Record<string, unknown>;
  const step = fields['Step'];
  if (typeof step !== 'string' || !isRotationStep(step)) {
    throw new InvalidRotationEventError(`Step must be one of ${ROTATION_STEPS.join(', ')}; got ${quote(step)}`);
  }
  const secretId = requireText(fields, 'SecretId');
  const token = requireText(fields, 'ClientRequestToken');
  const rotationToken = fields['RotationToken'];
  if (rotationToken !== undefined && typeof rotationToken !== 'string') {
    throw new InvalidRotationEventError('RotationToken must be a string when present');
  }
  return rotationToken === undefined ? { step, secretId, token } : { step, secretId, token, rotationToken };
}

/**
 * The rotation function's handler: parse the event, run the step, log what happened. A failure is logged
 * and rethrown, so that Secrets Manager sees the step fail and retries the rotation.
 */
export function createRotationHandler(deps: {
  readonly rotation: KeyRotation;
  readonly logger: Logger;
  /** Counts a rotation refused a key (an unregistered secret, a value keyroll did not generate): one metric each. */
  readonly countRefusal?: () => void;
}) {
  return async (event: unknown, context?: Context): Promise<void> => {
    const { logger } = deps;
    if (context !== undefined) logger.addContext(context);
    const request = parseRotationEvent(event);
    logger.appendKeys({ step: request.step, secretId: request.secretId, versionId: request.token });
    try {
      const outcome = await deps.rotation.runStep(request);
      logger.info('rotation step done', { outcome });
    } catch (error) {
      if (error instanceof UnregisteredSecretError || error instanceof UnissuedKeyError) {
        logger.error('rotation refused: keyroll issues keys only for the secret it registered for a client', error);
        deps.countRefusal?.();
      } else {
        logger.error('rotation step failed', error instanceof Error ? error : String(error));
      }
      throw error;
    } finally {
      logger.removeKeys(['step', 'secretId', 'versionId']);
    }
  };
}

function isRotationStep(value: string): value is RotationStep {
  return (ROTATION_STEPS as readonly string[]).includes(value);
}

function requireText(fields: Record<string, unknown>, name: string): string {
  const value = fields[name];
  if (typeof value !== 'string' || value.length === 0) throw new InvalidRotationEventError(`${name} must be a non-empty string; got ${quote(value)}`);
  return value;
}

function quote(value: unknown): string {
  const text = value === undefined ? 'nothing' : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}
