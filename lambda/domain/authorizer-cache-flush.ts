/** Beyond the containers' poll interval: a read in flight when the revocation was written, and clocks that differ. */
export const REVOCATION_MARGIN_MS = 500;

/** How long after a revocation is written every authorizer container that polls has read it. */
export function revocationSeenAfterMs(revocationPollMs: number): number {
  return revocationPollMs + REVOCATION_MARGIN_MS;
}

/** A stage of an API whose authorizer invokes keyroll's authorizer function. */
export interface AuthorizerStage {
  readonly kind: 'rest' | 'http';
  readonly apiId: string;
  readonly stageName: string;
}

/** API Gateway in one region of the install, as far as keyroll's authorizer there goes. */
export interface RegionalApiGateway {
  readonly region: string;
  /** Every stage of every API of the region whose authorizer invokes keyroll's authorizer function there. */
  discoverStages(): Promise<AuthorizerStage[]>;
  /** Empties the stage's cached authorizer answers; false when the stage (or its API) no longer exists. */
  flushStage(stage: AuthorizerStage): Promise<boolean>;
}

/** The stages found last time, per region: an emergency flushes them at once, without listing the region first. */
export interface StageDirectory {
  rememberedStages(region: string): Promise<{ readonly stages: readonly AuthorizerStage[]; readonly discoveredAtMs: number } | undefined>;
  rememberStages(region: string, stages: readonly AuthorizerStage[], discoveredAtMs: number): Promise<void>;
}

/** One region to flush after a revocation. */
export interface FlushTarget {
  readonly gateway: RegionalApiGateway;
  /** The install's own region, where the revocation was written: its stages are named without a region. */
  readonly home: boolean;
  /** A replica region: true once its copy of the key table holds these revocations (replication is asynchronous). */
  readonly revocationsReplicated?: (keyHashes: readonly string[], sinceMs: number) => Promise<boolean>;
}

export interface CacheFlushFailure {
  /** The stage (`rest:<api>/<stage>`, `@<region>` outside the home region), or what could not be done. */
  readonly target: string;
  readonly error: string;
  /** The AWS CLI command that does it by hand. */
  readonly byHand: string;
}

export interface CacheFlushReport {
  readonly flushed: readonly string[];
  readonly failed: readonly CacheFlushFailure[];
  /** The stages (or regions to list) not reached before the deadline; the caller hands them to a later flush. */
  readonly unfinished: readonly string[];
}

export interface CacheFlushSettings {
  readonly revocationPollMs: number;
  readonly directory?: StageDirectory;
  readonly clock: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** A region's remembered stages older than this are listed again after they are flushed. */
  readonly rediscoverAfterMs?: number;
  /** How long to wait for a replica region to receive the revocations before flushing it anyway. */
  readonly replicationBoundMs?: number;
  /** No stage is started after this instant: what is left is reported `unfinished`. */
  readonly deadlineMs?: number;
}

/** A region is listed again when its stages were found more than this long ago (README, Emergency rotation). */
export const REDISCOVER_STAGES_AFTER_MS = 15 * 60 * 1000;
export const REPLICATION_BOUND_MS = 30_000;
const REPLICATION_POLL_MS = 250;
/** Stages flushed at once per region: the control plane's budget paces them (lambda/adapters/api-gateway-authorizer-caches.ts). */
const STAGES_AT_ONCE = 10;

/**
 * Flushes API Gateway's cached authorizer answers in every region of the install once every authorizer container
 * there has read the revocations: a flush before that would let a container that still has the key cached answer
 * Allow, and API Gateway would cache that answer again for its whole TTL. A replica region is flushed once its
 * copy of the key table holds the revocations, then after the same poll interval.
 *
 * Each region's remembered stages are flushed first, within the control plane's budget; the region is listed
 * again only when they are missing or older than `rediscoverAfterMs` (the listing costs two calls per API), and
 * stages found then that were not flushed yet are flushed too. Nothing here throws on an AWS error: every stage
 * that could not be flushed is in the report, with the command that does it by hand.
 */
