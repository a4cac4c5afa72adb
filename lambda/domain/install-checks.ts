import { CLIENT_TAG } from './client-settings';
import { windowStatus } from './key-version';
import { checkScheduleExpression, ScheduleError } from './rotation-schedule';
import { AWSCURRENT, AWSPENDING, type ClientRegistry, type KeyTable, type SecretDirectory } from './ports';
import { versionWithStage } from './secret-labels';

/** One finding of `keyroll doctor`: what was checked, whether it holds, and what to do when it does not. */
export interface CheckResult {
  readonly check: string;
  readonly ok: boolean;
  readonly detail: string;
  /** What to do about it; empty when ok. */
  readonly fix: string;
}

/**
 * The checks of an install's clients that need no more than the operator's read access: each client's rotation
 * is on, not stuck, and its current version is in the key table and accepted now. Checks of the account
 * (API Gateway's logging role, topic policies) live with the CLI, which has those clients.
 */
export async function checkClients(deps: {
  readonly secrets: SecretDirectory;
  readonly keys: Pick<KeyTable, 'listClientVersions'>;
  readonly registry: Pick<ClientRegistry, 'listRegistrations'>;
  readonly secretNamePrefix: string;
  readonly nowMs: number;
}): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const [secrets, registrations] = await Promise.all([deps.secrets.listManagedSecrets(deps.secretNamePrefix), deps.registry.listRegistrations()]);
  const registeredArns = new Set(registrations.map(({ secretArn }) => secretArn));
  results.push({
    check: 'clients found',
    ok: secrets.length > 0,
    detail: `${secrets.length} client secret(s) under ${deps.secretNamePrefix}`,
    fix: secrets.length > 0 ? '' : 'declare clients in the construct, or add one: keyroll clients add <id>',
  });
  for (const registration of registrations.filter(({ secretArn }) => !secrets.some((secret) => secret.arn === secretArn))) {
    results.push({
      check: `${registration.clientId}: secret exists`,
      ok: false,
      detail: `the registration names ${registration.secretArn}, which this install's secrets do not include`,
      fix: `remove the client (keyroll clients remove ${registration.clientId}) and add it again`,
    });
  }
  for (const secret of secrets) {
    const clientId = secret.tags.get(CLIENT_TAG.clientId) ?? secret.arn;
    const registered = registeredArns.has(secret.arn);
    results.push({
      check: `${clientId}: registered`,
      ok: registered,
      detail: registered ? 'the registration names this secret: keyroll issues it keys' : `${secret.arn} is not registered: keyroll issues it no key (refused as rotation.refused)`,
      fix: registered ? '' : `if you made this secret (before keyroll 0.2), register it: keyroll clients adopt ${clientId}; otherwise find out who made it, and delete it`,
    });
    if (!registered) continue;
    const currentId = versionWithStage(secret, AWSCURRENT);
    const pendingId = versionWithStage(secret, AWSPENDING);
    results.push({
      check: `${clientId}: rotation on`,
      ok: secret.rotationEnabled,
      detail: secret.rotationEnabled ? 'rotation is enabled' : 'rotation is not enabled: the key never changes',
      fix: secret.rotationEnabled ? '' : `turn it on with the install's rotation function and schedule, or remove and add the client again (keyroll clients remove ${clientId}; keyroll clients add ${clientId})`,
    });
    const schedule = scheduleProblem(secret.rotationRules);
    results.push({
      check: `${clientId}: schedule valid`,
      ok: schedule === undefined,
      detail: schedule ?? (secret.rotationRules === undefined ? 'no schedule: only operators rotate this key' : `${secret.rotationRules.scheduleExpression}${secret.rotationRules.duration === undefined ? '' : `, window ${secret.rotationRules.duration}`}`),
      fix: schedule === undefined ? '' : 'set a schedule Secrets Manager accepts (the README\'s configuration), then rotate once',
    });
    const stuck = pendingId !== undefined && pendingId !== currentId;
    results.push({
      check: `${clientId}: no rotation stuck`,
      ok: !stuck,
      detail: stuck ? `AWSPENDING sits on ${pendingId}, which is not AWSCURRENT` : 'no rotation in progress',
      fix: stuck ? 'see the rotation function\'s log for the failing step, fix it, clear AWSPENDING (the runbook\'s rotation.stuck) and rotate again' : '',
    });
    const current = currentId === undefined ? undefined : (await deps.keys.listClientVersions(clientId)).find((version) => version.versionId === currentId);
    const accepted = current !== undefined && windowStatus(current, deps.nowMs) === 'valid';
    results.push({
      check: `${clientId}: current key accepted`,
      ok: accepted,
      detail: current === undefined ? `the current version ${currentId ?? '(none)'} is not in the key table` : `version ${current.versionId} is ${windowStatus(current, deps.nowMs)}`,
      fix: accepted ? '' : `rotate the client so that it gets a key the authorizer accepts: keyroll rotate ${clientId}`,
    });
  }
  return results;
}

function scheduleProblem(rules: { readonly scheduleExpression: string; readonly duration?: string } | undefined): string | undefined {
  if (rules === undefined) return undefined;
  try {
    checkScheduleExpression(rules.scheduleExpression, rules.duration);
    return undefined;
  } catch (error) {
    if (error instanceof ScheduleError) return error.message;
    throw error;
  }
}

/** Beyond this, the operator's times (`--by`, `--since`, the status timeline) disagree with AWS's. */
export const CLOCK_SKEW_LIMIT_MS = 5_000;

/** The skew between this machine and a service's Date header, which has one-second resolution: a second is noise. */
export function clockSkewCheck(localMs: number, serviceMs: number | undefined): CheckResult {
  if (serviceMs === undefined) return { check: 'clock', ok: true, detail: 'the service sent no Date header; not measured', fix: '' };
  const skewMs = Math.max(0, Math.abs(localMs - serviceMs) - 1_000);
  const ok = skewMs <= CLOCK_SKEW_LIMIT_MS;
  return {
    check: 'clock',
    ok,
    detail: ok ? "this machine's clock agrees with the service's within a few seconds" : `this machine's clock is off by about ${Math.round(skewMs / 1000)} s`,
    fix: ok ? '' : "synchronize this machine's clock (NTP): keys' windows are decided by AWS's clocks, and the times given to --by and --since by this one",
  };
}
