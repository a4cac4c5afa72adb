import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export type AwsService = 'secretsmanager' | 'dynamodb' | 'sns';

/**
 * A failure to inject into the `callIndex`-th call to a service: `before` the call reaches the service
 * (a throttle), or `after` it took effect (the response was lost: the caller sees an error, but the write
 * happened).
 */
export interface ScheduledFault {
  readonly service: AwsService;
  /** With `operation`, the index among that operation's calls only. */
  readonly callIndex: number;
  readonly timing: 'before' | 'after';
  readonly operation?: string;
}

export class InjectedFaultError extends Error {
  override readonly name = 'ThrottlingException';
}

/** Counts calls per service and fails the scheduled ones. */
export class FaultInjector {
  private scheduled: readonly ScheduledFault[] = [];
  private readonly counts: Record<AwsService, number> = { secretsmanager: 0, dynamodb: 0, sns: 0 };
  private readonly operationCounts = new Map<string, number>();
  private firedFaults: ScheduledFault[] = [];

  /** Replaces the schedule and restarts the call counts. */
  schedule(faults: readonly ScheduledFault[]): void {
    this.scheduled = faults;
    this.firedFaults = [];
    this.counts.secretsmanager = 0;
    this.counts.dynamodb = 0;
    this.counts.sns = 0;
    this.operationCounts.clear();
  }

  /** The faults injected since the last {@link schedule}. An `after` fault on a call that failed by itself is not. */
  get fired(): readonly ScheduledFault[] {
    return this.firedFaults;
  }

  /** Calls made to each service since the last {@link schedule}. */
  callCounts(): Readonly<Record<AwsService, number>> {
    return { ...this.counts };
  }

  async around<T>(service: AwsService, operation: string, call: () => T | Promise<T>): Promise<T> {
    const callIndex = this.counts[service]++;
    const operationIndex = this.operationCounts.get(`${service}:${operation}`) ?? 0;
    this.operationCounts.set(`${service}:${operation}`, operationIndex + 1);
    const fault = this.scheduled.find(
      (candidate) => candidate.service === service && (candidate.operation === undefined ? candidate.callIndex === callIndex : candidate.operation === operation && candidate.callIndex === operationIndex),
    );
    if (fault?.timing === 'before') {
      this.firedFaults.push(fault);
      throw new InjectedFaultError(`injected: ${service} ${operation} throttled`);
    }
    const result = await call();
    if (fault?.timing === 'after') {
      this.firedFaults.push(fault);
      throw new InjectedFaultError(`injected: ${service} ${operation} response lost`);
    }
    return result;
  }
}

/** Runs every command of a real DynamoDB client through the injector, outside the SDK's own retries. */
export function injectDynamoDbFaults(client: DynamoDBClient, faults: FaultInjector): void {
  client.middlewareStack.add(
    (next, context) => (args) => faults.around('dynamodb', context.commandName ?? 'unknown', () => next(args)),
    { step: 'initialize', name: 'keyrollFaultInjection' },
  );
}
