import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startSnsSqsEmulator } from '../../local/processes';

/** The SQS endpoint `npm run local:aws` prints works as printed (trial finding: queue URLs named sqs.us-east-1.localhost, which did not resolve). */
describe('local SNS/SQS', () => {
  it('answers CreateQueue with a queue URL on its own address, which the AWS SDK can then send to', async () => {
    const emulator = await startSnsSqsEmulator();
    const sqs = new SQSClient({ endpoint: emulator.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    try {
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'notifications' }));
      expect(QueueUrl).toBe(`${emulator.endpoint}/000000000000/notifications`);
      await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'key.rotated' }));
      expect((await sqs.send(new ReceiveMessageCommand({ QueueUrl }))).Messages?.map((message) => message.Body)).toEqual(['key.rotated']);
    } finally {
      sqs.destroy();
      await emulator.stop();
    }
  });
});
