import { App, Stack } from 'aws-cdk-lib';
import { HttpIntegration, RestApi } from 'aws-cdk-lib/aws-apigateway';
import { RotatingApiKeys, RotatingApiKeysReplica } from 'keyroll';

const account = process.env['CDK_DEFAULT_ACCOUNT'];
const integration = new HttpIntegration('https://orders.internal.example.com/');
const app = new App();
const primary = new Stack(app, 'OrdersApiKeys', { env: { account, region: 'eu-west-1' } });
const keys = new RotatingApiKeys(primary, 'ApiKeys', {
  clients: [{ clientId: 'acme' }],
  keyTableName: 'orders-api-keys', // a plain name the replica stacks can use (set it before the first deploy)
  replicaRegions: [{ region: 'us-east-1', encryptionKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab' }],
});

const us = new Stack(app, 'OrdersApiKeysUs', { env: { account, region: 'us-east-1' } });
const replica = new RotatingApiKeysReplica(us, 'ApiKeys', { primary: keys });
const api = new RestApi(us, 'OrdersApi');
api.root.addMethod('GET', integration, { authorizer: replica.authorizer });
replica.addErrorResponses(api);
