import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { EmergencyFunctionError } from '../domain/errors';
import type { LeakedKey, LeakedKeyRevoker, LeakedKeysOutcome, PendingFlush } from '../domain/leak-reports';

/**
 * The emergency function, the report endpoint's one way to end keys: invoked synchronously (RequestResponse) to
 * end them, a function error failing the report so that GitHub sends it again; and asynchronously (Event) for a
 * flush that takes longer than GitHub waits, which Lambda retries twice on error.
 * https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
 */
export class LambdaLeakedKeyRevoker implements LeakedKeyRevoker {
  constructor(
    private readonly client: LambdaClient,
    private readonly functionArn: string,
  ) {}

  async endLeakedKeys(keys: readonly LeakedKey[]): Promise<LeakedKeysOutcome> {
    const { Payload, FunctionError } = await this.client.send(
      new InvokeCommand({ FunctionName: this.functionArn, InvocationType: 'RequestResponse', Payload: new TextEncoder().encode(JSON.stringify({ leakedKeys: keys })) }),
    );
    const text = Payload === undefined ? '' : new TextDecoder().decode(Payload);
    if (FunctionError !== undefined) {
      const message = (JSON.parse(text || '{}') as { errorMessage?: unknown }).errorMessage;
      throw new EmergencyFunctionError(`the emergency function failed (${FunctionError}): ${typeof message === 'string' ? message : 'no message'}`);
    }
    return parseOutcome(text);
  }

  async flushLater(flush: PendingFlush): Promise<void> {
    // An accepted asynchronous invocation answers 202 (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html).
    const { StatusCode } = await this.client.send(
      new InvokeCommand({ FunctionName: this.functionArn, InvocationType: 'Event', Payload: new TextEncoder().encode(JSON.stringify({ flushAfterRevocation: flush })) }),
    );
    if (StatusCode !== 202) throw new EmergencyFunctionError(`the emergency function did not accept the flush (status ${StatusCode ?? 'none'})`);
  }
}

function parseOutcome(text: string): LeakedKeysOutcome {
  const value = JSON.parse(text) as Partial<LeakedKeysOutcome>;
  if (!Array.isArray(value.known) || !value.known.every((hash) => typeof hash === 'string') || typeof value.revoked !== 'number') {
    throw new EmergencyFunctionError('the emergency function answered with something that is not an outcome');
  }
  const flushAfter = value.flushAfter;
  const validFlushAfter = flushAfter !== undefined && Array.isArray(flushAfter.keyHashes) && typeof flushAfter.revokedAtMs === 'number' ? flushAfter : undefined;
  const flush = value.flush;
  const validFlush = flush !== undefined && Array.isArray(flush.flushed) && Array.isArray(flush.failed) && Array.isArray(flush.unfinished) ? flush : undefined;
  return {
    known: value.known,
    revoked: value.revoked,
    rotated: Array.isArray(value.rotated) ? value.rotated : [],
    ...(validFlushAfter === undefined ? {} : { flushAfter: validFlushAfter }),
    ...(validFlush === undefined ? {} : { flush: validFlush }),
  };
}
