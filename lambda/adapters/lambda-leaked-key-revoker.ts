import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { EmergencyFunctionError } from '../domain/errors';
import type { LeakedKey, LeakedKeyRevoker, LeakedKeysOutcome } from '../domain/leak-reports';

/**
 * The emergency function, invoked synchronously (RequestResponse): the report endpoint's one way to end keys.
 * A function error (the payload says which) fails the report, so GitHub sends it again.
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
}

function parseOutcome(text: string): LeakedKeysOutcome {
  const value = JSON.parse(text) as Partial<LeakedKeysOutcome>;
  if (!Array.isArray(value.known) || !value.known.every((hash) => typeof hash === 'string') || typeof value.revoked !== 'number') {
    throw new EmergencyFunctionError('the emergency function answered with something that is not an outcome');
  }
  return { known: value.known, revoked: value.revoked, flush: value.flush };
}
