import { Stack, Token } from 'aws-cdk-lib';
import type { GatewayResponse, RequestAuthorizer, RestApiBase } from 'aws-cdk-lib/aws-apigateway';
import type { HttpLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { TableV2, type ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { InvalidKeyrollPropsError } from '../lambda/domain/errors';
import { addClientErrorResponses, newAuthorizerFunction, newHttpAuthorizer, newRestAuthorizer, replicaAuthorizerFunctionName } from './authorizer-wiring';
import type { KeyrollFunction } from './keyroll-function';
import { installSettingsOf, type RotatingApiKeys } from './rotating-api-keys';
import type { ValidSettings } from './validation';

export interface RotatingApiKeysReplicaProps {
  /** The install whose keys this region accepts, declared in the same CDK app; this stack's region must be one of its `replicaRegions`. */
  readonly primary: RotatingApiKeys;
  /**
   * The key table's name, which its replica here shares.
   * @default - the primary's `keyTableName` (for an install created without one: its stack output's `keyTableName`)
   */
  readonly keyTableName?: string;
  /**
   * Retention of the replica authorizer's logs.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
}

/**
 * A replica region of a multi-region install, in a stack of that region: the authorizer, reading the key
 * table's local replica, with the primary's settings, caches and error bodies, so an API here accepts exactly
 * the keys the primary region accepts. Rotation, notifications and the monitor stay in the primary region.
 */
export class RotatingApiKeysReplica extends Construct {
  /** The authorizer of this region, with the primary's settings, reading the key table's replica here. */
  readonly authorizerFunction: KeyrollFunction;
  /** The key table's replica in this region. */
  readonly keyTable: ITableV2;
  private readonly settings: ValidSettings;
  private requestAuthorizer: RequestAuthorizer | undefined;
  private httpLambdaAuthorizer: HttpLambdaAuthorizer | undefined;

  constructor(scope: Construct, id: string, props: RotatingApiKeysReplicaProps) {
    super(scope, id);
    this.settings = installSettingsOf(props.primary);
    const region = Stack.of(this).region;
    const where = `${this.node.path}`;
    if (Token.isUnresolved(region)) throw new InvalidKeyrollPropsError(`${where}: a replica's stack needs an explicit region`);
    const replica = this.settings.replicaRegions.find((candidate) => candidate.region === region);
    if (replica === undefined) {
      throw new InvalidKeyrollPropsError(`${where}: ${region} is not one of the replicaRegions of ${props.primary.node.path} (add { region: '${region}', encryptionKeyArn } there first)`);
    }
    const tableName = props.keyTableName ?? this.settings.keyTableName;
    if (tableName === undefined || Token.isUnresolved(tableName)) {
      throw new InvalidKeyrollPropsError(`${where}: keyTableName is needed: set keyTableName on ${props.primary.node.path}, or pass its deployed table's name here`);
    }
    // Its authorizer reads the table the primary stack creates, and is flushed by functions named there.
    if (Stack.of(this) !== Stack.of(props.primary)) Stack.of(this).addStackDependency(Stack.of(props.primary), 'the replica region reads the key table of the primary stack');
    this.keyTable = TableV2.fromTableName(this, 'KeyTable', tableName);
    // Named by the install, which flushes the caches of this region's APIs after a revocation (README, Multi-region).
    // No usage identifier key: API keys and usage plans are regional, and the install's exist in its own region only
    // (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-key-source.html).
    this.authorizerFunction = newAuthorizerFunction(this, this.keyTable, this.settings, {
      logRetention: props.logRetention,
      functionName: replicaAuthorizerFunctionName(Stack.of(props.primary).stackName, props.primary.node.path),
      usagePlans: false,
    });
    // The replica is encrypted with this region's key.
    this.authorizerFunction.addToRolePolicy(new PolicyStatement({ actions: ['kms:Decrypt'], resources: [replica.encryptionKeyArn] }));
  }

  /** The REST authorizer for this region's APIs; the same as the primary's `authorizer`. */
  get authorizer(): RequestAuthorizer {
    this.requestAuthorizer ??= newRestAuthorizer(this, this.authorizerFunction, this.settings);
    return this.requestAuthorizer;
  }

  /** The HTTP API authorizer for this region's APIs; the same as the primary's `httpAuthorizer`. */
  get httpAuthorizer(): HttpLambdaAuthorizer {
    this.httpLambdaAuthorizer ??= newHttpAuthorizer(this, this.authorizerFunction, this.settings);
    return this.httpLambdaAuthorizer;
  }

  /** The primary's error bodies, for a REST API of this region. */
  addErrorResponses(api: RestApiBase): GatewayResponse[] {
    return addClientErrorResponses(api, this.settings);
  }
}
