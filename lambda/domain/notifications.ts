import { createHash } from 'node:crypto';
import type { EventLog, Notifier } from './ports';

/**
 * Every notification type, once: clients get `key.*`; operations get `rotation.*` (and `key.revoked`).
 * `rotation.refused`: a secret that is not the one keyroll registered for its client was refused a key.
 */
export const NOTIFICATION_TYPES = [
  'key.rotated',
  'key.expiring',
  'key.expired',
  'key.revoked',
  'key.refused',
  'rotation.failed',
  'rotation.stuck',
  'rotation.missed',
  'rotation.refused',
] as const;

export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

/**
 * The SNS message body, schema version 1. It never carries a key or a key hash: a client fetches its new
 * key from its own secret.
 */
export interface Notification {
  readonly version: 1;
  readonly type: NotificationType;
  readonly clientId: string;
  readonly versionId: string;
  readonly previousVersionId?: string;
  /** ISO-8601: when the key this message is about stops being accepted. */
  readonly expiresAt?: string;
  /** `key.refused`, `rotation.missed`: requests refused with this ended key, as the authorizers reported them... */
  readonly refused?: number;
  /** ...ISO-8601: the first of them... */
  readonly refusedSince?: string;
  /** ...and the latest report. */
  readonly lastRefusedAt?: string;
  /**
   * `key.refused`, `rotation.missed`: true when the client has used its new key since the switch, so the ended
   * key, more likely leaked than forgotten, was not accepted again although the client opted into the rescue.
   */
  readonly rescueWithheld?: boolean;
  /** The same for every delivery and every retry of one logical event, so subscribers can drop duplicates. */
  readonly eventId: string;
  /** ISO-8601: when the event was first recorded. */
  readonly at: string;
}

/**
 * A stable id for one logical event: the same inputs always give the same id, so a retried step or a
 * re-run of the monitor can never announce one event under two ids. `occasion` separates events of one
 * type about one version (say, the 24 h and the 1 h expiry reminders).
 */
export function notificationEventId(type: NotificationType, clientId: string, versionId: string, occasion = ''): string {
  return createHash('sha256').update(`${type}\n${clientId}\n${versionId}\n${occasion}`).digest('hex').slice(0, 32);
}

/** What a notification may say besides its subject. */
export interface NotificationDetails {
  readonly previousVersionId?: string;
  /** When the key the message is about stops being accepted. */
  readonly expiresAtMs?: number;
  /** The evidence of a missed switch: refusals of an ended key. */
  readonly refusals?: { readonly refused: number; readonly firstRefusedMs: number; readonly lastRefusedMs: number };
  /** The rescue of a missed switch was withheld: the client uses its new key already. */
  readonly rescueWithheld?: boolean;
}

/**
 * The one way a notification is built: schema version 1, a stable eventId from type, client, version and
 * occasion, and ISO-8601 times.
 */
export function buildNotification(
  type: NotificationType,
  subject: { readonly clientId: string; readonly versionId: string },
  nowMs: number,
  details: NotificationDetails = {},
  occasion = '',
): Notification {
  return {
    version: 1,
    type,
    clientId: subject.clientId,
    versionId: subject.versionId,
    ...(details.previousVersionId === undefined ? {} : { previousVersionId: details.previousVersionId }),
    ...(details.expiresAtMs === undefined ? {} : { expiresAt: new Date(details.expiresAtMs).toISOString() }),
    ...(details.refusals === undefined
      ? {}
      : {
          refused: details.refusals.refused,
          refusedSince: new Date(details.refusals.firstRefusedMs).toISOString(),
          lastRefusedAt: new Date(details.refusals.lastRefusedMs).toISOString(),
        }),
    ...(details.rescueWithheld === true ? { rescueWithheld: true } : {}),
    eventId: notificationEventId(type, subject.clientId, subject.versionId, occasion),
    at: new Date(nowMs).toISOString(),
  };
}

/** What a notification says besides its subject, read back from it: the inverse of {@link buildNotification}'s details. */
export function detailsOf(notification: Notification): NotificationDetails {
  const { previousVersionId, expiresAt, refused, refusedSince, lastRefusedAt, rescueWithheld } = notification;
  return {
    ...(previousVersionId === undefined ? {} : { previousVersionId }),
    ...(expiresAt === undefined ? {} : { expiresAtMs: Date.parse(expiresAt) }),
    ...(refused === undefined || refusedSince === undefined || lastRefusedAt === undefined
      ? {}
      : { refusals: { refused, firstRefusedMs: Date.parse(refusedSince), lastRefusedMs: Date.parse(lastRefusedAt) } }),
    ...(rescueWithheld === true ? { rescueWithheld } : {}),
  };
}

export type PublishResult = 'published' | 'already-published';

/**
 * Publishes a notification once per eventId: record it, publish it unless already published, then mark it.
 * A crash between publish and mark publishes again, with the same body and eventId (SNS is at least once
 * anyway); a crash before publish leaves it recorded and unpublished, and the next attempt publishes it.
 */
export async function publishOnce(
  notification: Notification,
  deps: { readonly events: EventLog; readonly notifier: Notifier; readonly nowMs: number },
): Promise<PublishResult> {
  const recorded = await deps.events.record(notification);
  if (recorded.published) return 'already-published';
  await deps.notifier.publish(recorded.notification);
  await deps.events.markPublished(recorded.notification, deps.nowMs);
  return 'published';
}

const KNOWN_TYPES: ReadonlySet<string> = new Set<string>(NOTIFICATION_TYPES);

/** Parses a notification body (from the event log, or an SNS message a subscriber received). */
export function parseNotification(value: unknown): Notification {
  if (typeof value !== 'object' || value === null) throw new TypeError('a notification must be a JSON object');
  const field = (name: string): unknown => (value as Record<string, unknown>)[name];
  const text = (name: string): string => {
    const v = field(name);
    if (typeof v !== 'string' || v.length === 0) throw new TypeError(`notification field "${name}" must be a non-empty string`);
    return v;
  };
  const optionalText = (name: string): string | undefined => (field(name) === undefined ? undefined : text(name));
  if (field('version') !== 1) throw new TypeError('notification field "version" must be 1');
  const type = text('type');
  if (!KNOWN_TYPES.has(type)) throw new TypeError(`notification type "${type}" is not one keyroll sends`);
  const previousVersionId = optionalText('previousVersionId');
  const expiresAt = optionalText('expiresAt');
  const refused = field('refused');
  if (refused !== undefined && (typeof refused !== 'number' || !Number.isSafeInteger(refused) || refused < 1)) throw new TypeError('notification field "refused" must be a positive whole number');
  const refusedSince = optionalText('refusedSince');
  const lastRefusedAt = optionalText('lastRefusedAt');
  const rescueWithheld = field('rescueWithheld');
  if (rescueWithheld !== undefined && rescueWithheld !== true) throw new TypeError('notification field "rescueWithheld" must be true when present');
  return {
    version: 1,
    type: type as NotificationType,
    clientId: text('clientId'),
    versionId: text('versionId'),
    ...(previousVersionId === undefined ? {} : { previousVersionId }),
    ...(expiresAt === undefined ? {} : { expiresAt }),
    ...(refused === undefined ? {} : { refused }),
    ...(refusedSince === undefined ? {} : { refusedSince }),
    ...(lastRefusedAt === undefined ? {} : { lastRefusedAt }),
    ...(rescueWithheld === undefined ? {} : { rescueWithheld }),
    eventId: text('eventId'),
    at: text('at'),
  };
}
