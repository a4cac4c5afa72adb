import { readFileSync } from 'node:fs';
import { Argument, Command, CommanderError, Option } from 'commander';
import { version as KEYROLL_VERSION } from '../package.json';
import { containsKeyShapedText } from '../lambda/domain/api-key';
import { KeyrollError, NewClientSettingsRefusedError, OperationRefusedError, UnknownClientOrVersionError } from '../lambda/domain/errors';
import { AWSCURRENT, AWSPENDING } from '../lambda/domain/ports';
import { fleetEntryOf, sortFleet, type ClientStatus, type FailClosedRevocation, type FleetEntry } from '../lambda/domain/key-operations';
import { CLIENT_ID_PATTERN, CLIENT_TAG, graceTooShort } from '../lambda/domain/client-settings';
import { checkClients, clockSkewCheck, type CheckResult } from '../lambda/domain/install-checks';
import { versionWithStage } from '../lambda/domain/secret-labels';
import { revocationSeenAfterMs, type CacheFlushReport } from '../lambda/domain/authorizer-cache-flush';
import type { KeyVersion } from '../lambda/domain/key-version';
import { parseDuration, parseInstant, UsageError } from './durations';
import { InstallNotFoundError, openInstall, type InstallContext, type InstallOptions } from './install-context';

/** Exit statuses, documented in the README. */
export const EXIT = { ok: 0, refused: 1, usage: 2, install: 3, failed: 4, partial: 5 } as const;

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env?: NodeJS.ProcessEnv;
  /** Time between polls while waiting for a rotation. */
  readonly pollMs?: number;
  /** Standard error is a terminal: a progress line that rewrites itself may be shown there. */
  readonly progress?: boolean;
  /** Asks the operator a yes/no question; absent when there is no terminal to ask on. */
  readonly confirm?: (question: string) => Promise<boolean>;
}

interface GlobalOptions extends InstallOptions {
  readonly json?: boolean;
}

