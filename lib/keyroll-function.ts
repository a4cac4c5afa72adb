import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import * as path from 'node:path';
import { LAMBDA_BUNDLING } from './bundling';

export interface KeyrollFunctionProps {
  /** The entry module under `lambda/functions/`, without extension (`rotation`). */
  readonly entryName: string;
  readonly description: string;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /** Environment variables; never a secret. */
  readonly environment?: Record<string, string>;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

/**
 * The house defaults of every keyroll function, in one place: the newest Node.js runtime on arm64, the AWS
 * SDK bundled (so the versions tested are the versions deployed), minified CommonJS with module-first
 * resolution, an explicit log group with retention, explicit timeout and memory, and a role of its own
 * that may write to that log group and nothing else until a grant says so.
 */
export class KeyrollFunction extends NodejsFunction {
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
      entry: path.join(__dirname, '..', 'lambda', 'functions', `${props.entryName}.ts`),
      handler: 'handler',
      description: `keyroll: ${props.description}`,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      timeout: props.timeout ?? Duration.seconds(30),
      memorySize: props.memorySize ?? 256,
      logGroup,
      role,
      environment: props.environment,
      bundling: {
        externalModules: [],
        format: OutputFormat.CJS,
        minify: LAMBDA_BUNDLING.minify,
        mainFields: [...LAMBDA_BUNDLING.mainFields],
        target: LAMBDA_BUNDLING.target,
      },
    });
    this.executionRole = role;
    logGroup.grantWrite(role);
  }
}
