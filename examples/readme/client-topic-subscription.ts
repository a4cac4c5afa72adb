import { SubscriptionFilter } from 'aws-cdk-lib/aws-sns';
import { UrlSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { RotatingApiKeys } from 'keyroll';

export function notifyAcme(keys: RotatingApiKeys): void {
  keys.clientTopic.addSubscription(new UrlSubscription('https://hooks.acme.example/keyroll', {
    filterPolicy: { clientId: SubscriptionFilter.stringFilter({ allowlist: ['acme'] }) },
  }));
  // Only the events a client must act on:
  //   filterPolicy: { clientId: …, type: SubscriptionFilter.stringFilter({ allowlist: ['key.rotated', 'key.expiring'] }) }
}