/**
 * `keyroll`: operate an install from one command. Every command answers in text, or with `--json` in one JSON
 * document on standard output (errors too: `{"error": {"code", "message"}}`), and exits with a documented status.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode: number = EXIT.ok;
  let json = false;
  const program = new Command('keyroll')
    .description('Operate a keyroll install: its clients, their keys, rotations and audit trail.')
    .option('--stack <name>', 'the CloudFormation stack that has the RotatingApiKeys construct')
    .option('--region <region>', 'AWS region of the stack (default: the standard AWS configuration)')
    .option('--profile <profile>', 'AWS profile to use')
    .option('--local', 'the install that npm start or npm run local:aws runs on this machine')
    .option('--json', 'answer with one JSON document on standard output')
    // Each command's help shows these global options too.
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    // Under --json the error is the JSON answer; the help after it would be noise on standard error.
    .showHelpAfterError(!argv.includes('--json'))
    .addHelpText(
      'after',
      `
Exit status: ${EXIT.ok} done; ${EXIT.refused} refused (unknown client or version, or not allowed as asked); ${EXIT.usage} the command line is wrong;
${EXIT.install} the install cannot be found or read; ${EXIT.failed} an AWS call failed; ${EXIT.partial} the key is revoked, but the new key
or the flush of API Gateway's caches is not done (the output says which, and what to do).

keyroll --version prints its version.

Examples:
  keyroll --stack Orders clients list
  keyroll --stack Orders rotate acme --reason "quarterly"
  keyroll --local --json status acme`,
    );

  const withInstall = (action: (install: InstallContext, options: GlobalOptions, ...args: never[]) => Promise<unknown>) =>
    async (...args: unknown[]) => {
      const options = program.opts<GlobalOptions>();
      json = options.json === true;
      if (options.local === true && options.stack !== undefined) throw new UsageError('give --local or --stack <name>, not both: they name different installs');
      const install = await openInstall(options, io.env);
      try {
        const result = await action(install, options, ...(args as never[]));
        if (json) io.stdout(`${JSON.stringify(result)}\n`);
      } finally {
        install.close();
      }
    };
  const say = (text: string) => {
    if (!json) io.stdout(`${text}\n`);
  };
  /** A destructive command goes ahead only when the operator says yes on a terminal, or gave --yes. */
  const confirmed = async (yes: boolean | undefined, question: string, what: string): Promise<void> => {
    if (yes === true) return;
    if (io.confirm === undefined) throw new UsageError(`${what}; there is no terminal to ask on, so add --yes`);
    if (!(await io.confirm(`${question} [y/N] `))) throw new OperationRefusedError('nothing was changed: the operator said no');
  };
  /** Waits for every authorizer to read the revocation, flushes API Gateway's caches, and says what holds. */
  const flushAfter = async (install: InstallContext, ...revoked: readonly KeyVersion[]): Promise<FlushSummary> => {
    if (!json) io.stderr(`waiting ${revocationSeenAfterMs(install.description.revocationPollMs)} ms for every authorizer container to read the revocation, then flushing API Gateway's caches…\n`);
    const revokedAtMs = Math.max(...revoked.map((version) => version.revokedAtMs ?? Date.now()));
    const report = await install.flushAfterRevocation({ keyHashes: revoked.map((version) => version.keyHash), revokedAtMs });
    const summary = flushSummary(report, revokedAtMs, install.description.authorizerResultsCacheTtlSeconds);
    say(summary.ok ? `authorizer caches flushed: ${report.flushed.join(', ') || 'none found'}` : summary.warning);
    if (!summary.ok && !json) for (const failure of report.failed) io.stdout(`  ${failure.target}: ${failure.error}\n    by hand: ${failure.byHand}\n`);
    return summary;
  };

  /** Runs the steps up to and including a revocation: when one fails, the operator is told the key still works. */
  const notRevokedUnless = async <T>(steps: () => Promise<T>): Promise<T> => {
    try {
      return await steps();
    } catch (error) {
      if (error instanceof KeyrollError || (error instanceof Error && error.name === 'UsageError')) throw error;
      throw new RevocationNotMadeError(`NOT revoked: ${errorText(error)}. The key is still accepted. The key table must answer for a revocation; retry the command when it does.`);
    }
  };

  const clients = program.command('clients').description('the install\'s clients');
  clients
    .command('list')
    .description('every client of the install, with its current key version')
    .action(
      withInstall(async (install) => {
        const [secrets, registrations] = await Promise.all([install.secrets.listManagedSecrets(install.description.secretNamePrefix), install.keys.listRegistrations()]);
        const list = registrations.map((registration) => {
          const secret = secrets.find((candidate) => candidate.arn === registration.secretArn);
          return { clientId: registration.clientId, secretArn: registration.secretArn, currentVersionId: (secret === undefined ? undefined : versionWithStage(secret, AWSCURRENT)) ?? null };
        });
        const unregistered = secrets.filter((secret) => !registrations.some(({ secretArn }) => secretArn === secret.arn)).map((secret) => ({ clientId: secret.tags.get(CLIENT_TAG.clientId) ?? '', secretArn: secret.arn }));
        for (const c of list) say(`${c.clientId.padEnd(24)} ${c.currentVersionId ?? '(no key yet)'}`);
        // Named by the secret, not the client it claims to be: anyone who may create a secret may tag it with any client id.
        for (const u of unregistered) say(`(not registered) ${u.secretArn.split(':').at(-1) ?? u.secretArn} tagged "${u.clientId}": gets no key; see keyroll doctor`);
        return { clients: list, unregisteredSecrets: unregistered };
      }),
    );

  clients
    .command('add')
    .description('add a client at run time, no deploy: its secret, tags, resource policy and rotation, then its first key')
    .addArgument(clientIdArgument('<clientId>'))
    .option('--scopes <list>', 'comma-separated scopes, e.g. orders:read,orders:write')
    .option('--grace <duration>', 'how long its replaced key stays accepted (default: the install\'s)')
    .option('--schedule <expression>', 'a Secrets Manager schedule, e.g. "rate(30 days)" (default: the install\'s)')
    .option('--max-key-age <duration>', 'a hard end for each key version, in whole days (e.g. 90d)')
    .option('--public-key <file>', 'turn on key delivery: the client\'s X25519 public key (base64url, or a JWK with "x")')
    .option('--close-when-switched <duration>', 'end a replaced key early once the client has used only its new key this long (whole hours, up to 7d)')
    .option('--usage-plan <name>', 'put the client in one of the install\'s usage plans: its throttle and quota, kept across rotations')
    .option('--rescue-missed <duration>', 'accept a replaced key again once, this long (whole hours, up to 24h), when the client is caught still sending it after its window ended')
    .option('--reason <text>', 'why, for the audit trail', 'new client')
    .option('--no-wait', 'return once the first rotation has started')
    .addOption(new Option('--timeout <duration>', 'how long to wait for the first key').default('2m'))
    .action(
      withInstall(async (install, _options, clientId: string, options: { scopes?: string; grace?: string; schedule?: string; maxKeyAge?: string; publicKey?: string; closeWhenSwitched?: string; rescueMissed?: string; usagePlan?: string; reason: string; wait: boolean; timeout: string }) => {
        // Every option read, and the construct's rules applied, before anything is created: bad input loses nothing.
        const wholeDays = (text: string, option: string) => {
          const days = parseDuration(text, option) / 86_400_000;
          if (!Number.isInteger(days)) throw new UsageError(`${option} must be whole days, e.g. 90d; got "${text}"`);
          return days;
        };
        const maxKeyAgeDays = options.maxKeyAge === undefined ? undefined : wholeDays(options.maxKeyAge, '--max-key-age');
        const gracePeriodSeconds = options.grace === undefined ? undefined : Math.round(parseDuration(options.grace, '--grace') / 1000);
        const closeWhenSwitchedHours = options.closeWhenSwitched === undefined ? undefined : parseDuration(options.closeWhenSwitched, '--close-when-switched') / 3_600_000;
        const rescueMissedHours = options.rescueMissed === undefined ? undefined : parseDuration(options.rescueMissed, '--rescue-missed') / 3_600_000;
        const timeoutMs = parseDuration(options.timeout, '--timeout');
        const deliveryPublicKey = options.publicKey === undefined ? undefined : readPublicKey(options.publicKey);
        const { authorizerResultsCacheTtlSeconds, authorizerCacheTtlSeconds, keyDelivery } = install.description;
        if (gracePeriodSeconds !== undefined && authorizerResultsCacheTtlSeconds !== undefined && authorizerCacheTtlSeconds !== undefined) {
          const shortfall = graceTooShort(gracePeriodSeconds, { resultsCacheTtlSeconds: authorizerResultsCacheTtlSeconds, authorizerCacheTtlSeconds });
          if (shortfall !== undefined) throw new UsageError(`--grace of ${options.grace ?? ''} ${shortfall}`);
        }
        if (deliveryPublicKey !== undefined && keyDelivery === false) {
          throw new UsageError('--public-key: this install has no key delivery URL (no declared client has a deliveryPublicKey); give one client a deliveryPublicKey in the construct and deploy first');
        }
        const added = await install.provisioning.add({
          clientId,
          reason: options.reason,
          actor: install.actor,
          ...(options.scopes === undefined ? {} : { scopes: options.scopes.split(',').map((scope) => scope.trim()).filter((scope) => scope !== '') }),
          ...(gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds }),
          ...(options.schedule === undefined ? {} : { scheduleExpression: options.schedule }),
          ...(maxKeyAgeDays === undefined ? {} : { maxKeyAgeDays }),
          ...(deliveryPublicKey === undefined ? {} : { deliveryPublicKey }),
          ...(closeWhenSwitchedHours === undefined ? {} : { closeWhenSwitchedHours }),
          ...(options.usagePlan === undefined ? {} : { usagePlan: options.usagePlan }),
          ...(rescueMissedHours === undefined ? {} : { rescueMissedHours }),
        });
        if (options.wait && !(await waitUntilCurrent(install, added.secretArn, added.firstVersionId, timeoutMs, clientId))) {
          throw new OperationRefusedError(`${clientId} was added, but its first key was not current within ${Math.round(timeoutMs / 1000)} s; see keyroll status ${clientId} and keyroll events ${clientId}`);
        }
        say(`${clientId}: added (${added.secretArn}); first key ${options.wait ? 'is current' : 'is being issued'}: version ${added.firstVersionId}`);
        return { clientId, secretArn: added.secretArn, versionId: added.firstVersionId, current: options.wait };
      }),
    );

  clients
    .command('adopt')
    .description('register a client secret made before keyroll kept registrations (0.1): its settings from its keyroll:* tags, and the current write guard')
    .addArgument(clientIdArgument('<clientId>'))
    .requiredOption('--reason <text>', 'why, for the audit trail')
    .action(
      withInstall(async (install, _options, clientId: string, options: { reason: string }) => {
        const adopted = await install.provisioning.adopt({ clientId, reason: options.reason, actor: install.actor });
        say(`${clientId}: registered (${adopted.secretArn}); settings: ${Object.entries(adopted.settings).map(([name, value]) => `${name}=${value}`).join(', ') || 'the install\'s defaults'}`);
        return { clientId, secretArn: adopted.secretArn, settings: adopted.settings };
      }),
    );

  clients
    .command('remove')
    .description('revoke every key of a client, then delete its secret (restorable for 7 days); asks first unless --yes')
    .addArgument(clientIdArgument('<clientId>'))
    .requiredOption('--reason <text>', 'why, for the audit trail and the client')
    .option('--yes', 'do not ask')
    .action(
      withInstall(async (install, _options, clientId: string, options: { reason: string; yes?: boolean }) => {
        if (options.yes !== true) {
          const question = `Revoke every key of ${clientId} and delete its secret? Its requests will be refused. [y/N] `;
          if (io.confirm === undefined) throw new UsageError(`removing ${clientId} revokes every key it has; there is no terminal to ask on, so add --yes`);
          if (!(await io.confirm(question))) throw new OperationRefusedError(`${clientId} was not removed`);
        }
        const removed = await install.provisioning.remove({ clientId, reason: options.reason, actor: install.actor });
        const deletesAt = new Date(removed.deletionDateMs).toISOString();
        say(`${clientId}: removed; revoked ${removed.revokedVersionIds.length} key version(s)`);
        say(`  its secret is deleted at ${deletesAt}; until then it can be restored:`);
        say(`    aws secretsmanager restore-secret --secret-id ${removed.secretId}`);
        say(`    keyroll clients adopt ${clientId} --reason "…"   then   keyroll rotate ${clientId} --reason "…"   (its old keys stay revoked)`);
        // The revoked keys' cached answers go too, as after a revoke.
        const revoked = (await install.keys.listClientVersions(clientId)).filter((version) => removed.revokedVersionIds.includes(version.versionId));
        const flush = revoked.length === 0 ? undefined : await flushAfter(install, ...revoked);
        if (flush !== undefined && !flush.ok) exitCode = EXIT.partial;
        return { clientId, revokedVersionIds: removed.revokedVersionIds, secretId: removed.secretId, deletesAt, recoveryWindowDays: 7, flush: flush?.json ?? null };
      }),
    );

  /** Polls until `versionId` holds AWSCURRENT and no longer AWSPENDING, saying how long it has waited; false past the timeout. */
  const waitUntilCurrent = async (install: InstallContext, secretArn: string, versionId: string, timeoutMs: number, clientId: string): Promise<boolean> => {
    const startedMs = Date.now();
    try {
      for (;;) {
        const secret = await install.secrets.describe(secretArn);
        if (versionWithStage(secret, AWSCURRENT) === versionId && versionWithStage(secret, AWSPENDING) !== versionId) return true;
        if (Date.now() - startedMs > timeoutMs) return false;
        if (!json && io.progress === true) io.stderr(`\rwaiting for ${clientId}'s new key… ${Math.round((Date.now() - startedMs) / 1000)} s`);
        await new Promise((resolve) => setTimeout(resolve, io.pollMs ?? 500));
      }
    } finally {
      if (!json && io.progress === true) io.stderr('\n');
    }
  };

  /**
   * The rotation already in progress when an emergency started: it may be healthy and finish (its new key is
   * then current, unrevoked), or stuck. Waits for it like for the emergency's own.
   */
  const followRotationInProgress = async (install: InstallContext, secretArn: string, revokedVersionId: string, timeoutMs: number, clientId: string): Promise<EmergencyRotation> => {
    const secret = await install.secrets.describe(secretArn);
    const pending = versionWithStage(secret, AWSPENDING);
    const current = versionWithStage(secret, AWSCURRENT);
    if (pending === undefined || pending === current) {
      // It finished while the key was being revoked and the caches flushed.
      return current !== undefined && current !== revokedVersionId ? { state: 'current', versionId: current } : { state: 'busy', pendingVersionId: null };
    }
    return (await waitUntilCurrent(install, secretArn, pending, timeoutMs, clientId)) ? { state: 'current', versionId: pending } : { state: 'busy', pendingVersionId: pending };
  };

  program
    .command('status')
    .description('without a client id, every client: current key and age, keys in grace, rotations, and who needs attention first; with one, its key versions in detail')
    .addArgument(clientIdArgument('[clientId]'))
    .action(
      withInstall(async (install, _options, clientId: string | undefined) => {
        if (clientId !== undefined) {
          const status = await install.operations.status(clientId);
          say(renderStatus(status, Date.now()));
          return statusJson(status);
        }
        const registrations = await install.keys.listRegistrations();
        const statuses: ClientStatus[] = [];
        // A few at a time: each status reads the secret, the versions and their usage.
        for (let i = 0; i < registrations.length; i += 8) statuses.push(...(await Promise.all(registrations.slice(i, i + 8).map((registration) => install.operations.status(registration.clientId)))));
        const nowMs = Date.now();
        const fleet = sortFleet(statuses.map((status) => fleetEntryOf(status, nowMs)));
        say(renderFleet(fleet, nowMs));
        return { clients: fleet.map((entry) => fleetJson(entry)), needAttention: fleet.filter((entry) => entry.attention.length > 0).length };
      }),
    );

  program
    .command('rotate')
    .description('rotate a client\'s key now; waits until the new key is current. --emergency ends the current key first')
    .addArgument(clientIdArgument('<clientId>'))
    .option('--reason <text>', 'why, for the audit trail (required with --emergency)')
    .option('--emergency', 'revoke the current key at once (before rotating), tell the client (key.revoked), flush API Gateway\'s authorizer caches, then rotate; asks first unless --yes')
    .option('--yes', 'do not ask (with --emergency)')
    .option('--no-wait', 'return once the rotation has started (not with --emergency)')
    .addOption(new Option('--timeout <duration>', 'how long to wait for the new key').default('2m'))
    .action(
      withInstall(async (install, _options, clientId: string, options: { reason?: string; emergency?: boolean; yes?: boolean; wait: boolean; timeout: string }) => {
        const emergency = options.emergency === true;
        if (emergency && (options.reason === undefined || options.reason.trim() === '')) throw new UsageError('--emergency needs --reason <text>: the client and the audit trail are told why');
        if (emergency && !options.wait) throw new UsageError('--emergency waits for the new key: it cannot be combined with --no-wait');
        const timeoutMs = parseDuration(options.timeout, '--timeout');
        const reason = options.reason ?? 'operator request';
        if (!emergency) {
          const secretArn = await install.operations.secretArnOf(clientId);
          const before = versionWithStage(await install.secrets.describe(secretArn), AWSCURRENT);
          const start = await install.secrets.startRotation(secretArn);
          if (start.kind === 'busy') throw new OperationRefusedError(`client "${clientId}" already has a rotation in progress; nothing was changed; see keyroll status ${clientId}`);
          await install.operations.recordRotation({ clientId, reason, actor: install.actor });
          if (!options.wait) {
            say(`rotation of ${clientId} started: version ${start.versionId}`);
            return { clientId, previousVersionId: before ?? null, versionId: start.versionId, current: false };
          }
          if (!(await waitUntilCurrent(install, secretArn, start.versionId, timeoutMs, clientId))) {
            throw new OperationRefusedError(`the rotation of ${clientId} did not finish within ${Math.round(timeoutMs / 1000)} s; see keyroll status ${clientId} and keyroll events ${clientId}`);
          }
          // finishSecret closes the previous key's window just after it moves AWSCURRENT: wait for that, within the timeout.
          const deadlineMs = Date.now() + timeoutMs;
          let previous = before === undefined ? undefined : (await install.keys.listClientVersions(clientId)).find((version) => version.versionId === before);
          while (previous !== undefined && previous.notAfterMs === undefined && previous.revokedAtMs === undefined && Date.now() < deadlineMs) {
            await new Promise((resolve) => setTimeout(resolve, io.pollMs ?? 500));
            previous = (await install.keys.listClientVersions(clientId)).find((version) => version.versionId === before);
          }
          const previousFate =
            previous === undefined ? 'the previous key works until its grace period ends' : previous.revokedAtMs !== undefined ? `${before} stays revoked (${previous.revokedReason ?? 'no reason'})` : `${before} works until its grace period ends`;
          say(`${clientId}: version ${start.versionId} is current; ${previousFate}`);
          return { clientId, previousVersionId: before ?? null, versionId: start.versionId, current: true };
        }

        await confirmed(options.yes, `Revoke ${clientId}'s current key now, then rotate? Until its new key is current, its requests are refused.`, `an emergency rotation refuses ${clientId}'s current key at once`);
        // The key ends first, with the key table alone: whatever happens to Secrets Manager, SNS or the rotation below, it is refused.
        const ended = await notRevokedUnless(async () => {
          const target = await install.operations.revocationTarget(clientId);
          // The emergency is in the trail before anything else happens: whatever fails below, it was asked for.
          await install.operations.recordRotation({ clientId, reason: `emergency: ${reason}`, actor: install.actor });
          return { target, revocation: await install.operations.revokeFailClosed(target, { reason: `emergency: ${reason}`, actor: install.actor }) };
        });
        const secretArn = ended.target.secretArn;
        const revokedAt = new Date(ended.revocation.version.revokedAtMs ?? Date.now()).toISOString();
        if (ended.target.secretsManagerError !== undefined) say(`Secrets Manager could not be read (${ended.target.secretsManagerError}): the current version is the key table's`);
        say(`${clientId}: version ${ended.revocation.version.versionId} ${ended.revocation.alreadyRevoked ? 'was already revoked' : 'revoked'} at ${revokedAt}: every authorizer refuses it`);
        const notification = notificationOutcome(ended.revocation, clientId);
        const starting = install.secrets.startRotation(secretArn).catch((error: unknown) => ({ kind: 'failed' as const, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }));
        const flush = await flushAfter(install, ended.revocation.version);
        const start = await starting;
        let rotation: EmergencyRotation;
        if (start.kind === 'failed') rotation = { state: 'failed', error: start.error };
        else if (start.kind === 'busy') rotation = await followRotationInProgress(install, secretArn, ended.revocation.version.versionId, timeoutMs, clientId).catch((error: unknown) => ({ state: 'failed' as const, error: errorText(error) }));
        else rotation = (await waitUntilCurrent(install, secretArn, start.versionId, timeoutMs, clientId).catch(() => false)) ? { state: 'current', versionId: start.versionId } : { state: 'not-current', versionId: start.versionId };
        say(`${clientId}: ${describeRotation(rotation, clientId, timeoutMs)}`);
        if (notification.warning !== undefined) say(notification.warning);
        if (!flush.ok || rotation.state !== 'current' || !ended.revocation.notified) exitCode = EXIT.partial;
        return {
          clientId,
          emergency: true,
          previousVersionId: ended.revocation.version.versionId,
          versionId: rotation.state === 'current' ? rotation.versionId : null,
          current: rotation.state === 'current',
          revoked: { versionId: ended.revocation.version.versionId, revokedAt, reason: ended.revocation.version.revokedReason ?? null, before: ended.revocation.alreadyRevoked },
          notified: notification.json,
          flush: flush.json,
          rotation,
        };
      }),
    );

  program
    .command('revoke')
    .description('refuse one key version from now on, and tell the client (key.revoked); the current version only after asking, or with --yes')
    .addArgument(clientIdArgument('<clientId>'))
    .requiredOption('--version <versionId>', 'the key version to revoke')
    .requiredOption('--reason <text>', 'why, for the audit trail and the client')
    .option('--yes', 'do not ask (revoking the current version locks the client out until it gets a new key)')
    .action(
      withInstall(async (install, _options, clientId: string, options: { version: string; reason: string; yes?: boolean }) => {
        // The key table alone decides: a Secrets Manager outage never delays a revocation.
        const target = await notRevokedUnless(() => install.operations.revocationTarget(clientId, options.version));
        if (target.isCurrent && target.version.revokedAtMs === undefined) {
          await confirmed(
            options.yes,
            `Version ${options.version} is ${clientId}'s current key: revoking it refuses every request until ${clientId} has a new key (keyroll rotate ${clientId}). Revoke it?`,
            `version ${options.version} is ${clientId}'s current key: revoking it locks ${clientId} out until it has a new key (keyroll rotate ${clientId} --emergency does both)`,
          );
        }
        const revocation = await notRevokedUnless(() => install.operations.revokeFailClosed(target, { reason: options.reason, actor: install.actor }));
        const revoked = revocation.version;
        const at = new Date(revoked.revokedAtMs ?? Date.now()).toISOString();
        if (revocation.alreadyRevoked) say(`${clientId}: version ${options.version} was already revoked at ${at} (${revoked.revokedReason ?? 'no reason'}); the feed, the client's notification and the flush are made again`);
        else say(`${clientId}: version ${options.version} revoked at ${at}: every authorizer refuses it${target.isCurrent ? `; ${clientId} has no valid key until keyroll rotate ${clientId}` : ''}`);
        const flush = await flushAfter(install, revoked);
        const notification = notificationOutcome(revocation, clientId);
        if (notification.warning !== undefined) say(notification.warning);
        // Revoking twice is refused (exit 1), though the repairs above are made.
        if (revocation.alreadyRevoked) exitCode = EXIT.refused;
        else if (!flush.ok || !revocation.notified) exitCode = EXIT.partial;
        return {
          clientId,
          versionId: options.version,
          revokedAt: at,
          reason: revoked.revokedReason ?? options.reason,
          alreadyRevoked: revocation.alreadyRevoked,
          wasCurrent: target.isCurrent,
          notified: notification.json,
          flush: flush.json,
          flushed: flush.json.flushed,
        };
      }),
    );

  program
    .command('extend')
    .description('give a replaced key version more time (a client that missed its switch)')
    .addArgument(clientIdArgument('<clientId>'))
    .requiredOption('--version <versionId>', 'the key version to extend')
    .option('--until <time>', 'the new end: an ISO-8601 time, or a duration from now (12h)')
    .option('--by <duration>', 'the new end, from now (e.g. 12h)')
    .requiredOption('--reason <text>', 'why, for the audit trail')
    .option('--force', 'go past the client\'s maximum grace; asks first unless --yes')
    .option('--yes', 'do not ask (with --force)')
    .action(
      withInstall(async (install, _options, clientId: string, options: { version: string; until?: string; by?: string; reason: string; force?: boolean; yes?: boolean }) => {
        if ((options.until === undefined) === (options.by === undefined)) throw new UsageError('give exactly one of --until <ISO time> and --by <duration>');
        const nowMs = Date.now();
        const untilMs = options.until !== undefined ? parseInstant(options.until, '--until', nowMs, 'future') : nowMs + parseDuration(options.by ?? '', '--by');
        if (options.force === true) {
          await confirmed(options.yes, `Keep ${clientId}'s version ${options.version} working until ${new Date(untilMs).toISOString()}, past its maximum grace if need be?`, `--force keeps a replaced key working past ${clientId}'s maximum grace`);
        }
        const extended = await install.operations.extend({ clientId, versionId: options.version, untilMs, reason: options.reason, actor: install.actor, force: options.force === true });
        const endsAt = extended.notAfterMs === undefined ? null : new Date(extended.notAfterMs).toISOString();
        say(`${clientId}: version ${options.version} now works until ${endsAt ?? '(no end)'}`);
        return { clientId, versionId: options.version, endsAt };
      }),
    );

  program
    .command('events')
    .alias('audit')
    .description('a client\'s audit trail: notifications, deliveries and operator actions, with who and why')
    .addArgument(clientIdArgument('<clientId>'))
    .option('--since <when>', 'a duration ago (e.g. 24h), an ISO-8601 time, today or yesterday (UTC)', '30d')
    .action(
      withInstall(async (install, _options, clientId: string, options: { since: string }) => {
        const sinceMs = parseInstant(options.since, '--since', Date.now(), 'past');
        const trail = await install.operations.trail(clientId, sinceMs);
        // A removed client's trail outlives it; a client with neither a trail nor a registration is unknown.
        if (trail.length === 0 && (await install.keys.registrationOf(clientId)) === undefined) throw new UnknownClientOrVersionError(`this install has no client "${clientId}"`);
        const events = trail.map((entry) => ({
          at: new Date(entry.atMs).toISOString(),
          kind: entry.kind,
          what: entry.what,
          versionId: entry.versionId ?? null,
          actor: entry.actor ?? null,
          reason: entry.reason ?? null,
          detail: entry.detail ?? null,
        }));
        if (events.length === 0) say(`no events for ${clientId} since ${new Date(sinceMs).toISOString()}`);
        else say(table(['AT (UTC)', 'KIND', 'WHAT', 'VERSION', 'BY', 'WHY'], events.map((e) => [e.at, e.kind, e.what, e.versionId ?? '-', e.actor ?? '-', [e.reason, e.detail === null ? null : `(${e.detail})`].filter((part) => part !== null).join(' ') || '-'])));
        return { clientId, events };
      }),
    );

  const regions = program.command('regions').description('the replica regions of a multi-region install, and whether rotations wait for each');
  /** One of the install's replica regions, or a usage error that lists them. */
  const replicaRegion = (install: InstallContext, region: string): string => {
    const known = (install.description.replicaRegions ?? []).map((replica) => replica.region);
    if (!known.includes(region)) throw new UsageError(`${region} is not a replica region of this install (${known.join(', ') || 'it has none'})`);
    return region;
  };
  regions
    .command('list')
    .description('each replica region, and whether rotations wait for it (who took it out, when and why)')
    .action(
      withInstall(async (install) => {
        const settings = new Map((await install.keys.replicaWaitSettings()).map((setting) => [setting.region, setting]));
        const rows = (install.description.replicaRegions ?? []).map(({ region }) => {
          const setting = settings.get(region);
          const excluded = setting?.excluded === true;
          return { region, inTheWait: !excluded, since: setting === undefined ? null : new Date(setting.atMs).toISOString(), by: setting?.actor ?? null, reason: setting?.reason ?? null };
        });
        if (rows.length === 0) say('this install has no replica regions');
        else say(table(['REGION', 'ROTATIONS WAIT', 'SINCE', 'BY', 'WHY'], rows.map((row) => [row.region, row.inTheWait ? 'yes' : 'NO (taken out)', row.since ?? '-', row.by ?? '-', row.reason ?? '-'])));
        return { regions: rows };
      }),
    );
  regions
    .command('exclude')
    .description('take a replica region out of the rotations\' wait while it is down: rotations go on without it; that region accepts only what its copy of the table has (new keys refused, old keys kept) until replication catches up; asks first unless --yes')
    .argument('<region>', 'a replica region of the install')
    .requiredOption('--reason <text>', 'why, for the audit trail')
    .option('--yes', 'do not ask')
    .action(
      withInstall(async (install, _options, region: string, options: { reason: string; yes?: boolean }) => {
        replicaRegion(install, region);
        await confirmed(options.yes, `Let rotations go on without ${region}? Until it is back, new keys are refused there and clients reading their key there keep an old one, cut off elsewhere when its grace ends.`, `taking ${region} out of the wait lets its readers fall behind`);
        const atMs = Date.now();
        await install.keys.setReplicaWait({ region, excluded: true, atMs, actor: install.actor, reason: options.reason });
        say(`${region}: rotations no longer wait for it; put it back with keyroll regions include ${region} --reason "…" once it is up`);
        return { region, inTheWait: false, since: new Date(atMs).toISOString() };
      }),
    );
  regions
    .command('include')
    .description('put a replica region back into the rotations\' wait')
    .argument('<region>', 'a replica region of the install')
    .requiredOption('--reason <text>', 'why, for the audit trail')
    .action(
      withInstall(async (install, _options, region: string, options: { reason: string }) => {
        replicaRegion(install, region);
        const atMs = Date.now();
        await install.keys.setReplicaWait({ region, excluded: false, atMs, actor: install.actor, reason: options.reason });
        say(`${region}: rotations wait for it again`);
        return { region, inTheWait: true, since: new Date(atMs).toISOString() };
      }),
    );

  program
    .command('doctor')
    .description('check the install and say what is wrong and how to fix it; exits 1 if anything is')
    .action(
      withInstall(async (install) => {
        const results = [
          { check: 'install found', ok: true, detail: `key table ${install.description.keyTableName}, secrets ${install.description.secretNamePrefix}*`, fix: '' },
          { check: 'caller', ok: true, detail: install.actor, fix: '' },
          ...(await guarded('account', () => install.accountChecks())),
          await clockCheck(install),
          ...(await guarded('clients', () => checkClients({ secrets: install.secrets, keys: install.keys, registry: install.keys, secretNamePrefix: install.description.secretNamePrefix, nowMs: Date.now() }))),
        ];
        for (const r of results) say(`${r.ok ? 'ok  ' : 'FAIL'}  ${r.check}: ${r.detail}${r.fix === '' ? '' : `\n      fix: ${r.fix}`}`);
        const failed = results.filter((r) => !r.ok).length;
        if (failed > 0) exitCode = EXIT.refused;
        return { ok: failed === 0, checks: results };
      }),
    );

  // Help marks the options a command cannot run without.
  const markRequired = (command: Command): void => {
    for (const option of command.options) if (option.mandatory && !option.description.endsWith('(required)')) option.description = `${option.description} (required)`;
    for (const sub of command.commands) markRequired(sub);
  };
  markRequired(program);

  // `keyroll --version` alone: the subcommands' --version names a key version, so it is not a global option.
  if (argv.length === 1 && argv[0] === '--version') {
    io.stdout(`${KEYROLL_VERSION}\n`);
    return EXIT.ok;
  }
  try {
    const reasonAt = argv.findIndex((arg) => arg === '--reason' || arg.startsWith('--reason='));
    const reason = reasonAt < 0 ? undefined : argv[reasonAt]?.startsWith('--reason=') === true ? argv[reasonAt]?.slice('--reason='.length) : argv[reasonAt + 1];
    if (reasonAt >= 0 && (reason ?? '').trim() === '') throw new UsageError('--reason needs a text: the audit trail (and, for a revocation, the client) is told why');
    // A key on the command line would be echoed, stored in a reason or an audit entry, and kept in shell history.
    if (argv.some(holdsKey)) {
      json = argv.includes('--json');
      throw new UsageError('an argument has the shape of an API key; keyroll never takes a key (it would be echoed and stored): name the key version instead (keyroll status <client> lists them), and rotate the key if it was exposed');
    }
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    exitCode = report(error, json || argv.includes('--json'), io);
  }
  return exitCode;
}

