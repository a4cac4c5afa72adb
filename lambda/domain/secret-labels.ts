import type { SecretDescription } from './ports';

/** The versions carrying a staging label (a label is on one version, but a list reads the same for none). */
export function versionsWithStage(secret: SecretDescription, stage: string): string[] {
  return [...secret.versionStages].filter(([, stages]) => stages.includes(stage)).map(([versionId]) => versionId);
}

export function versionWithStage(secret: SecretDescription, stage: string): string | undefined {
  return versionsWithStage(secret, stage)[0];
}

/**
 * Every version that carries a staging label: Secrets Manager still tracks it (current, previous, pending or a
 * label of the user's), so a key it holds is not one an abandoned rotation left behind.
 */
export function labelledVersionIds(secret: SecretDescription): ReadonlySet<string> {
  return new Set([...secret.versionStages].filter(([, stages]) => stages.length > 0).map(([versionId]) => versionId));
}
