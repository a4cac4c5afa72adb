import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runRotation, type RotationFunction, type RotationRun } from './rotation-driver';
import type { SecretsManagerModel } from './secrets-manager-model';

export interface SecretsManagerServer {
  readonly endpoint: string;
  /** Resolves when every rotation started so far has ended. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

/** The operations the model serves, by the name in `X-Amz-Target: secretsmanager.<Operation>`. */
const OPERATIONS = {
  CreateSecret: (model, input) => model.createSecret(input),
  DescribeSecret: (model, input) => model.describeSecret(input),
  GetSecretValue: (model, input) => model.getSecretValue(input),
  PutSecretValue: (model, input) => model.putSecretValue(input),
  UpdateSecretVersionStage: (model, input) => model.updateSecretVersionStage(input),
  ListSecretVersionIds: (model, input) => model.listSecretVersionIds(input),
  ListSecrets: (model, input) => model.listSecrets(input),
  TagResource: (model, input) => model.tagResource(input),
  RotateSecret: (model, input) => model.rotateSecret(input),
  PutResourcePolicy: (model, input) => model.putResourcePolicy(input),
  GetResourcePolicy: (model, input) => model.getResourcePolicy(input),
  DeleteSecret: (model, input) => model.deleteSecret(input),
  RestoreSecret: (model, input) => model.restoreSecret(input),
  ReplicateSecretToRegions: (model, input) => model.replicateSecretToRegions(input),
  RemoveRegionsFromReplication: (model, input) => model.removeRegionsFromReplication(input),
} satisfies Record<string, (model: SecretsManagerModel, input: never) => unknown>;

/**
 * Secrets Manager on 127.0.0.1, over its real protocol (AWS JSON 1.1: POST /, `X-Amz-Target`, errors as
 * `__type`; https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html), backed by the model. After a
 * RotateSecret that starts a rotation, it invokes the rotation function's steps as the service does,
 * retrying from createSecret with the same token after a failed step. Requests are not signature-checked.
 */
export async function startSecretsManagerServer(
  model: SecretsManagerModel,
  rotationFunction: RotationFunction,
  options: { readonly port?: number; readonly onRotation?: (run: RotationRun, secretArn: string) => void } = {},
): Promise<SecretsManagerServer> {
  const rotations = new Set<Promise<unknown>>();
  const server: Server = createServer((request, response) => {
    void handle(request).then(({ status, body, errorType }) => {
      response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', ...(errorType === undefined ? {} : { 'x-amzn-errortype': errorType }) });
      response.end(JSON.stringify(body, epochSecondsForDates));
    });
  });

  async function handle(request: IncomingMessage): Promise<{ status: number; body: unknown; errorType?: string }> {
    const target = String(request.headers['x-amz-target'] ?? '');
    const operation = target.startsWith('secretsmanager.') ? target.slice('secretsmanager.'.length) : '';
    let text = '';
    for await (const chunk of request) text += String(chunk);
    const serve = (OPERATIONS as unknown as Record<string, ((model: SecretsManagerModel, input: unknown) => unknown) | undefined>)[operation];
    if (serve === undefined) return { status: 400, errorType: 'UnknownOperationException', body: { __type: 'UnknownOperationException', message: `${target} is not served locally` } };
    try {
      const output = serve(model, text === '' ? {} : JSON.parse(text));
      if (operation === 'RotateSecret') startRotation((output as { ARN: string }).ARN);
      return { status: 200, body: output };
    } catch (error) {
      const name = error instanceof Error ? error.name : 'InternalServiceError';
      const message = error instanceof Error ? error.message : String(error);
      return { status: name === 'InternalServiceError' ? 500 : 400, errorType: name, body: { __type: name, message } };
    }
  }

  /** JSON 1.1 timestamps are epoch seconds. The replacer reads the holder, since Date.toJSON runs before it. */
  function epochSecondsForDates(this: Record<string, unknown>, key: string, value: unknown): unknown {
    const original = this[key];
    return original instanceof Date ? original.getTime() / 1000 : value;
  }

  function startRotation(secretArn: string): void {
    const run = new Promise((resolve) => setImmediate(resolve))
      .then(() => runRotation(model, secretArn, rotationFunction))
      .then((result) => options.onRotation?.(result, secretArn))
      .catch(() => undefined)
      .finally(() => rotations.delete(run));
    rotations.add(run);
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    settled: async () => {
      while (rotations.size > 0) await Promise.all([...rotations]);
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