/** A key in an argument as typed, percent-encoded, or base64-encoded (a URL or a header pasted whole). */
function holdsKey(arg: string): boolean {
  let decoded = arg;
  try {
    decoded = decodeURIComponent(arg);
  } catch {
    // Not valid percent-encoding: the text as typed is checked below.
  }
  const base64 = (arg.match(/[A-Za-z0-9+/_-]{64,}={0,2}/g) ?? []).map((run) => Buffer.from(run, 'base64').toString('latin1'));
  return [arg, decoded, ...base64].some(containsKeyShapedText);
}

/** A public key for key delivery, from a file: the base64url `x` alone, or a JWK holding it. */
function readPublicKey(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch {
    throw new UsageError(`--public-key: cannot read ${file}`);
  }
  if (!text.startsWith('{')) return text;
  try {
    const x = (JSON.parse(text) as { x?: unknown }).x;
    if (typeof x === 'string') return x;
  } catch {
    // Reported below with the other shapes it is not.
  }
  throw new UsageError(`--public-key: ${file} holds neither a base64url public key nor a JWK with "x"`);
}

/** Maps an error to its exit status and says it, in JSON when asked. Never a stack trace. */
function report(error: unknown, json: boolean, io: CliIo): number {
  if (error instanceof CommanderError) {
    if (error.exitCode === 0) return EXIT.ok;
    // commander has written its message to standard error; with --json the answer is JSON on standard output too.
    // A command group without its subcommand shows its help, and commander's message is only "(outputHelp)".
    const message = error.code === 'commander.help' ? 'a subcommand is missing: the help on standard error lists them' : error.message.replace(/^error: /, '');
    if (json) io.stdout(`${JSON.stringify({ error: { code: 'usage', message } })}\n`);
    return EXIT.usage;
  }
  const [code, status] =
    // A new client's settings the construct's rules refuse are a command line to correct, like a malformed one.
    error instanceof UsageError || error instanceof NewClientSettingsRefusedError
      ? ['usage', EXIT.usage]
      : error instanceof InstallNotFoundError
        ? ['install_not_found', EXIT.install]
        : error instanceof UnknownClientOrVersionError
          ? ['not_found', EXIT.refused]
          : error instanceof OperationRefusedError
            ? ['refused', EXIT.refused]
            : error instanceof KeyrollError
              ? ['refused', EXIT.refused]
              : ['failed', EXIT.failed];
  const message = error instanceof Error ? error.message : String(error);
  if (json) io.stdout(`${JSON.stringify({ error: { code, message } })}\n`);
  else io.stderr(`keyroll: ${message}\n`);
  return status;
}

