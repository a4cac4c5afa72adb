import type { Logger } from '@aws-lambda-powertools/logger';
import { GitHubKeysUnavailableError, LeakReportRejectedError, type GitHubReportVerifier } from '../adapters/github-secret-scanning';
import { handleLeakReport, type LeakedKeyRevoker } from '../domain/leak-reports';
import type { SourceBudgets } from '../domain/source-budget';
import type { FunctionUrlResponse } from './delivery-handler';

/** The answers that are not feedback: the same words whatever check failed (the log says which). */
const ANSWERS = {
  notFound: { status: 404, body: { error: 'not_found', message: 'POST a GitHub secret scanning report here.' } },
  rejected: { status: 401, body: { error: 'rejected', message: 'This is not a secret scanning report signed by a key GitHub publishes.' } },
  tooMany: { status: 429, body: { error: 'rate_limited', message: 'Too many requests from this address; try again shortly.' } },
  unavailable: { status: 503, body: { error: 'unavailable', message: 'Reports cannot be checked right now; send it again later.' } },
} as const;

/**
 * GitHub's secret scanning partner endpoint, behind a Lambda function URL: a budget per source address, then
 * verify the signature over the raw body, act on every reported keyroll key, answer with the partner program's
 * feedback (hashes, never tokens). Logs count matches and actions; no token, hash or URL from the report is logged.
 */
export function createLeakReportHandler(deps: {
  readonly verifier: GitHubReportVerifier;
  readonly revoker: LeakedKeyRevoker;
  readonly keyPrefix: string;
  readonly sources: SourceBudgets;
  readonly clock: () => number;
  readonly logger: Logger;
}) {
  return async (event: unknown): Promise<FunctionUrlResponse> => {
    const fields = (typeof event === 'object' && event !== null ? event : {}) as Record<string, unknown>;
    const http = ((fields['requestContext'] as { http?: { method?: unknown; sourceIp?: unknown } } | undefined)?.http ?? {}) as { method?: unknown; sourceIp?: unknown };
    if (http.method !== 'POST') return answer(ANSWERS.notFound);
    if (!deps.sources.allows(typeof http.sourceIp === 'string' ? http.sourceIp : '', deps.clock())) return answer(ANSWERS.tooMany);
    const headers = (typeof fields['headers'] === 'object' && fields['headers'] !== null ? fields['headers'] : {}) as Record<string, unknown>;
    const header = (name: string) => {
      const value = Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
      return typeof value === 'string' ? value : undefined;
    };
    const body = typeof fields['body'] === 'string' ? (fields['isBase64Encoded'] === true ? Buffer.from(fields['body'], 'base64').toString('utf8') : fields['body']) : '';
    let matches;
    try {
      matches = await deps.verifier.verify(body, header('github-public-key-identifier'), header('github-public-key-signature'));
    } catch (error) {
      if (error instanceof GitHubKeysUnavailableError) {
        deps.logger.error('leak report not checked: GitHub\'s keys cannot be read', { why: error.message, keyFetches: deps.verifier.fetches });
        return answer(ANSWERS.unavailable);
      }
      if (!(error instanceof LeakReportRejectedError)) throw error;
      deps.logger.warn('leak report rejected', { why: error.message });
      return answer(ANSWERS.rejected);
    }
    const { feedback, outcome, flushHandedOff } = await handleLeakReport(matches, { revoker: deps.revoker, keyPrefix: deps.keyPrefix });
    const handled = { matches: matches.length, truePositives: feedback.filter((f) => f.label === 'true_positive').length, revoked: outcome.revoked, rotated: outcome.rotated.length, flushHandedOff };
    const flush = outcome.flush;
    if (flush !== undefined && flush.failed.length > 0) {
      deps.logger.error('leak report handled, but API Gateway\'s authorizer caches were not flushed everywhere: flush them by hand', { ...handled, flushFailures: flush.failed });
    } else {
      deps.logger.info('leak report handled', { ...handled, flushed: flush?.flushed ?? [] });
    }
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(feedback) };
  };
}

function answer({ status, body }: { readonly status: number; readonly body: unknown }): FunctionUrlResponse {
  return { statusCode: status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}
