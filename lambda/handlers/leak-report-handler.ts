import type { Logger } from '@aws-lambda-powertools/logger';
import { LeakReportRejectedError, type GitHubReportVerifier } from '../adapters/github-secret-scanning';
import { handleLeakReport, type LeakedKeyRevoker } from '../domain/leak-reports';
import type { FunctionUrlResponse } from './delivery-handler';

/**
 * GitHub's secret scanning partner endpoint, behind a Lambda function URL: verify the signature over the raw
 * body, act on every reported keyroll key, answer with the partner program's feedback (hashes, never tokens).
 * Logs count matches and actions; no token, hash or URL from the report is logged.
 */
export function createLeakReportHandler(deps: {
  readonly verifier: GitHubReportVerifier;
  readonly revoker: LeakedKeyRevoker;
  readonly keyPrefix: string;
  readonly logger: Logger;
}) {
  return async (event: unknown): Promise<FunctionUrlResponse> => {
    const fields = (typeof event === 'object' && event !== null ? event : {}) as Record<string, unknown>;
    const method = ((fields['requestContext'] as { http?: { method?: unknown } } | undefined)?.http?.method ?? '') as string;
    if (method !== 'POST') return json(404, { error: 'not_found', message: 'POST a GitHub secret scanning report here.' });
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
      if (!(error instanceof LeakReportRejectedError)) throw error;
      deps.logger.warn('leak report rejected', { why: error.message });
      return json(401, { error: 'rejected', message: error.message });
    }
    const { feedback, outcome } = await handleLeakReport(matches, { revoker: deps.revoker, keyPrefix: deps.keyPrefix });
    const { revoked, flush } = outcome;
    const handled = { matches: matches.length, truePositives: feedback.filter((f) => f.label === 'true_positive').length, revoked };
    if (flush !== undefined && 'failed' in flush) {
      deps.logger.error('leak report handled, but API Gateway\'s authorizer caches were not flushed: flush them by hand', { ...handled, flushError: flush.failed });
    } else {
      deps.logger.info('leak report handled', { ...handled, flushed: flush?.flushed ?? [] });
    }
    return json(200, feedback);
  };
}

function json(statusCode: number, body: unknown): FunctionUrlResponse {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}
