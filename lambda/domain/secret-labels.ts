import type { SecretDescription } from './ports';

/** The versions carrying a staging label (a label is on one version, but a list reads the same for none). */
export function versionsWithStage(secret: SecretDescription, stage: string): string[] {
  return [...secret.versionStages].filter(([, stages]) => stages.includes(stage)).map(([versionId]) => versionId);
}

export function versionWithStage(secret: SecretDescription, stage: string): string | undefined {
  return versionsWithStage(secret, stage)[0];
}
