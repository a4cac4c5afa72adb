import { flushAfterRevocation, REDISCOVER_STAGES_AFTER_MS, type AuthorizerStage, type RegionalApiGateway, type StageDirectory } from '../../lambda/domain/authorizer-cache-flush';
import { TestClock } from '../support/rotation-fixture';

const stage = (apiId: string, stageName = 'prod', kind: 'rest' | 'http' = 'rest'): AuthorizerStage => ({ kind, apiId, stageName });

/** A region's API Gateway as a record of the calls made to it, on the test clock. */
class RecordedRegion implements RegionalApiGateway {
  readonly calls: string[] = [];
  stages: AuthorizerStage[] = [];
  gone = new Set<string>();
  failing = new Map<string, Error>();
  listingFails: Error | undefined;
  constructor(
    readonly region: string,
    private readonly clock: TestClock,
    private readonly msPerCall = 0,
  ) {}
  async discoverStages(): Promise<AuthorizerStage[]> {
    this.calls.push('list');
    if (this.listingFails !== undefined) throw this.listingFails;
    return this.stages;
  }
  async flushStage(target: AuthorizerStage): Promise<boolean> {
    this.clock.advance(this.msPerCall);
    this.calls.push(`flush ${target.apiId}/${target.stageName}`);
    const failure = this.failing.get(target.apiId);
    if (failure !== undefined) throw failure;
    return !this.gone.has(target.apiId);
  }
}

class MapDirectory implements StageDirectory {
  readonly regions = new Map<string, { stages: readonly AuthorizerStage[]; discoveredAtMs: number }>();
  async rememberedStages(region: string) {
    return this.regions.get(region);
  }
  async rememberStages(region: string, stages: readonly AuthorizerStage[], discoveredAtMs: number) {
    this.regions.set(region, { stages, discoveredAtMs });
  }
}

function setUp(msPerCall = 0) {
  const clock = new TestClock(1_000_000);
  const sleeps: number[] = [];
  const sleep = async (ms: number) => {
    sleeps.push(ms);
    clock.advance(ms);
  };
  const home = new RecordedRegion('eu-west-1', clock, msPerCall);
  const directory = new MapDirectory();
  const settings = { revocationPollMs: 1_000, directory, clock: () => clock.nowMs, sleep };
  return { clock, sleeps, home, directory, settings };
}

