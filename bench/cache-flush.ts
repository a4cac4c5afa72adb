import { ApiGatewayRegion, apiGatewayClients, ControlPlaneBudget } from '../lambda/adapters/api-gateway-authorizer-caches';
import { flushAfterRevocation, type AuthorizerStage } from '../lambda/domain/authorizer-cache-flush';
import { startLocalApiGateway } from '../local/api-gateway';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local/keyroll-local';
import { line } from './support';

const APIS = 200;
const STAGES_PER_API = 3;
const AUTHORIZER_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:keyroll-local-authorizer';

/**
 * Flushing a region with many APIs after a revocation, through the real SDK, against a local control plane that
 * throttles as AWS documents (10 requests a second, bursts of 40, per account and region): the first flush
 * (remembered stages: none, so the region is listed), then the next one (the remembered stages alone).
 */
export async function benchCacheFlush(): Promise<string[]> {
  const lines = [`API Gateway cache flush (${APIS} APIs x ${STAGES_PER_API} stages behind the authorizer, control plane at 10 req/s, burst 40)`];
  const gateway = await startLocalApiGateway({
    authorize: async () => {
      throw new Error('Unauthorized');
    },
    identitySources: [{ from: 'header', name: 'x-api-key' }],
    resultsCacheTtlSeconds: 300,
    deliverAccessLogs: async () => undefined,
    authorizerFunctionArn: AUTHORIZER_ARN,
    // The local API itself has one stage.
    controlPlane: { otherRestApis: APIS - 1, stagesPerApi: STAGES_PER_API },
  });
  const { rest, http } = apiGatewayClients(LOCAL_REGION, { endpoint: gateway.controlPlaneUrl, credentials: LOCAL_CREDENTIALS });
  const directory = new Map<string, { stages: readonly AuthorizerStage[]; discoveredAtMs: number }>();
  const flush = () =>
    flushAfterRevocation([{ gateway: new ApiGatewayRegion(LOCAL_REGION, rest, http, AUTHORIZER_ARN, new ControlPlaneBudget()), home: true }], { keyHashes: ['0'.repeat(64)], revokedAtMs: 0 }, {
      revocationPollMs: 0,
      clock: Date.now,
      sleep: async () => undefined,
      directory: { rememberedStages: async (region) => directory.get(region), rememberStages: async (region, stages, discoveredAtMs) => void directory.set(region, { stages, discoveredAtMs }) },
    });
  try {
    for (const label of ['first flush (lists the region)', 'next flush (remembered stages)']) {
      const before = gateway.controlPlaneCalls();
      const started = Date.now();
      const report = await flush();
      const seconds = (Date.now() - started) / 1000;
      const after = gateway.controlPlaneCalls();
      const calls = after.served - before.served;
      lines.push(line(label, `${seconds.toFixed(1)} s`), line('  stages flushed / failed', `${report.flushed.length} / ${report.failed.length}`), line('  control-plane calls (throttled)', `${calls} (${after.throttled - before.throttled})`), line('  calls per second', (calls / seconds).toFixed(1)));
      // The next flush must not ride on the burst this one spent.
      await new Promise((resolve) => setTimeout(resolve, 4_000));
    }
  } finally {
    rest.destroy();
    http.destroy();
    await gateway.close();
  }
  return lines;
}
