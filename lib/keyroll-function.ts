import { Duration, RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { KEY_TABLE_FAMILIES, KEY_TABLE_SCHEMA } from '../lambda/adapters/key-table-schema';
import type { KeyTableAccess } from '../lambda/contracts/key-table-access';
import { KEY_TABLE_NAME } from '../lambda/config/shared-settings';
import type { ValuesOf, VariableSet } from '../lambda/config/variables';
import { ConfigurationError, InvalidKeyrollPropsError } from '../lambda/domain/errors';
import { bundleDirectory, type FunctionEntry } from './function-bundles';

/**
 * Why a function stays on the Node.js runtime it was written for when the installed aws-cdk-lib knows a newer one
 * (cdk-nag's AwsSolutions-L1 flags every older runtime): Lambda does not guarantee compatibility between major
 * versions, so moving is the owner's change (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html).
 */
const PINNED_RUNTIME_REASON = 'Pinned to the Node.js runtime this code is built (esbuild target node24) and tested for; Lambda does not guarantee compatibility between major runtime versions, so a newer one comes with a keyroll release';

export interface KeyrollFunctionProps {
  /** Which of keyroll's functions (`lambda/functions/<entry>.ts`, prebuilt into `dist/bundles/<entry>`). */
  readonly entry: FunctionEntry;
  readonly description: string;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** @default - a name CloudFormation generates */
  readonly functionName?: string;
  /** Executions this function may run at once, reserved from the account's pool. @default - none reserved */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * The house defaults of every keyroll function, in one place: the newest Node.js runtime on arm64, the
 * prebuilt bundle with the AWS SDK inside (so the versions tested are the versions deployed), an explicit
 * log group with retention, explicit timeout and memory, and a role of its own that may write to that log
 * group and nothing else until a grant says so. Environment variables are written from their declarations
 * in `lambda/config/`, and checked there: a value the function would refuse fails the synth.
 */
export class KeyrollFunction extends LambdaFunction {
  /** The function's own role (the base class types `role` as optional). */
  readonly executionRole: Role;

  constructor(scope: Construct, id: string, props: KeyrollFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `keyroll: ${props.description}`,
    });
    super(scope, id, {
      code: Code.fromAsset(bundleDirectory(props.entry)),
      handler: 'index.handler',
      description: `keyroll: ${props.description}`,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      timeout: props.timeout ?? Duration.seconds(30),
      memorySize: props.memorySize ?? 256,
      logGroup,
      role,
      ...(props.functionName === undefined ? {} : { functionName: props.functionName }),
      ...(props.reservedConcurrentExecutions === undefined ? {} : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
    });
    this.executionRole = role;
    logGroup.grantWrite(role);
    Validations.of(this).acknowledge({ id: 'AwsSolutions-L1', reason: PINNED_RUNTIME_REASON });
  }

  /** Writes the given settings as the declared variables, checking each literal value with its reader. */
  configure<S extends VariableSet>(variables: S, values: ValuesOf<S>): this {
    for (const [setting, value] of Object.entries(values) as [keyof S & string, unknown][]) {
      if (value === undefined) continue;
      const variable = variables[setting];
      if (variable === undefined) throw new InvalidKeyrollPropsError(`${this.node.path}: no variable is declared for the setting "${setting}"`);
      const text = variable.write(value as never);
      if (!Token.isUnresolved(text)) {
        try {
          variable.read({ [variable.name]: text });
        } catch (error) {
          if (error instanceof ConfigurationError) throw new InvalidKeyrollPropsError(`${this.node.path}: ${error.message}`, { cause: error });
          throw error;
        }
      }
      this.addEnvironment(variable.name, text);
    }
    return this;
  }

  /**
   * Names the key table in the environment and grants what `access` declares: its reads, its index reads, and
   * writes only on the item families it names, by partition key (IAM `dynamodb:LeadingKeys`, which must be used
   * with `ForAllValues`: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html).
   */
  useKeyTable(table: ITableV2, access: KeyTableAccess): this {
    this.addEnvironment(KEY_TABLE_NAME.name, table.tableName);
    if (access.read.length > 0) this.addToRolePolicy(new PolicyStatement({ actions: [...access.read], resources: [table.tableArn] }));
    if (access.indexRead !== undefined && access.indexRead.length > 0) {
      this.addToRolePolicy(new PolicyStatement({ actions: [...access.indexRead], resources: [`${table.tableArn}/index/${KEY_TABLE_SCHEMA.byClientIndex.indexName}`] }));
    }
    for (const write of access.write ?? []) {
      this.addToRolePolicy(
        new PolicyStatement({
          actions: [...write.actions],
          resources: [table.tableArn],
          conditions: {
            'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': write.families.map((family) => KEY_TABLE_FAMILIES[family]) },
            ...(write.attributes === undefined ? {} : { 'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...write.attributes] }, StringEquals: { 'dynamodb:ReturnValues': ['NONE', 'UPDATED_OLD', 'UPDATED_NEW'] } }),
          },
        }),
      );
    }
    return this;
  }
}
