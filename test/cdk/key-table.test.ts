import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { KeyTable } from '../../lib/key-table';
import { keyTableDefinition } from '../../local/key-table';

describe('KeyTable construct', () => {
  const stack = new Stack(new App(), 'Test');
  new KeyTable(stack, 'Keys');
  const template = Template.fromStack(stack);

  it('deploys exactly the key schema and index the tests run against on dynalite', () => {
    const local = keyTableDefinition('any');
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: local.KeySchema,
      AttributeDefinitions: local.AttributeDefinitions,
      GlobalSecondaryIndexes: [
        {
          IndexName: local.GlobalSecondaryIndexes?.[0]?.IndexName,
          KeySchema: local.GlobalSecondaryIndexes?.[0]?.KeySchema,
          Projection: { ProjectionType: 'ALL' },
        },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'purgeAt', Enabled: true },
      Replicas: [{ Region: { Ref: 'AWS::Region' }, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }],
    });
  });

  it('keeps the table when the stack is deleted', () => {
    template.hasResource('AWS::DynamoDB::GlobalTable', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });
});
