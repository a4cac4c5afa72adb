import type { Logger } from '@aws-lambda-powertools/logger';
import { ENDED_KEY_REPORT_MESSAGE, type EndedKeyReportFields } from '../contracts/ended-key-report';
import { EndedKeyReports } from '../domain/ended-key-reports';
import type { AuthorizationDecision, KeyAuthorizer } from '../domain/key-authorizer';
import type { KeyVersion } from '../domain/key-version';
import { AuthorizerResponses, isHttpApiEvent, parseAuthorizerEvent, type AuthorizerRequest, type PolicyResponse, type SimpleResponse } from '../adapters/api-gateway-authorizer-events';

export type { AuthorizerContext, PolicyResponse, SimpleResponse } from '../adapters/api-gateway-authorizer-events';

/** Counts decisions; must not write on every request. */
export interface DecisionRecorder {
  record(decision: AuthorizationDecision, nowMs: number): void;
}

/** The refusal that becomes `throw new Error('Unauthorized')`. */
const REFUSAL = Symbol('refusal');
type Refusal = typeof REFUSAL;

/**
 * The authorizer: parse the event, decide, count, log refusals, answer in the event's format. A refusal
 * is `throw new Error('Unauthorized')` (401), except for HTTP API simple responses (`isAuthorized: false`);
 * nothing else is ever thrown, so no request can end in a 500 from here.
 */
export function createAuthorizerHandler(deps: {
  readonly authorizer: KeyAuthorizer;
  readonly keyHeader: string;
  readonly httpApiSimpleResponses: boolean;
  readonly logger: Logger;
  readonly recorder: DecisionRecorder;
  readonly clock: () => number;
  /** How often a container reports refusals of one ended key version; default one minute. */
  readonly endedKeyReportIntervalMs?: number;
  /** With usage plans: the client's usage identifier (lambda/contracts/usage-plans.ts), the same for all its key versions. */
  readonly usageIdentifierKeyOf?: (clientId: string) => string;
}) {
  const responses = new AuthorizerResponses();
  const endedKeys = new EndedKeyReports(deps.endedKeyReportIntervalMs);

  /** Every path ends in an answer or a refusal; an unexpected error is logged and refused, never thrown. */
  async function answer(event: unknown): Promise<PolicyResponse | SimpleResponse | Refusal> {
    // Even a refusal of a malformed event answers in the format the API expects.
    const simple = deps.httpApiSimpleResponses && isHttpApiEvent(event);
    try {
      const request = parseRequest(event);
      if (request === undefined) return simple ? { isAuthorized: false } : REFUSAL;
      const nowMs = deps.clock();
      const decision = await deps.authorizer.authorize(request.presentedKeys, request.target, nowMs, request.sourceIp);
      deps.recorder.record(decision, nowMs);
      if (decision.outcome === 'unauthorized') {
        if (decision.reason === 'expired' && decision.version !== undefined) reportEndedKey(decision.version, nowMs);
        deps.logger.warn('request refused', {
          reason: decision.reason,
          key: decision.presented,
          ...(decision.version === undefined ? {} : { clientId: decision.version.clientId, versionId: decision.version.versionId }),
          ...(decision.failure === undefined ? {} : { failure: decision.failure }),
        });
        return simple ? { isAuthorized: false } : REFUSAL;
      }
      const { version } = decision;
      if (decision.outcome === 'forbidden') {
        deps.logger.warn('request forbidden', {
          reason: 'missing_scope',
          missingScopes: decision.missingScopes,
          clientId: version.clientId,
          versionId: version.versionId,
          key: version.keyDisplay,
          route: `${request.target.method} ${request.target.paths[0] ?? '/'}`,
        });
      }
      if (decision.source === 'stale') {
        deps.logger.warn('allowed on a stale cache entry: the key table could not be read', {
          failure: decision.failure,
          clientId: version.clientId,
          versionId: version.versionId,
        });
      }
      if (simple) return decision.outcome === 'allow' ? { isAuthorized: true, context: responses.contextOf(version) } : { isAuthorized: false };
      const usage = deps.usageIdentifierKeyOf === undefined ? {} : { usageIdentifierKey: deps.usageIdentifierKeyOf(version.clientId) };
      return { principalId: version.clientId, policyDocument: responses.policyOf(decision.permissions), context: responses.contextOf(version), ...usage };
    } catch (error) {
      deps.logger.error('authorizer failed; refusing the request', error instanceof Error ? error : String(error));
      countInternalError();
      return simple ? { isAuthorized: false } : REFUSAL;
    }
  }

  /** A client still presenting a key whose window has ended: one line per version per minute, with the count. */
  function reportEndedKey(version: KeyVersion, nowMs: number): void {
    const report = endedKeys.record(version, nowMs);
    if (report === undefined) return;
    const fields: EndedKeyReportFields = { clientId: report.clientId, versionId: report.versionId, refused: report.refused, since: new Date(report.sinceMs).toISOString() };
    deps.logger.warn(ENDED_KEY_REPORT_MESSAGE, { ...fields });
  }

  /** Counting must not turn a refusal into a 500, so a failure to count is only logged. */
  function countInternalError(): void {
    try {
      deps.recorder.record({ outcome: 'unauthorized', reason: 'internal_error', presented: '-' }, deps.clock());
    } catch (error) {
      deps.logger.error('could not count an internal error', error instanceof Error ? error : String(error));
    }
  }

  function parseRequest(event: unknown): AuthorizerRequest | undefined {
    try {
      return parseAuthorizerEvent(event, deps.keyHeader);
    } catch (error) {
      deps.recorder.record({ outcome: 'unauthorized', reason: 'malformed_event', presented: '-' }, deps.clock());
      deps.logger.warn('request refused', { reason: 'malformed_event', detail: error instanceof Error ? error.message : String(error) });
      return undefined;
    }
  }

  return async (event: unknown): Promise<PolicyResponse | SimpleResponse> => {
    const response = await answer(event);
    // API Gateway answers 401 only to this exact error message; any other error would be a 500.
    if (response === REFUSAL) throw new Error('Unauthorized');
    return response;
  };
}
