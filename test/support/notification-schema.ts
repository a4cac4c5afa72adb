import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PublishCommandInput } from '@aws-sdk/client-sns';
import Ajv2020 from 'ajv/dist/2020';
import { parseNotification, type Notification } from '../../lambda/domain/notifications';

/** The JSON Schema file subscribers get, exactly as it is in the repository. */
export const NOTIFICATION_SCHEMA: object = JSON.parse(readFileSync(join(__dirname, '../../schemas/notification-v1.schema.json'), 'utf8'));

const validate = new Ajv2020({ allErrors: true, strict: true }).compile(NOTIFICATION_SCHEMA);

/** What a message must never hold: a key (`kr_…`), or anything shaped like a SHA-256 hex digest. */
const SECRET_SHAPES = [/kr_[0-9A-Za-z]{20,}/, /\b[0-9a-f]{64}\b/];

/** Why a body does not validate against the schema file, or undefined when it does. */
export function schemaErrors(body: unknown): string | undefined {
  if (validate(body)) return undefined;
  return (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message ?? ''}`).join('; ');
}

/** Problems found in published messages, checked after every test (see matchers.ts). */
export const messageViolations: string[] = [];

/**
 * Checks one SNS Publish as a subscriber receives it: the body validates against the schema file, the
 * message attributes repeat `clientId` and `type`, and nothing in it looks like a key or a hash. A
 * violation is recorded (so that a test fails even where the publisher swallows errors) and thrown.
 */
export function checkPublishedMessage(input: PublishCommandInput): Notification {
  const problems: string[] = [];
  const text = `${input.Subject ?? ''}\n${input.Message ?? ''}\n${JSON.stringify(input.MessageAttributes ?? {})}`;
  for (const shape of SECRET_SHAPES) if (shape.test(text)) problems.push(`it holds something shaped like ${shape}`);
  let body: unknown;
  try {
    body = JSON.parse(String(input.Message));
  } catch {
    problems.push('its body is not JSON');
  }
  const errors = body === undefined ? undefined : schemaErrors(body);
  if (errors !== undefined) problems.push(`its body does not validate against schemas/notification-v1.schema.json: ${errors}`);
  const fields = (body ?? {}) as Record<string, unknown>;
  const attributes = input.MessageAttributes ?? {};
  for (const name of ['clientId', 'type'] as const) {
    const attribute = attributes[name];
    if (attribute?.DataType !== 'String' || attribute.StringValue !== fields[name]) problems.push(`its message attribute ${name} does not repeat the body's ${name}`);
  }
  if (problems.length > 0) {
    const violation = `SNS message ${input.Message ?? ''}: ${problems.join('; ')}`;
    messageViolations.push(violation);
    throw new Error(violation);
  }
  return parseNotification(body);
}
