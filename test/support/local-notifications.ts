import { SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { notificationOfSqsBody } from '../../client/notifications';
import type { Notification } from '../../lambda/domain/notifications';
import { LOCAL_CREDENTIALS, LOCAL_REGION, type LocalKeyroll } from '../../local/keyroll-local';

/** An SQS queue subscribed to a local topic, and what has arrived on it so far. */
export async function subscribeQueue(keyroll: LocalKeyroll, topicArn: string, name: string): Promise<{ received(): Promise<Notification[]>; close(): void }> {
  const aws = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, endpoint: keyroll.endpoints.snsSqs };
  const sqs = new SQSClient(aws);
  const sns = new SNSClient(aws);
  const { QueueUrl = '' } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: Attributes?.['QueueArn'] }));
  sns.destroy();
  const seen: Notification[] = [];
  return {
    received: async () => {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
      seen.push(...Messages.map((message) => notificationOfSqsBody(message.Body ?? '')));
      return [...seen];
    },
    close: () => sqs.destroy(),
  };
}
