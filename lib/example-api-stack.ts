import { CfnOutput, Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import { AccessLogFormat, AuthorizationType, LogGroupLogDestination, MethodLoggingLevel, MockIntegration, RestApi } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, LogGroupLogDestination as HttpLogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { HTTP_API_ACCESS_LOG_FIELDS, REST_API_ACCESS_LOG_FIELDS } from '../lambda/contracts/access-log';
import { RotatingApiKeys } from './rotating-api-keys';

/**
 * An example of keyroll in use: two clients, a REST API whose methods the authorizer protects, and an HTTP
 * API route protected the same way. `GET /hello` answers any valid key; `POST /orders` needs the `write`
 * scope, which only `globex` has.
 */
export class ExampleApiStack extends Stack {
  readonly keys: RotatingApiKeys;
  readonly api: RestApi;
  readonly httpApi: HttpApi;

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
      // A stage that logs needs the account's API Gateway CloudWatch Logs role; this creates it (and the
      // account setting) and keeps it when the stack goes, since other APIs of the account rely on it.
      // https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName: 'prod',
        accessLogDestination: new LogGroupLogDestination(accessLogs),
        accessLogFormat: AccessLogFormat.custom(JSON.stringify(REST_API_ACCESS_LOG_FIELDS)),
        loggingLevel: MethodLoggingLevel.ERROR,
        throttlingRateLimit: 100,
        throttlingBurstLimit: 200,
      },
      defaultMethodOptions: { authorizer: this.keys.authorizer, authorizationType: AuthorizationType.CUSTOM },
    });
    this.keys.countUsageFrom(accessLogs);
    this.keys.addErrorResponses(this.api);
    const validator = this.api.addRequestValidator('RequestValidator', { validateRequestParameters: true, validateRequestBody: true });

    this.api.root.addResource('hello').addMethod('GET', mock(200, '{"hello": "$context.authorizer.clientId", "keyVersion": "$context.authorizer.keyVersion"}'), {
      methodResponses: [{ statusCode: '200' }],
      requestValidator: validator,
    });
    this.api.root.addResource('orders').addMethod('POST', mock(201, '{"accepted": true, "clientId": "$context.authorizer.clientId"}'), {
      methodResponses: [{ statusCode: '201' }],
      requestValidator: validator,
    });

    this.httpApi = new HttpApi(this, 'HttpApi', { apiName: 'keyroll-example-http', description: 'keyroll example HTTP API', createDefaultStage: false });
    const httpAccessLogs = new LogGroup(this, 'HttpAccessLogs', { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    this.httpApi.addStage('DefaultStage', {
      autoDeploy: true,
      accessLogSettings: { destination: new HttpLogGroupLogDestination(httpAccessLogs), format: AccessLogFormat.custom(JSON.stringify(HTTP_API_ACCESS_LOG_FIELDS)) },
      throttle: { rateLimit: 100, burstLimit: 200 },
    });
    this.keys.countUsageFrom(httpAccessLogs);
    this.httpApi.addRoutes({ path: '/hello', methods: [HttpMethod.GET], integration: new HttpLambdaIntegration('Hello', helloFunction(this)), authorizer: this.keys.httpAuthorizer });

    Validations.of(this.api).acknowledge(
      { id: 'AwsSolutions-APIG3', reason: 'An example API; put AWS WAF in front of a production API (see the README)' },
      { id: 'AwsSolutions-COG4', reason: 'Methods use keyroll\'s Lambda REQUEST authorizer, not Cognito' },
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason: 'The account-level API Gateway logging role takes the AWS managed policy the API Gateway documentation names',
      },
    );

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'The example REST API' });
    new CfnOutput(this, 'HttpApiUrl', { value: this.httpApi.apiEndpoint, description: 'The example HTTP API' });
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

/** The HTTP API route's backend: says hello to the client the authorizer named. */
function helloFunction(scope: Construct): LambdaFunction {
  const logGroup = new LogGroup(scope, 'HelloLogs', { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
  const role = new Role(scope, 'HelloRole', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
  logGroup.grantWrite(role);
  const hello = new LambdaFunction(scope, 'Hello', {
    runtime: Runtime.NODEJS_24_X,
    architecture: Architecture.ARM_64,
    handler: 'index.handler',
    timeout: Duration.seconds(5),
    role,
    logGroup,
    code: Code.fromInline(
      'exports.handler = async (event) => ({ statusCode: 200, body: JSON.stringify({ hello: event.requestContext.authorizer.lambda.clientId, keyVersion: event.requestContext.authorizer.lambda.keyVersion }) });',
    ),
  });
  // A newer aws-cdk-lib knows newer runtimes; a major runtime change is the owner's (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html).
  Validations.of(hello).acknowledge({ id: 'AwsSolutions-L1', reason: 'The example backend stays on the runtime it was written for' });
  return hello;
}