function fleetJson(entry: FleetEntry) {
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
  return {
    clientId: entry.clientId,
    current: entry.current === undefined ? null : { versionId: entry.current.versionId, since: iso(entry.current.sinceMs) },
    inGrace: entry.inGrace.map((v) => ({ versionId: v.versionId, endsAt: iso(v.endsAtMs), lastUsed: iso(v.lastUsedMs) })),
    rotationInProgress: entry.rotationInProgress ?? null,
    nextRotation: iso(entry.nextRotationMs),
    attention: entry.attention,
  };
}

/** A span for people: "3 d", "5 h", "12 min", "40 s". */
function span(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s >= 2 * 86_400) return `${Math.round(s / 86_400)} d`;
  if (s >= 2 * 3_600) return `${Math.round(s / 3_600)} h`;
  if (s >= 120) return `${Math.round(s / 60)} min`;
  return `${s} s`;
}

function renderFleet(fleet: readonly FleetEntry[], nowMs: number): string {
  if (fleet.length === 0) return 'no clients yet: keyroll clients add <clientId>';
  const rows = fleet.map((entry) => [
    entry.clientId,
    entry.current === undefined ? '(none)' : `${entry.current.versionId.slice(0, 8)}${entry.current.sinceMs === undefined ? '' : ` for ${span(nowMs - entry.current.sinceMs)}`}`,
    entry.inGrace.length === 0
      ? '-'
      : entry.inGrace.map((v) => `${v.versionId.slice(0, 8)} ${v.endsAtMs === undefined ? 'no end' : `${span(v.endsAtMs - nowMs)} left`}, ${v.lastUsedMs === undefined ? 'unused 24 h' : `used ${span(nowMs - v.lastUsedMs)} ago`}`).join('; '),
    entry.rotationInProgress === undefined ? '-' : `in progress (${entry.rotationInProgress.slice(0, 8)})`,
    entry.nextRotationMs === undefined ? '-' : new Date(entry.nextRotationMs).toISOString().slice(0, 16).replace('T', ' '),
  ]);
  const attention = fleet.flatMap((entry) => entry.attention.map((reason) => `! ${entry.clientId}: ${reason}`));
  return [table(['CLIENT', 'CURRENT KEY', 'IN GRACE', 'ROTATION', 'NEXT ROTATION (UTC)'], rows), ...(attention.length === 0 ? [] : ['', ...attention])].join('\n');
}

