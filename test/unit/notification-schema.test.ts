import { NOTIFICATION_TYPES, notificationEventId, parseNotification, type Notification, type NotificationType } from '../../lambda/domain/notifications';
import { checkPublishedMessage, messageViolations, NOTIFICATION_SCHEMA, schemaErrors } from '../support/notification-schema';

const at = '2026-11-22T12:00:00.000Z';
const base = (type: NotificationType, fields: Partial<Notification> = {}): Notification => ({
  version: 1,
  type,
  clientId: 'acme',
  versionId: 'v2',
  ...fields,
  eventId: notificationEventId(type, 'acme', 'v2'),
  at,
});

/** One message of each kind, as keyroll builds them. */
const MESSAGES: readonly Notification[] = [
  base('key.rotated'),
  base('key.rotated', { previousVersionId: 'v1', expiresAt: '2026-11-29T12:00:00.000Z' }),
  base('key.expiring', { expiresAt: '2026-11-29T12:00:00.000Z' }),
  base('key.expired', { expiresAt: '2026-11-29T12:00:00.000Z' }),
  base('key.revoked'),
  base('rotation.failed'),
  base('rotation.stuck'),
  base('key.refused', { refused: 12, refusedSince: at, lastRefusedAt: '2026-11-22T12:03:00.000Z' }),
  base('rotation.missed', { refused: 12, refusedSince: at, lastRefusedAt: '2026-11-22T12:03:00.000Z', expiresAt: '2026-11-22T16:00:00.000Z' }),
  base('rotation.refused'),
];

describe('schemas/notification-v1.schema.json', () => {
  it('names every type keyroll sends', () => {
    const types = (NOTIFICATION_SCHEMA as { properties: { type: { enum: string[] } } }).properties.type.enum;
    expect(new Set(types)).toEqual(new Set(MESSAGES.map((message) => message.type)));
    expect(new Set(types)).toEqual(new Set(NOTIFICATION_TYPES));
  });

  it.each(MESSAGES.map((message) => [message.type, message] as const))('accepts a %s message, which parseNotification reads back', (_type, message) => {
    const body: unknown = JSON.parse(JSON.stringify(message));
    expect(schemaErrors(body)).toBeUndefined();
    expect(parseNotification(body)).toEqual(message);
  });

  it.each([
    ['a key', { ...base('key.rotated'), apiKey: 'kr_x' }, /must NOT have additional properties/],
    ['a key hash', { ...base('key.rotated'), keyHash: 'ab'.repeat(32) }, /must NOT have additional properties/],
    ['another version', { ...base('key.rotated'), version: 2 }, /version must be equal to constant/],
    ['an unknown type', base('key.rotated' as NotificationType, { type: 'key.lost' as NotificationType }), /type must be equal to one of the allowed values/],
    ['a reminder without expiresAt', base('key.expiring'), /must have required property 'expiresAt'/],
    ['an operations message with expiresAt', base('rotation.stuck', { expiresAt: at }), /expiresAt boolean schema is false/],
    ['a missed rotation without its evidence', base('rotation.missed'), /must have required property 'refused'/],
    ['evidence on another type', base('key.expired', { expiresAt: at, refused: 3 }), /refused boolean schema is false/],
    ['a local time', base('key.expired', { expiresAt: '2026-11-29 12:00' }), /expiresAt must match pattern/],
    ['an eventId that is not ours', { ...base('key.rotated'), eventId: 'x' }, /eventId must match pattern/],
    ['no clientId', { ...base('key.rotated'), clientId: undefined }, /must have required property 'clientId'/],
  ])('refuses a message with %s', (_name, body, error) => {
    expect(schemaErrors(JSON.parse(JSON.stringify(body)))).toMatch(error);
  });

  it('checks the message attributes of a publish, and that nothing shaped like a key is in it', () => {
    const message = base('key.rotated');
    const attributes = { clientId: { DataType: 'String', StringValue: 'acme' }, type: { DataType: 'String', StringValue: 'key.rotated' } };
    expect(checkPublishedMessage({ Message: JSON.stringify(message), MessageAttributes: attributes })).toEqual(message);
    expect(() => checkPublishedMessage({ Message: JSON.stringify(message), MessageAttributes: { ...attributes, clientId: { DataType: 'String', StringValue: 'globex' } } })).toThrow(
      /message attribute clientId does not repeat/,
    );
    expect(() => checkPublishedMessage({ Message: JSON.stringify(message), Subject: 'kr_0123456789abcdefghijABCDEFGHIJ', MessageAttributes: attributes })).toThrow(/shaped like/);
    // These violations were provoked on purpose; the check after each test must not see them.
    messageViolations.splice(0);
  });
});
