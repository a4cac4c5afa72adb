import type { RotateSecretRequest } from '@aws-sdk/client-secrets-manager';
import type { SecretsManagerModel } from './secrets-manager-model';

/** The event Secrets Manager sends to a rotation function. */
export interface RotationFunctionEvent {
  readonly Step: 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret';
  readonly SecretId: string;
  readonly ClientRequestToken: string;
  readonly RotationToken: string;
}

export type RotationFunction = (event: RotationFunctionEvent) => Promise<unknown>;

export interface RotationRun {
  readonly versionId: string;
  readonly outcome: 'succeeded' | 'failed';
  /** The error of each failed attempt, in order. */
  readonly errors: readonly unknown[];
}

const ROTATION_STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;

/**
 * RotateSecret followed by what Secrets Manager then does: invoke the four steps in order, and when one
 * fails, start again from createSecret with the same token, up to `attempts` times. With
 * RotateImmediately=false it runs testSecret alone against a version holding the current value.
 */
export async function rotateSecret(
  model: SecretsManagerModel,
  request: RotateSecretRequest,
  rotationFunction: RotationFunction,
  options: { readonly attempts?: number } = {},
): Promise<RotationRun> {
  const { ARN, VersionId } = model.rotateSecret(request);
  if (ARN === undefined || VersionId === undefined) throw new Error('RotateSecret returned no ARN or VersionId');
  const rotation = model.rotationInProgress(ARN);
  if (rotation === undefined) throw new Error('RotateSecret started no rotation');
  const invoke = (Step: RotationFunctionEvent['Step']) =>
    rotationFunction({ Step, SecretId: ARN, ClientRequestToken: VersionId, RotationToken: rotation.rotationToken });

  const steps = rotation.rotateImmediately ? ROTATION_STEPS : (['testSecret'] as const);
  const attempts = rotation.rotateImmediately ? (options.attempts ?? 3) : 1;
  const errors: unknown[] = [];
  for (let attempt = 0; attempt < attempts; attempt++) {
    try {
      for (const step of steps) await invoke(step);
      model.endRotation(ARN, 'succeeded');
      return { versionId: VersionId, outcome: 'succeeded', errors };
    } catch (error) {
      errors.push(error);
    }
  }
  model.endRotation(ARN, 'failed');
  return { versionId: VersionId, outcome: 'failed', errors };
}