/** Rows under a header, each column as wide as its widest cell. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd();
  return [header, ...rows].map(line).join('\n');
}

/** "1 time", "3 times". */
function times(count: number): string {
  return `${count} ${count === 1 ? 'time' : 'times'}`;
}

/** A client id argument: a malformed one is a wrong command line (exit 2), not an unknown client. */
function clientIdArgument(name: '<clientId>' | '[clientId]'): Argument {
  return new Argument(name).argParser((value: string) => {
    if (!CLIENT_ID_PATTERN.test(value)) throw new UsageError(`a client id is 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit; got "${value}"`);
    return value;
  });
}

function statusJson(status: ClientStatus) {
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
  return {
    clientId: status.clientId,
    secretArn: status.secretArn,
    rotationInProgress: status.rotationInProgress ?? null,
    nextRotation: iso(status.nextRotationMs),
    versions: status.versions.map(({ version, state, endsAtMs, usage, stillUsedBeforeItsEnd, refusedSinceItsEnd }) => ({
      versionId: version.versionId,
      state,
      key: version.keyDisplay,
      notBefore: iso(version.notBeforeMs),
      currentSince: iso(version.currentSinceMs),
      endsAt: iso(endsAtMs),
      revokedReason: version.revokedReason ?? null,
      lastUsed: iso(usage?.lastUsedMs),
      requestsLast24h: usage === undefined ? null : usage.perHour.reduce((sum, hour) => sum + hour.requests, 0),
      requestsPerHour: usage?.perHour ?? [],
      stillUsedBeforeItsEnd: stillUsedBeforeItsEnd === true,
      refusedSinceItsEnd:
        refusedSinceItsEnd === undefined ? null : { refused: refusedSinceItsEnd.refused, first: iso(refusedSinceItsEnd.firstRefusedMs), latest: iso(refusedSinceItsEnd.lastRefusedMs) },
    })),
  };
}

