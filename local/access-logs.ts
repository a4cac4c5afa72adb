import { gzipSync } from 'node:zlib';
import type { CloudWatchLogsDecodedData, CloudWatchLogsEvent } from 'aws-lambda';
import type { REST_API_ACCESS_LOG_FIELDS } from '../lambda/contracts/access-log';

/** One API request as the API's JSON access log line records it (the fields the usage counter reads). */
export interface LoggedRequest {
  readonly atMs: number;
  /** The authorizer context; absent for a request the authorizer refused. */
  readonly clientId?: string;
  readonly keyVersion?: string;
  readonly status?: number;
  readonly method?: string;
  readonly path?: string;
}

/** The access log line API Gateway writes for a request, in the format the construct declares (every field of it). */
export function accessLogLine(request: LoggedRequest, requestId: string): string {
  const line: Record<keyof typeof REST_API_ACCESS_LOG_FIELDS, string> = {
    requestId,
    ip: '127.0.0.1',
    method: request.method ?? 'GET',
    resourcePath: request.path ?? '/hello',
    latencyMs: '1',
    requestTimeEpoch: String(request.atMs),
    status: String(request.status ?? 200),
    // API Gateway writes "-" for a context variable that has no value.
    clientId: request.clientId ?? '-',
    keyVersion: request.keyVersion ?? '-',
  };
  return JSON.stringify(line);
}

let nextEventId = 0;

/**
 * A CloudWatch Logs subscription delivery of these lines, as Lambda receives it: base64 of gzipped JSON.
 * Each line gets a fresh log event id unless `ids` gives them (a redelivery repeats the ids).
 */
export function logDeliveryEvent(lines: readonly { readonly message: string; readonly timestamp: number }[], ids?: readonly string[]): CloudWatchLogsEvent {
  const payload: CloudWatchLogsDecodedData = {
    messageType: 'DATA_MESSAGE',
    owner: '111122223333',
    logGroup: 'API-Gateway-Execution-Logs_example/prod',
    logStream: 'access',
    subscriptionFilters: ['keyroll-usage'],
    logEvents: lines.map((line, index) => ({ id: ids?.[index] ?? String(++nextEventId).padStart(56, '0'), timestamp: line.timestamp, message: line.message })),
  };
  return { awslogs: { data: gzipSync(JSON.stringify(payload)).toString('base64') } };
}

/** A delivery of the access log lines of these requests. */
export function requestsDelivery(requests: readonly LoggedRequest[]): CloudWatchLogsEvent {
  return logDeliveryEvent(requests.map((request, index) => ({ message: accessLogLine(request, `req-${request.atMs}-${index}`), timestamp: request.atMs + 50 })));
}
