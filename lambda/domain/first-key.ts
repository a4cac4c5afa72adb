import { KeyrollError } from './errors';
import { AWSCURRENT, type SecretDescription } from './ports';

/** The new client's first rotation did not complete in time. */
export class FirstKeyTimeoutError extends KeyrollError {
  override readonly name = 'FirstKeyTimeoutError';
}

export type RotationStart = { readonly kind: 'started'; readonly versionId: string } | { readonly kind: 'busy' };

/** Starting rotations: Secrets Manager's RotateSecret, and DescribeSecret to watch it. */
export interface RotationControl {
  describe(secretId: string): Promise<SecretDescription>;
  /** RotateSecret with the rotation configured on the secret; `busy` while another rotation is unfinished. */
  startRotation(secretId: string): Promise<RotationStart>;
}

export interface FirstKeyDependencies {
  readonly control: RotationControl;
  readonly clock: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly timeoutMs: number;
  readonly pollIntervalMs: number;
}

/**
 * Issues a new client's first key: rotates its placeholder secret once and waits until the new version is
 * AWSCURRENT, so that the stack (or the CLI) reports success only when the client has a working key. The
 * rotation schedule's own test run (RotateImmediately=false) may still hold AWSPENDING when this starts,
 * so a busy secret is waited for, not failed.
 */
export async function issueFirstKey(secretId: string, deps: FirstKeyDependencies): Promise<{ readonly versionId: string }> {
  const deadlineMs = deps.clock() + deps.timeoutMs;
  let start = await deps.control.startRotation(secretId);
  while (start.kind === 'busy') {
    await waitOrTimeOut(deps, deadlineMs, `secret ${secretId} still has a rotation in progress`);
    start = await deps.control.startRotation(secretId);
  }
  const { versionId } = start;
  while (!(await deps.control.describe(secretId)).versionStages.get(versionId)?.includes(AWSCURRENT)) {
    await waitOrTimeOut(deps, deadlineMs, `the first rotation of secret ${secretId} (version ${versionId}) has not completed; see the rotation function's logs`);
  }
  return { versionId };
}

async function waitOrTimeOut(deps: FirstKeyDependencies, deadlineMs: number, situation: string): Promise<void> {
  if (deps.clock() >= deadlineMs) throw new FirstKeyTimeoutError(`${situation} after ${Math.round(deps.timeoutMs / 1000)} s`);
  await deps.sleep(deps.pollIntervalMs);
}