/**
 * Runs a group of checks; when the caller may not make their calls, that is the finding, with what to grant,
 * rather than a crash: doctor is how an operator learns which permissions are missing.
 */
async function guarded(group: string, checks: () => Promise<CheckResult[]>): Promise<CheckResult[]> {
  try {
    return await checks();
  } catch (error) {
    const name = error instanceof Error ? error.name : 'Error';
    const message = error instanceof Error ? error.message : String(error);
    const denied = /AccessDenied|UnauthorizedOperation|not authorized/i.test(`${name} ${message}`);
    return [
      {
        check: `${group}: permissions of the caller`,
        ok: false,
        detail: `${name}: ${message}`,
        fix: denied ? 'grant the caller the action the message names, on the install\'s resources (the README lists what each command needs)' : 'see the message; run doctor again once it is fixed',
      },
    ];
  }
}

/** This machine's clock against the service's Date header. */
async function clockCheck(install: InstallContext): Promise<CheckResult> {
  const beforeMs = Date.now();
  const serviceMs = await install.serviceTimeMs().catch(() => undefined);
  return clockSkewCheck((beforeMs + Date.now()) / 2, serviceMs);
}

/** Counts as a one-line chart, one character per value. */
function sparkline(values: readonly number[]): string {
  const bars = ' ▁▂▃▄▅▆▇█';
  const max = Math.max(...values, 1);
  return values.map((value) => bars[value === 0 ? 0 : Math.max(1, Math.round((value / max) * 8))] ?? ' ').join('');
}

