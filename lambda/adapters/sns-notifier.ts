import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { Notification } from '../domain/notifications';
import type { Notifier } from '../domain/ports';

/**
 * Publishes notifications to an SNS topic, with the message attributes `clientId` and `type` that
 * subscribers filter on.
 */
export class SnsNotifier implements Notifier {
  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
  ) {}

  async publish(notification: Notification): Promise<void> {
    await this.client.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Subject: `keyroll ${notification.type}: ${notification.clientId}`,
        Message: JSON.stringify(notification),
        MessageAttributes: {
          clientId: { DataType: 'String', StringValue: notification.clientId },
          type: { DataType: 'String', StringValue: notification.type },
        },
      }),
    );
  }
}
