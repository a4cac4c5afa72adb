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

/** RotateSecret, then the step invocations Secrets Manager makes for it (see {@link runRotation}). */
export async function rotateSecret(
  model: SecretsManagerModel,
  request: RotateSecretRequest,
  rotationFunction: RotationFunction,
  options: { readonly attempts?: number } = {},
): Promise<RotationRun> {
  const { ARN } = model.rotateSecret(request);
  if (ARN === undefined) throw new Error('RotateSecret returned no ARN');
  return runRotation(model, ARN, rotationFunction, options);
}

/**
 * What Secrets Manager does for the rotation in progress on a secret: invoke the four steps in order, and
 * when one fails, start again from createSecret with the same token, up to `attempts` times. With
 * RotateImmediately=false it runs testSecret alone against a version holding the current value.
 */
export async function runRotation(
  model: SecretsManagerModel,
  secretArn: string,
  rotationFunction: RotationFunction,
  options: { readonly attempts?: number } = {},
): Promise<RotationRun> {
  const rotation = model.rotationInProgress(secretArn);
  if (rotation === undefined) throw new Error(`no rotation in progress on ${secretArn}`);
  const invoke = (Step: RotationFunctionEvent['Step']) =>
    rotationFunction({ Step, SecretId: secretArn, ClientRequestToken: rotation.versionId, RotationToken: rotation.rotationToken });

  const steps = rotation.rotateImmediately ? ROTATION_STEPS : (['testSecret'] as const);
  const attempts = rotation.rotateImmediately ? (options.attempts ?? 3) : 1;
  const errors: unknown[] = [];
  for (let attempt = 0; attempt < attempts; attempt++) {
    try {
      for (const step of steps) await invoke(step);
      model.endRotation(secretArn, 'succeeded', rotation.versionId);
      return { versionId: rotation.versionId, outcome: 'succeeded', errors };
    } catch (error) {
      errors.push(error);
    }
  }
  model.endRotation(secretArn, 'failed', rotation.versionId);
  return { versionId: rotation.versionId, outcome: 'failed', errors };
}