/** The versions as a timeline, oldest first. */
function renderStatus(status: ClientStatus, nowMs: number): string {
  const lines = [`${status.clientId}  (${status.secretArn})`];
  const keyWidth = Math.max(10, ...status.versions.map(({ version }) => version.keyDisplay.length));
  for (const { version, state, endsAtMs, usage, stillUsedBeforeItsEnd, refusedSinceItsEnd } of status.versions) {
    const ends = endsAtMs === undefined ? 'no end' : endsAtMs > nowMs ? `ends in ${span(endsAtMs - nowMs)} (${new Date(endsAtMs).toISOString()})` : `ended ${new Date(endsAtMs).toISOString()}`;
    lines.push(`  ${version.versionId.padEnd(38)} ${state.padEnd(13)} ${version.keyDisplay.padEnd(keyWidth)} ${ends}${version.revokedReason === undefined ? '' : `, revoked: ${version.revokedReason}`}`);
    if (usage !== undefined) {
      const total = usage.perHour.reduce((sum, hour) => sum + hour.requests, 0);
      const last = usage.lastUsedMs === undefined ? 'not used in 24 h' : `last used ${new Date(usage.lastUsedMs).toISOString()}`;
      lines.push(`    requests per hour, last 24 h: ${sparkline(usage.perHour.map((hour) => hour.requests))}  ${total} in all, ${last}`);
    }
    if (stillUsedBeforeItsEnd === true) lines.push('    ! still in use, and its window ends within a day: the client has not switched (keyroll extend gives it time)');
    if (refusedSinceItsEnd !== undefined) {
      lines.push(
        `    ! refused ${times(refusedSinceItsEnd.refused)} since it ended (first ${new Date(refusedSinceItsEnd.firstRefusedMs).toISOString()}, latest report ${new Date(refusedSinceItsEnd.lastRefusedMs).toISOString()}): the client missed its switch (keyroll extend gives it time)`,
      );
    }
  }
  if (status.rotationInProgress !== undefined) lines.push(`  rotation in progress: ${status.rotationInProgress}`);
  if (status.nextRotationMs !== undefined) lines.push(`  next scheduled rotation: ${new Date(status.nextRotationMs).toISOString()}`);
  return lines.join('\n');
}

