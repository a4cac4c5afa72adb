import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { KeyTable } from './key-table';
import { KeyrollFunction } from './keyroll-function';

/** keyroll's rotation core: the key table, the client notification topic and the rotation function. */
export class KeyrollStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const keyTable = new KeyTable(this, 'KeyTable');
    const clientTopic = new Topic(this, 'ClientTopic', { enforceSSL: true });
    const rotation = new KeyrollFunction(this, 'RotationFunction', {
      entryName: 'rotation',
      description: 'keyroll: rotates client API keys (Secrets Manager rotation contract)',
      timeout: Duration.seconds(60),
      environment: { KEY_TABLE_NAME: keyTable.table.tableName, CLIENT_TOPIC_ARN: clientTopic.topicArn },
    });
    keyTable.table.grantReadWriteData(rotation);
    clientTopic.grantPublish(rotation);
  }
}
