import { KeyProvider, SecretsManagerKeySource, notificationOfSqsBody } from 'keyroll-client';

const keys = new KeyProvider({
  clientId: 'acme',
  source: new SecretsManagerKeySource({ secretId: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:keyroll/Orders/ApiKeys/acme-AbCdEf' }),
  onEvent: (event) => console.log('keyroll', event), // switched, refresh-failed, retried-after-401: never a key
});

/** A call to the API: the key header added; a 401 reads the key again and retries once. */
export async function listOrders(): Promise<unknown> {
  const response = await keys.fetch('https://api.example.com/orders');
  return response.json();
}

/** Each message of an SQS queue subscribed to the client topic (filter policy on clientId). */
export async function onQueueMessage(body: string): Promise<void> {
  await keys.handleNotification(notificationOfSqsBody(body));
}
