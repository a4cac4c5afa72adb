import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SecretsManagerModel } from './secrets-manager-model';

/**
 * A Secrets Manager client that answers from the model in memory, through the SDK's own command classes and
 * middleware; `around` sees each call (to count it, or to fail it).
 */
export function modelClient(model: SecretsManagerModel, around: (operation: string, call: () => unknown) => Promise<unknown> = async (_operation, call) => call()): SecretsManagerClient {
  const client = new SecretsManagerClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const operations: Record<string, (input: never) => unknown> = {
    DescribeSecretCommand: (input) => model.describeSecret(input),
    GetSecretValueCommand: (input) => model.getSecretValue(input),
    PutSecretValueCommand: (input) => model.putSecretValue(input),
    UpdateSecretVersionStageCommand: (input) => model.updateSecretVersionStage(input),
    ListSecretVersionIdsCommand: (input) => model.listSecretVersionIds(input),
    ListSecretsCommand: (input) => model.listSecrets(input),
  };
  client.middlewareStack.add(
    (_next, context) => async (args) => {
      const operation = operations[context.commandName ?? ''];
      if (operation === undefined) throw new Error(`the model does not serve ${context.commandName ?? 'this command'}`);
      const output = await around(context.commandName ?? '', () => operation(args.input as never));
      return { output: { $metadata: {}, ...(output as object) }, response: {} };
    },
    { step: 'initialize', name: 'keyrollModel' },
  );
  return client;
}

