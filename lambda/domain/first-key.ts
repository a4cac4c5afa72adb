import { FirstKeyTimeoutError } from './errors';
import { AWSCURRENT, AWSPENDING, type RotationControl, type SecretDescription } from './ports';
import { versionWithStage } from './secret-labels';

export interface FirstKeyDependencies {
  readonly control: RotationControl;
  readonly clock: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly timeoutMs: number;
  readonly pollIntervalMs: number;
}

/**
 * Issues a new client's first key: waits, with DescribeSecret only, until no rotation is in progress
 * (the rotation schedule's own RotateImmediately=false test may still hold AWSPENDING), rotates once, and
 * waits until the new version is AWSCURRENT, so that the stack (or the CLI) reports success only when the
 * client has a working key. RotateSecret is never used to ask "busy?": each call may restart the rotation
 * in progress (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotateSecret.html). If it
 * still answers busy (a rotation began between the two calls), the wait starts over, within the same deadline.
 */
export async function issueFirstKey(secretId: string, deps: FirstKeyDependencies): Promise<{ readonly versionId: string }> {
  const deadlineMs = deps.clock() + deps.timeoutMs;
  for (;;) {
    let secret = await deps.control.describe(secretId);
    while (rotationInProgress(secret)) {
      await waitOrTimeOut(deps, deadlineMs, `secret ${secretId} still has a rotation in progress`);
      secret = await deps.control.describe(secretId);
    }
    const start = await deps.control.startRotation(secretId);
    if (start.kind === 'busy') {
      await waitOrTimeOut(deps, deadlineMs, `secret ${secretId} still has a rotation in progress`);
      continue;
    }
    const { versionId } = start;
    while (!(await deps.control.describe(secretId)).versionStages.get(versionId)?.includes(AWSCURRENT)) {
      await waitOrTimeOut(deps, deadlineMs, `the first rotation of secret ${secretId} (version ${versionId}) has not completed; see the rotation function's logs`);
    }
    return { versionId };
  }
}

/** AWSPENDING on a version that is not AWSCURRENT: a rotation that has not finished. */
function rotationInProgress(secret: SecretDescription): boolean {
  const pending = versionWithStage(secret, AWSPENDING);
  return pending !== undefined && !(secret.versionStages.get(pending) ?? []).includes(AWSCURRENT);
}

async function waitOrTimeOut(deps: FirstKeyDependencies, deadlineMs: number, situation: string): Promise<void> {
  if (deps.clock() >= deadlineMs) throw new FirstKeyTimeoutError(`${situation} after ${Math.round(deps.timeoutMs / 1000)} s`);
  await deps.sleep(deps.pollIntervalMs);
}