describe('Flushing API Gateway\'s authorizer caches after a revocation', () => {
  it('waits until every authorizer container has read the revocation (its poll and a margin), then flushes', async () => {
    const { clock, sleeps, home, settings } = setUp();
    home.stages = [stage('orders')];
    const report = await flushAfterRevocation([{ gateway: home, home: true }], { keyHashes: ['h'], revokedAtMs: clock.nowMs - 400 }, settings);
    expect(sleeps).toEqual([1_100]);
    expect(report).toEqual({ flushed: ['rest:orders/prod'], failed: [], unfinished: [] });
  });

  it('flushes the remembered stages first, without listing the region; lists it again once they are old, and flushes what is new', async () => {
    const { clock, home, directory, settings } = setUp();
    home.stages = [stage('orders'), stage('billing')];
    await flushAfterRevocation([{ gateway: home, home: true }], { keyHashes: ['h'], revokedAtMs: clock.nowMs }, settings);
    expect(home.calls).toEqual(['list', 'flush orders/prod', 'flush billing/prod']);
    home.calls.length = 0;
    await flushAfterRevocation([{ gateway: home, home: true }], { keyHashes: ['h'], revokedAtMs: clock.nowMs }, settings);
    expect(home.calls).toEqual(['flush orders/prod', 'flush billing/prod']);
    // A new API appears; once the remembered stages are older than the bound, the region is listed again.
    home.stages = [stage('orders'), stage('billing'), stage('search', '$default', 'http')];
    clock.advance(REDISCOVER_STAGES_AFTER_MS);
    home.calls.length = 0;
    const report = await flushAfterRevocation([{ gateway: home, home: true }], { keyHashes: ['h'], revokedAtMs: clock.nowMs }, settings);
    expect(home.calls).toEqual(['flush orders/prod', 'flush billing/prod', 'list', 'flush search/$default']);
    expect(report.flushed).toEqual(['rest:orders/prod', 'rest:billing/prod', 'http:search/$default']);
    expect(directory.regions.get('eu-west-1')?.stages).toHaveLength(3);
  });

  it('forgets a remembered stage that no longer exists', async () => {
    const { clock, home, directory, settings } = setUp();
    await directory.rememberStages('eu-west-1', [stage('orders'), stage('deleted')], clock.nowMs);
    home.gone.add('deleted');
    const report = await flushAfterRevocation([{ gateway: home, home: true }], { keyHashes: ['h'], revokedAtMs: clock.nowMs }, settings);
    expect(report).toEqual({ flushed: ['rest:orders/prod'], failed: [], unfinished: [] });
    expect(directory.regions.get('eu-west-1')?.stages).toEqual([stage('orders')]);
  });

  it('never throws on an AWS error: each stage or listing that failed is reported with the command that does it by hand', async () => {
    const { clock, home, settings } = setUp();
    home.stages = [stage('orders'), stage('billing')];
    home.failing.set('billing', Object.assign(new Error('User is not authorized to perform: apigateway:DELETE'), { name: 'AccessDeniedException' }));
    const report = await flushAfterRevocation([{ gateway: home, home: true }], { keyHashes: ['h'], revokedAtMs: clock.nowMs }, settings);
    expect(report.flushed).toEqual(['rest:orders/prod']);
    expect(report.failed).toEqual([
      { target: 'rest:billing/prod', error: 'AccessDeniedException: User is not authorized to perform: apigateway:DELETE', byHand: 'aws apigateway flush-stage-authorizers-cache --region eu-west-1 --rest-api-id billing --stage-name prod' },
    ]);
    const other = setUp();
    other.home.listingFails = Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' });
    const listing = await flushAfterRevocation([{ gateway: other.home, home: true }], { keyHashes: ['h'], revokedAtMs: other.clock.nowMs }, other.settings);
    expect(listing.failed).toEqual([expect.objectContaining({ target: 'stages of eu-west-1', error: 'TooManyRequestsException: Rate exceeded', byHand: expect.stringContaining('aws apigateway flush-stage-authorizers-cache --region eu-west-1') })]);
  });

  it('starts no stage after its deadline, and reports the rest unfinished for a later call', async () => {
    const { clock, home, directory, settings } = setUp(100);
    await directory.rememberStages('eu-west-1', Array.from({ length: 30 }, (_, i) => stage(`api${i}`)), clock.nowMs);
    const report = await flushAfterRevocation([{ gateway: home, home: true }], { keyHashes: ['h'], revokedAtMs: clock.nowMs - 10_000 }, { ...settings, deadlineMs: clock.nowMs + 250 });
    expect(report.flushed.length + report.unfinished.length).toBe(30);
    expect(report.unfinished.length).toBeGreaterThan(0);
    expect(report.failed).toEqual([]);
  });

  it('flushes a replica region once its copy of the key table has the revocation, and flushes it anyway after the bound, saying so', async () => {
    const { clock, home, settings } = setUp();
    const replica = new RecordedRegion('us-east-1', clock);
    home.stages = [stage('orders')];
    replica.stages = [stage('orders-us')];
    let replicatedAtMs = clock.nowMs + 2_000;
    const replicated = async () => clock.nowMs >= replicatedAtMs;
    const targets = [
      { gateway: home, home: true },
      { gateway: replica, home: false, revocationsReplicated: replicated },
    ];
    const report = await flushAfterRevocation(targets, { keyHashes: ['h'], revokedAtMs: clock.nowMs }, { ...settings, replicationBoundMs: 30_000 });
    expect(report).toEqual({ flushed: ['rest:orders/prod', 'rest:orders-us/prod@us-east-1'], failed: [], unfinished: [] });

    replicatedAtMs = Number.POSITIVE_INFINITY;
    const late = await flushAfterRevocation(targets, { keyHashes: ['h'], revokedAtMs: clock.nowMs }, { ...settings, replicationBoundMs: 5_000 });
    expect(late.flushed).toContain('rest:orders-us/prod@us-east-1');
    expect(late.failed).toEqual([expect.objectContaining({ target: 'revocation in us-east-1', error: expect.stringContaining('had not reached us-east-1\'s key table after 5 s') })]);
  });
});
