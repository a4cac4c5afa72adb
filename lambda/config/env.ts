import { isSecureUrlText, SECURE_URL_EXPECTATION } from '../contracts/secure-urls';
import { ConfigurationError } from '../domain/errors';
/** Reading configuration from environment variables, once per container, with errors that name the variable. */

export type Environment = Readonly<Record<string, string | undefined>>;

export function requiredString(env: Environment, name: string): string {
  const value = env[name]?.trim();
  if (value === undefined || value.length === 0) throw new ConfigurationError(`environment variable ${name} is required but not set`);
  return value;
}

export function optionalString(env: Environment, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value.length === 0 ? undefined : value;
}

export function wholeNumber(env: Environment, name: string, fallback: number, range: { readonly min: number; readonly max: number }): number {
  const text = optionalString(env, name);
  if (text === undefined) return fallback;
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < range.min || value > range.max) {
    throw new ConfigurationError(`environment variable ${name} must be a whole number from ${range.min} to ${range.max}; got "${text}"`);
  }
  return value;
}

/** An https:// URL, or an http:// one to this machine (local mode): keys are sent to it. */
export function optionalSecureUrl(env: Environment, name: string): string | undefined {
  const text = optionalString(env, name);
  if (text === undefined) return undefined;
  if (!isSecureUrlText(text)) throw new ConfigurationError(`environment variable ${name} must be ${SECURE_URL_EXPECTATION}; got "${text}"`);
  return new URL(text).toString();
}

export function booleanFlag(env: Environment, name: string, fallback: boolean): boolean {
  const text = optionalString(env, name)?.toLowerCase();
  if (text === undefined) return fallback;
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new ConfigurationError(`environment variable ${name} must be "true" or "false"; got "${text}"`);
}

/** Validates a value read by another helper, with an error in the same form. */
export function check(name: string, value: string, isValid: (value: string) => boolean, expectation: string): string {
  if (!isValid(value)) throw new ConfigurationError(`environment variable ${name} must be ${expectation}; got "${value}"`);
  return value;
}
