import { Duration, RemovalPolicy } from 'aws-cdk-lib';
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
 * The house defaults of every keyroll function, in one place: Node.js 22 on arm64, the AWS SDK bundled
 * (so the versions tested are the versions deployed), minified CommonJS with module-first resolution,
 * an explicit log group with retention, explicit timeout and memory.
 */
export class KeyrollFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: KeyrollFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    super(scope, id, {
      entry: path.join(__dirname, '..', 'lambda', 'functions', `${props.entryName}.ts`),
      handler: 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      timeout: props.timeout ?? Duration.seconds(30),
      memorySize: props.memorySize ?? 256,
      logGroup,
      environment: props.environment,
      bundling: {
        externalModules: [],
        format: OutputFormat.CJS,
        minify: LAMBDA_BUNDLING.minify,
        mainFields: [...LAMBDA_BUNDLING.mainFields],
        target: LAMBDA_BUNDLING.target,
      },
    });
  }
}
