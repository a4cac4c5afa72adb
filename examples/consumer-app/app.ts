import { App, CfnOutput, Duration, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import { AccessLogFormat, LambdaIntegration, LogGroupLogDestination, MethodLoggingLevel, RestApi } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, LogGroupLogDestination as HttpLogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Architecture, Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Construct } from 'constructs';
import { HTTP_API_ACCESS_LOG_FIELDS, KeyRotationSchedule, REST_API_ACCESS_LOG_FIELDS, RotatingApiKeys } from 'keyroll';

/** Your API, with keyroll protecting a REST API and an HTTP API with the same keys. */
class OrdersApiStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    const keys = new RotatingApiKeys(this, 'ApiKeys', {
      clients: [
        { clientId: 'acme', scopes: ['orders:read'] },
        { clientId: 'globex', scopes: ['orders:read', 'orders:write'], gracePeriod: Duration.hours(48) },
      ],
      routeScopes: { 'GET /orders': 'orders:read', 'POST /orders': 'orders:write' },
      rotationSchedule: KeyRotationSchedule.rate(Duration.days(30), { window: Duration.hours(4) }),
    });

    const orders = new LambdaFunction(this, 'OrdersFunction', {
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      handler: 'index.handler',
      // The authorizer tells the backend who is calling: clientId and keyVersion in the request context.
      code: Code.fromInline('exports.handler = async () => ({ statusCode: 200, body: "[]" });'),
    });

    // REST API: the keyroll authorizer on every method; the access log in keyroll's format feeds usage.
    const restAccessLogs = new LogGroup(this, 'RestAccessLogs', { retention: RetentionDays.ONE_MONTH });
    const restApi = new RestApi(this, 'RestApi', {
      cloudWatchRole: true, // the account's API Gateway logging role; skip it if your account has one
      deployOptions: {
        accessLogDestination: new LogGroupLogDestination(restAccessLogs),
        accessLogFormat: AccessLogFormat.custom(JSON.stringify(REST_API_ACCESS_LOG_FIELDS)),
        loggingLevel: MethodLoggingLevel.ERROR,
      },
      defaultMethodOptions: { authorizer: keys.authorizer },
    });
    const ordersResource = restApi.root.addResource('orders');
    ordersResource.addMethod('GET', new LambdaIntegration(orders));
    ordersResource.addMethod('POST', new LambdaIntegration(orders));
    keys.countUsageFrom(restAccessLogs);
    keys.addErrorResponses(restApi); // 401, 403, 429 as JSON that tells the client what to do

    // HTTP API: the same keys through keyroll's HTTP API authorizer (payload 2.0, simple responses).
    const httpAccessLogs = new LogGroup(this, 'HttpAccessLogs', { retention: RetentionDays.ONE_MONTH });
    const httpApi = new HttpApi(this, 'HttpApi', { createDefaultStage: false });
    httpApi.addStage('DefaultStage', {
      autoDeploy: true,
      accessLogSettings: { destination: new HttpLogGroupLogDestination(httpAccessLogs), format: AccessLogFormat.custom(JSON.stringify(HTTP_API_ACCESS_LOG_FIELDS)) },
    });
    httpApi.addRoutes({ path: '/orders', methods: [HttpMethod.GET], integration: new HttpLambdaIntegration('OrdersIntegration', orders), authorizer: keys.httpAuthorizer });
    keys.countUsageFrom(httpAccessLogs);

    // Findings about the API this app adds; keyroll's own resources pass the AWS Solutions checks as they are.
    Validations.of(restApi).acknowledge(
      { id: 'AwsSolutions-APIG2', reason: 'The backend validates its requests' },
      { id: 'AwsSolutions-APIG3', reason: 'No AWS WAF in this example; put one in front of a production API' },
      { id: 'AwsSolutions-COG4', reason: 'Methods use keyroll\'s Lambda authorizer, not Cognito' },
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason: 'The account logging role takes the managed policy API Gateway documents',
      },
    );
    Validations.of(orders).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'The example backend uses the basic execution role',
      },
      // cdk-nag flags any runtime older than the newest your aws-cdk-lib knows; moving major versions is your change.
      { id: 'AwsSolutions-L1', reason: 'The backend stays on the Node.js runtime it was tested on' },
    );

    new CfnOutput(this, 'RestApiUrl', { value: restApi.url });
    new CfnOutput(this, 'HttpApiUrl', { value: httpApi.apiEndpoint });
    new CfnOutput(this, 'ClientTopicArn', { value: keys.clientTopic.topicArn });
  }
}

const app = new App();
// keyroll needs a stack with a region (the CDK CLI sets these from your AWS profile).
new OrdersApiStack(app, 'OrdersApi', { env: { account: process.env['CDK_DEFAULT_ACCOUNT'], region: process.env['CDK_DEFAULT_REGION'] } });
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