export async function flushAfterRevocation(
  targets: readonly FlushTarget[],
  revocation: { readonly keyHashes: readonly string[]; readonly revokedAtMs: number },
  settings: CacheFlushSettings,
): Promise<CacheFlushReport> {
  const reports = await Promise.all(
    targets.map(async (target): Promise<CacheFlushReport> => {
      const failed: CacheFlushFailure[] = [];
      const region = target.gateway.region;
      if (target.revocationsReplicated !== undefined) {
        if (!(await waitForReplication(target.revocationsReplicated, revocation, settings))) {
          failed.push({
            target: `revocation in ${region}`,
            error: `the revocation had not reached ${region}'s key table after ${Math.round((settings.replicationBoundMs ?? REPLICATION_BOUND_MS) / 1000)} s; its stages were flushed anyway`,
            byHand: `flush ${region}'s stages again once its key table has the revocation (keyroll status shows it there)`,
          });
        }
        await settings.sleep(revocationSeenAfterMs(settings.revocationPollMs));
      } else {
        await settings.sleep(Math.max(0, revocation.revokedAtMs + revocationSeenAfterMs(settings.revocationPollMs) - settings.clock()));
      }
      const report = await flushRegion(target, settings);
      return { ...report, failed: [...failed, ...report.failed] };
    }),
  );
  return { flushed: reports.flatMap((report) => report.flushed), failed: reports.flatMap((report) => report.failed), unfinished: reports.flatMap((report) => report.unfinished) };
}

async function waitForReplication(
  replicated: NonNullable<FlushTarget['revocationsReplicated']>,
  revocation: { readonly keyHashes: readonly string[]; readonly revokedAtMs: number },
  settings: CacheFlushSettings,
): Promise<boolean> {
  const deadlineMs = settings.clock() + (settings.replicationBoundMs ?? REPLICATION_BOUND_MS);
  for (;;) {
    if (await replicated(revocation.keyHashes, revocation.revokedAtMs).catch(() => false)) return true;
    if (settings.clock() >= deadlineMs) return false;
    await settings.sleep(REPLICATION_POLL_MS);
  }
}

async function flushRegion(target: FlushTarget, settings: CacheFlushSettings): Promise<CacheFlushReport> {
  const { gateway } = target;
  const label = (stage: AuthorizerStage) => `${stage.kind}:${stage.apiId}/${stage.stageName}${target.home ? '' : `@${gateway.region}`}`;
  const pastDeadline = () => settings.deadlineMs !== undefined && settings.clock() >= settings.deadlineMs;
  const flushed: string[] = [];
  const failed: CacheFlushFailure[] = [];
  const unfinished: string[] = [];
  const attempted = new Set<string>();
  const gone = new Set<string>();
  const flushAll = async (stages: readonly AuthorizerStage[]) => {
    const queue = stages.filter((stage) => !attempted.has(label(stage)));
    for (const stage of queue) attempted.add(label(stage));
    const worker = async () => {
      for (let stage = queue.shift(); stage !== undefined; stage = queue.shift()) {
        if (pastDeadline()) {
          unfinished.push(label(stage));
          continue;
        }
        try {
          if (await gateway.flushStage(stage)) flushed.push(label(stage));
          else gone.add(label(stage));
        } catch (error) {
          failed.push({ target: label(stage), error: describe(error), byHand: byHandCommand(gateway.region, stage) });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(STAGES_AT_ONCE, queue.length) }, worker));
  };
  const remembered = await settings.directory?.rememberedStages(gateway.region).catch(() => undefined);
  if (remembered !== undefined) await flushAll(remembered.stages);
  const stale = remembered === undefined || settings.clock() - remembered.discoveredAtMs >= (settings.rediscoverAfterMs ?? REDISCOVER_STAGES_AFTER_MS);
  if (stale && pastDeadline()) {
    unfinished.push(`stages of ${gateway.region}`);
  } else if (stale) {
    const discoveredAtMs = settings.clock();
    try {
      const found = await gateway.discoverStages();
      await flushAll(found);
      await settings.directory?.rememberStages(gateway.region, found, discoveredAtMs).catch(() => undefined);
    } catch (error) {
      failed.push({
        target: `stages of ${gateway.region}`,
        error: describe(error),
        byHand: `${byHandCommand(gateway.region, { kind: 'rest', apiId: '<api id>', stageName: '<stage>' })} for each stage whose authorizer is keyroll's (HTTP APIs: ${byHandCommand(gateway.region, { kind: 'http', apiId: '<api id>', stageName: '<stage>' })})`,
      });
    }
  } else if (gone.size > 0) {
    await settings.directory?.rememberStages(gateway.region, remembered.stages.filter((stage) => !gone.has(label(stage))), remembered.discoveredAtMs).catch(() => undefined);
  }
  return { flushed, failed, unfinished };
}

/** The AWS CLI's command for one stage (https://docs.aws.amazon.com/cli/latest/reference/apigateway/flush-stage-authorizers-cache.html). */
export function byHandCommand(region: string, stage: AuthorizerStage): string {
  return stage.kind === 'rest'
    ? `aws apigateway flush-stage-authorizers-cache --region ${region} --rest-api-id ${stage.apiId} --stage-name ${stage.stageName}`
    : `aws apigatewayv2 reset-authorizers-cache --region ${region} --api-id ${stage.apiId} --stage-name ${stage.stageName}`;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
