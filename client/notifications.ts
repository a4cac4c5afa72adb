import { createPublicKey, verify } from 'node:crypto';
import { parseNotification, type Notification } from '../lambda/domain/notifications';

/** A message SNS posts to an HTTPS subscription (the JSON body of the POST). */
export interface SnsHttpMessage {
  readonly Type: 'Notification' | 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';
  readonly MessageId: string;
  readonly TopicArn: string;
  readonly Message: string;
  readonly Timestamp: string;
  readonly SignatureVersion: '1' | '2';
  readonly Signature: string;
  readonly SigningCertURL: string;
  readonly Subject?: string;
  readonly Token?: string;
  readonly SubscribeURL?: string;
}

/** The message is not one SNS signed, or not for the expected topic. Says why, never quotes the message. */
export class SnsMessageRejectedError extends Error {
  override readonly name = 'SnsMessageRejectedError';
}

export interface SnsVerificationOptions {
  /** Reject messages from any other topic (the AWS page asks for this check). */
  readonly topicArn: string;
  /** Fetches the signing certificate (PEM). Default: `fetch` over HTTPS, cached per URL. */
  readonly fetchCertificate?: (url: string) => Promise<string>;
}

// https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html: the fields signed, in order.
const SIGNED_FIELDS: Record<SnsHttpMessage['Type'], readonly (keyof SnsHttpMessage)[]> = {
  Notification: ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'],
  SubscriptionConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
  UnsubscribeConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
};
/** The certificate must come from SNS itself, over HTTPS. */
const SIGNING_CERT_URL = /^https:\/\/sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\/[^?#]+\.pem$/;

const certificates = new Map<string, Promise<string>>();

async function fetchCertificateOverHttps(url: string): Promise<string> {
  let pending = certificates.get(url);
  if (pending === undefined) {
    pending = fetch(url).then(async (response) => {
      if (!response.ok) throw new SnsMessageRejectedError(`the signing certificate could not be fetched (HTTP ${response.status})`);
      return response.text();
    });
    pending.catch(() => certificates.delete(url));
    certificates.set(url, pending);
  }
  return pending;
}

/**
 * Verifies an SNS HTTPS delivery as the SNS documentation describes: the certificate URL is SNS's over HTTPS,
 * the signature (SHA1 for version 1, SHA256 for version 2) matches the signed fields, and the topic is the
 * expected one. Returns the message; throws SnsMessageRejectedError otherwise.
 */
export async function verifySnsMessage(body: string | unknown, options: SnsVerificationOptions): Promise<SnsHttpMessage> {
  const message = typeof body === 'string' ? parseJson(body) : body;
  if (typeof message !== 'object' || message === null) throw new SnsMessageRejectedError('the body is not a JSON object');
  const fields = message as Record<string, unknown>;
  const type = fields['Type'];
  if (type !== 'Notification' && type !== 'SubscriptionConfirmation' && type !== 'UnsubscribeConfirmation') throw new SnsMessageRejectedError('the body is not an SNS message');
  if (fields['TopicArn'] !== options.topicArn) throw new SnsMessageRejectedError('the message is from another topic');
  const certUrl = fields['SigningCertURL'];
  if (typeof certUrl !== 'string' || !SIGNING_CERT_URL.test(certUrl)) throw new SnsMessageRejectedError('the signing certificate is not served by SNS over HTTPS');
  const version = fields['SignatureVersion'];
  if (version !== '1' && version !== '2') throw new SnsMessageRejectedError('unknown signature version');
  const signature = fields['Signature'];
  if (typeof signature !== 'string') throw new SnsMessageRejectedError('the message has no signature');

  let stringToSign = '';
  for (const name of SIGNED_FIELDS[type]) {
    const value = fields[name];
    if (value === undefined && name === 'Subject') continue;
    if (typeof value !== 'string') throw new SnsMessageRejectedError(`the signed field ${name} is missing`);
    stringToSign += `${name}\n${value}\n`;
  }
  const certificate = await (options.fetchCertificate ?? fetchCertificateOverHttps)(certUrl);
  const valid = verify(version === '1' ? 'RSA-SHA1' : 'RSA-SHA256', Buffer.from(stringToSign, 'utf8'), createPublicKey(certificate), Buffer.from(signature, 'base64'));
  if (!valid) throw new SnsMessageRejectedError('the signature does not match');
  return message as SnsHttpMessage;
}

/** The keyroll notification a verified SNS Notification carries. */
export function notificationOfSnsMessage(message: SnsHttpMessage): Notification {
  if (message.Type !== 'Notification') throw new SnsMessageRejectedError(`an SNS ${message.Type} carries no notification`);
  return parseNotification(parseJson(message.Message));
}

/**
 * The keyroll notification an SQS message body carries: the SNS envelope of a topic subscription, or the
 * notification itself when the subscription has raw message delivery on.
 */
export function notificationOfSqsBody(body: string): Notification {
  const value = parseJson(body);
  const envelope = value as Record<string, unknown>;
  if (typeof value === 'object' && value !== null && envelope['Type'] === 'Notification' && typeof envelope['Message'] === 'string') {
    return parseNotification(parseJson(envelope['Message']));
  }
  return parseNotification(value);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new SnsMessageRejectedError('the body is not JSON');
  }
}