/** Whether the client and operations were told of a revocation, in text when they were not, and for --json. */
function notificationOutcome(revocation: FailClosedRevocation, clientId: string): { readonly warning?: string; readonly json: { readonly sent: boolean; readonly error: string | null } } {
  if (revocation.notified) return { json: { sent: true, error: null } };
  return {
    warning: `WARNING: the key is revoked, but ${clientId} and operations were NOT told (key.revoked): ${revocation.notificationError ?? 'unknown error'}. Run the same keyroll revoke again once SNS answers: it sends the notification.`,
    json: { sent: false, error: revocation.notificationError ?? null },
  };
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** A revocation that did not happen: an AWS call failed before the key table recorded it (exit 4). */
class RevocationNotMadeError extends Error {
  override readonly name = 'RevocationNotMadeError';
}

/** What became of an emergency's rotation. */
type EmergencyRotation =
  | { readonly state: 'current'; readonly versionId: string }
  | { readonly state: 'not-current'; readonly versionId: string }
  | { readonly state: 'busy'; readonly pendingVersionId: string | null }
  | { readonly state: 'failed'; readonly error: string };

function describeRotation(rotation: EmergencyRotation, clientId: string, timeoutMs: number): string {
  switch (rotation.state) {
    case 'current':
      return `new key: version ${rotation.versionId} is current`;
    case 'not-current':
      return `new key NOT yet current: rotation ${rotation.versionId} did not finish within ${Math.round(timeoutMs / 1000)} s (keyroll status ${clientId}, keyroll events ${clientId}); the old key stays revoked, and ${clientId} gets its new key when the rotation completes`;
    case 'busy':
      return `new key NOT issued: a rotation is already in progress${rotation.pendingVersionId === null ? '' : ` (version ${rotation.pendingVersionId})`}; ${clientId} gets its new key when it completes; if it is stuck, clear it (README, rotation.stuck) and run keyroll rotate ${clientId}`;
    case 'failed':
      return `new key NOT issued: the rotation could not start (${rotation.error}); the old key stays revoked; run keyroll rotate ${clientId} once the cause is fixed`;
  }
}

interface FlushSummary {
  readonly ok: boolean;
  readonly warning: string;
  readonly json: { readonly flushed: readonly string[]; readonly failed: CacheFlushReport['failed']; readonly cachedUntil: string | null };
}

/** A flush that failed anywhere says what still holds: the key is revoked, and how long a stage may still answer from its cache. */
function flushSummary(report: CacheFlushReport, revokedAtMs: number, ttlSeconds: number | undefined): FlushSummary {
  const ok = report.failed.length === 0;
  const until = ttlSeconds === undefined ? undefined : new Date(revokedAtMs + ttlSeconds * 1000).toISOString();
  const bound = ttlSeconds === undefined ? 'for up to its authorizer result TTL (at most 1 hour)' : `for up to ${ttlSeconds} s (until ${until ?? ''})`;
  const warning = ok
    ? ''
    : `WARNING: the key is revoked, but API Gateway's cached answers were not flushed everywhere: ${report.failed.length} stage(s) or region(s) failed, so a stage may still answer from its cache ${bound}. Flush them by hand:`;
  return { ok, warning, json: { flushed: report.flushed, failed: report.failed, cachedUntil: ok ? null : (until ?? null) } };
}
