import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { FlushTarget } from '../domain/authorizer-cache-flush';
import { apiGatewayClients, ApiGatewayRegion, ControlPlaneBudget } from './api-gateway-authorizer-caches';
import { DynamoKeyTable } from './dynamodb-key-table';

/** A region whose API Gateway stages are flushed after a revocation, by the authorizer function they invoke there. */
export interface FlushRegion {
  readonly region: string;
  readonly authorizerFunctionArn: string;
}

/** The region of an ARN (`arn:aws:lambda:eu-west-1:…` → `eu-west-1`). */
export function regionOfArn(arn: string): string {
  return arn.split(':')[3] ?? '';
}

/**
 * The flush targets of an install on AWS: its own region, and each replica region with its copy of the key table
 * (read there, to know when the revocation has arrived). Clients are created here, once, and destroyed together.
 */
export function flushTargetsOnAws(options: {
  readonly home: FlushRegion;
  readonly replicas: readonly FlushRegion[];
  readonly keyTableName: string;
  /** Options for every client (credentials, request handler); `endpoint` is for local mode only. */
  readonly clientOptions?: Record<string, unknown>;
  readonly apiGatewayEndpoint?: string;
}): { readonly targets: FlushTarget[]; destroy(): void } {
  const destroyers: (() => void)[] = [];
  const gateway = ({ region, authorizerFunctionArn }: FlushRegion) => {
    const { rest, http } = apiGatewayClients(region, { ...options.clientOptions, ...(options.apiGatewayEndpoint === undefined ? {} : { endpoint: options.apiGatewayEndpoint }) });
    destroyers.push(() => rest.destroy(), () => http.destroy());
    return new ApiGatewayRegion(region, rest, http, authorizerFunctionArn, new ControlPlaneBudget());
  };
  const targets: FlushTarget[] = [{ gateway: gateway(options.home), home: true }];
  for (const replica of options.replicas) {
    const dynamodb = new DynamoDBClient({ ...options.clientOptions, region: replica.region });
    destroyers.push(() => dynamodb.destroy());
    const table = new DynamoKeyTable(dynamodb, options.keyTableName);
    targets.push({
      gateway: gateway(replica),
      home: false,
      // Both the feed entry (which makes warm containers drop the key) and the key's own item (which a miss reads).
      revocationsReplicated: async (keyHashes, sinceMs) => {
        const announced = new Set(await table.revokedSince(sinceMs));
        if (!keyHashes.every((hash) => announced.has(hash))) return false;
        const versions = await Promise.all(keyHashes.map((hash) => table.findByHash(hash)));
        return versions.every((version) => version === undefined || version.revokedAtMs !== undefined);
      },
    });
  }
  return { targets, destroy: () => destroyers.forEach((destroy) => destroy()) };
}
