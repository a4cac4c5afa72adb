import { CfnOutput, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import { AccessLogFormat, AuthorizationType, LogGroupLogDestination, MockIntegration, RestApi } from 'aws-cdk-lib/aws-apigateway';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { RotatingApiKeys, USAGE_LOG_FIELDS } from './rotating-api-keys';

/**
 * The fields of each access log line: the usage counter reads `clientId` and `keyVersion`, which the
 * authorizer puts in its context; `$context.authorizer.*` is empty on refused requests.
 */
export const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  method: '$context.httpMethod',
  resourcePath: '$context.resourcePath',
  status: '$context.status',
  latencyMs: '$context.responseLatency',
  ...USAGE_LOG_FIELDS,
} as const;

/**
 * An example of keyroll in use: two clients, and a REST API whose methods the authorizer protects.
 * `GET /hello` answers any valid key; `POST /orders` needs the `write` scope, which only `globex` has.
 */
export class ExampleApiStack extends Stack {
  readonly keys: RotatingApiKeys;
  readonly api: RestApi;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.keys = new RotatingApiKeys(this, 'ApiKeys', {
      clients: [
        { clientId: 'acme', scopes: ['read'] },
        { clientId: 'globex', scopes: ['read', 'write'] },
      ],
      routeScopes: { 'POST /orders': 'write' },
    });

    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    this.api = new RestApi(this, 'Api', {
      restApiName: 'keyroll-example',
      description: 'keyroll example API: every method needs a key',
      cloudWatchRole: false,
      deployOptions: {
        stageName: 'prod',
        accessLogDestination: new LogGroupLogDestination(accessLogs),
        accessLogFormat: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
        throttlingRateLimit: 100,
        throttlingBurstLimit: 200,
      },
      defaultMethodOptions: { authorizer: this.keys.authorizer, authorizationType: AuthorizationType.CUSTOM },
    });
    this.keys.countUsageFrom(accessLogs);
    const validator = this.api.addRequestValidator('RequestValidator', { validateRequestParameters: true, validateRequestBody: true });

    this.api.root.addResource('hello').addMethod('GET', mock(200, '{"hello": "$context.authorizer.clientId", "keyVersion": "$context.authorizer.keyVersion"}'), {
      methodResponses: [{ statusCode: '200' }],
      requestValidator: validator,
    });
    this.api.root.addResource('orders').addMethod('POST', mock(201, '{"accepted": true, "clientId": "$context.authorizer.clientId"}'), {
      methodResponses: [{ statusCode: '201' }],
      requestValidator: validator,
    });

    Validations.of(this.api).acknowledge(
      { id: 'AwsSolutions-APIG3', reason: 'An example API; put AWS WAF in front of a production API (see the README)' },
      { id: 'AwsSolutions-APIG6', reason: 'JSON access logs with the authorizer context are on; execution logs would need an account-wide API Gateway role' },
      { id: 'AwsSolutions-COG4', reason: 'Methods use keyroll\'s Lambda REQUEST authorizer, not Cognito' },
    );

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'The example API' });
    new CfnOutput(this, 'ClientTopicArn', { value: this.keys.clientTopic.topicArn, description: 'Client notifications; subscribe with a filter policy on clientId' });
    new CfnOutput(this, 'OperationsTopicArn', { value: this.keys.operationsTopic.topicArn, description: 'Failed and stuck rotations, alarms' });
    for (const [clientId, secret] of this.keys.clientSecrets) {
      new CfnOutput(this, `SecretArn${clientId}`, { value: secret.secretArn, description: `The secret holding the API key of client ${clientId}` });
    }
  }
}

function mock(statusCode: number, body: string): MockIntegration {
  return new MockIntegration({
    requestTemplates: { 'application/json': `{"statusCode": ${statusCode}}` },
    integrationResponses: [{ statusCode: String(statusCode), responseTemplates: { 'application/json': body } }],
  });
}
