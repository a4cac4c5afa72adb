import { generateKeyPairSync, sign } from 'node:crypto';
import { notificationOfSnsMessage, notificationOfSqsBody, verifySnsMessage, type SnsHttpMessage } from '../../client/notifications';
import { buildNotification } from '../../lambda/domain/notifications';

const TOPIC = 'arn:aws:sns:eu-west-1:111122223333:keyroll-clients';
const CERT_URL = 'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem';
const signer = generateKeyPairSync('rsa', { modulusLength: 2048 });
const publicKeyPem = signer.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const fetchCertificate = async (url: string) => {
  if (url !== CERT_URL) throw new Error(`unexpected certificate URL ${url}`);
  return publicKeyPem;
};

const rotated = buildNotification('key.rotated', { clientId: 'acme', versionId: 'v2' }, Date.UTC(2026, 11, 2), { previousVersionId: 'v1', expiresAtMs: Date.UTC(2026, 11, 3) });

/** An SNS HTTPS delivery, signed as the SNS documentation describes (string to sign: "Name\nvalue\n" per field). */
function signedMessage(overrides: Partial<SnsHttpMessage> = {}, version: '1' | '2' = '2'): SnsHttpMessage {
  const unsigned = {
    Type: 'Notification' as const,
    MessageId: 'b3c1f1d2-0000-4000-8000-000000000001',
    TopicArn: TOPIC,
    Subject: 'key.rotated',
    Message: JSON.stringify(rotated),
    Timestamp: '2026-12-02T00:00:00.000Z',
    SignatureVersion: version,
    SigningCertURL: CERT_URL,
    ...overrides,
  };
  const fields = ['Message', 'MessageId', 'Subject', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'] as const;
  const stringToSign = fields
    .filter((name) => (unsigned as Record<string, unknown>)[name] !== undefined)
    .map((name) => `${name}\n${String((unsigned as Record<string, unknown>)[name])}\n`)
    .join('');
  const signature = sign(version === '1' ? 'RSA-SHA1' : 'RSA-SHA256', Buffer.from(stringToSign), signer.privateKey).toString('base64');
  return { ...unsigned, Signature: signature };
}

describe('SNS HTTPS deliveries', () => {
  it('accepts a message SNS signed, with signature version 2 or 1, and reads its notification', async () => {
    for (const version of ['2', '1'] as const) {
      const message = await verifySnsMessage(JSON.stringify(signedMessage({}, version)), { topicArn: TOPIC, fetchCertificate });
      expect(notificationOfSnsMessage(message)).toEqual(rotated);
    }
    const noSubject = signedMessage({ Subject: undefined });
    await expect(verifySnsMessage(noSubject, { topicArn: TOPIC, fetchCertificate })).resolves.toMatchObject({ MessageId: noSubject.MessageId });
  });

  it('verifies a subscription confirmation over its own fields', async () => {
    const confirmation = signedMessage({ Type: 'SubscriptionConfirmation', Subject: undefined, Token: 'tok', SubscribeURL: 'https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription', Message: 'You have chosen to subscribe' });
    await expect(verifySnsMessage(confirmation, { topicArn: TOPIC, fetchCertificate })).resolves.toMatchObject({ Type: 'SubscriptionConfirmation' });
    expect(() => notificationOfSnsMessage(confirmation)).toThrow('an SNS SubscriptionConfirmation carries no notification');
  });

  it.each<[string, (message: SnsHttpMessage) => unknown, string]>([
    ['a changed message', (m) => ({ ...m, Message: m.Message.replace('v2', 'v9') }), 'the signature does not match'],
    ['a changed subject', (m) => ({ ...m, Subject: 'hello' }), 'the signature does not match'],
    ['a signature by another key', (m) => ({ ...m, Signature: sign('RSA-SHA256', Buffer.from('x'), generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey).toString('base64') }), 'the signature does not match'],
    ['another topic', (m) => ({ ...m, TopicArn: 'arn:aws:sns:eu-west-1:999988887777:evil' }), 'from another topic'],
    ['a certificate over http', (m) => ({ ...m, SigningCertURL: CERT_URL.replace('https', 'http') }), 'not served by SNS over HTTPS'],
    ['a certificate from elsewhere', (m) => ({ ...m, SigningCertURL: 'https://sns.eu-west-1.amazonaws.com.evil.example/cert.pem' }), 'not served by SNS over HTTPS'],
    ['an unknown signature version', (m) => ({ ...m, SignatureVersion: '3' }), 'unknown signature version'],
    ['no signature', (m) => ({ ...m, Signature: undefined }), 'has no signature'],
    ['not JSON', () => 'not json', 'not JSON'],
  ])('rejects %s', async (_name, forge, error) => {
    const forged = forge(signedMessage());
    await expect(verifySnsMessage(typeof forged === 'string' ? forged : JSON.stringify(forged), { topicArn: TOPIC, fetchCertificate })).rejects.toThrow(error);
  });
});

describe('SQS messages', () => {
  it('reads a notification from the SNS envelope or from a raw delivery', () => {
    expect(notificationOfSqsBody(JSON.stringify({ Type: 'Notification', Message: JSON.stringify(rotated) }))).toEqual(rotated);
    expect(notificationOfSqsBody(JSON.stringify(rotated))).toEqual(rotated);
    expect(() => notificationOfSqsBody('{"Type":"Notification","Message":"{}"}')).toThrow('notification field "version" must be 1');
  });
});
