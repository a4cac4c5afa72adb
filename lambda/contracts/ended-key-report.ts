/**
 * The authorizer's report of refusals of an ended key, declared once: the log line's message, which a log
 * subscription or a Logs Insights query selects on (`filter message = "ended key refused"`), and its fields.
 */
export const ENDED_KEY_REPORT_MESSAGE = 'ended key refused';

export interface EndedKeyReportFields {
  readonly clientId: string;
  readonly versionId: string;
  /** Requests refused since `since`. */
  readonly refused: number;
  /** ISO-8601. */
  readonly since: string;
}
