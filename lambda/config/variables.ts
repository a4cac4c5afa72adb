import { ConfigurationError } from '../domain/errors';
import { booleanFlag, check, optionalSecureUrl, optionalString, requiredString, wholeNumber, type Environment } from './env';

/**
 * One environment variable of a keyroll function, declared once: its name, how the function reads it
 * (default, range, the error that names it) and how the construct writes it. The construct validates each
 * value it writes with `read`, so a value the function would refuse fails `cdk synth`, not a cold start.
 */
export interface Variable<T> {
  readonly name: string;
  /** Reads and checks the variable; throws a ConfigurationError that names it. */
  read(env: Environment): T;
  /** The string the construct writes for a value. */
  write(value: Exclude<T, undefined>): string;
  /** A value `read` accepts, for checking a template whose value is a CloudFormation reference. */
  readonly example: string;
}

/** A function's variables, by the name of the setting they carry. */
export type VariableSet = Readonly<Record<string, Variable<unknown>>>;

/** The settings a variable set reads, typed. */
export type SettingsOf<S extends VariableSet> = { readonly [K in keyof S]: S[K] extends Variable<infer T> ? T : never };

/** The values the construct may write for a variable set: each optional, undefined leaves the default. */
export type ValuesOf<S extends VariableSet> = { readonly [K in keyof S]?: S[K] extends Variable<infer T> ? Exclude<T, undefined> : never };

export function requiredStringVariable(name: string, example = 'example'): Variable<string> {
  return { name, read: (env) => requiredString(env, name), write: (value) => value, example };
}

export function optionalStringVariable(name: string, example = 'example'): Variable<string | undefined> {
  return { name, read: (env) => optionalString(env, name), write: (value) => value, example };
}

export function stringVariableWithDefault(name: string, fallback: string, isValid: (value: string) => boolean, expectation: string, normalise: (value: string) => string = (v) => v): Variable<string> {
  return {
    name,
    read: (env) => check(name, normalise(optionalString(env, name) ?? fallback), isValid, expectation),
    write: (value) => value,
    example: fallback,
  };
}

export function wholeNumberVariable(name: string, fallback: number, range: { readonly min: number; readonly max: number }): Variable<number> {
  return { name, read: (env) => wholeNumber(env, name, fallback, range), write: (value) => String(value), example: String(fallback) };
}

export function booleanVariable(name: string, fallback: boolean): Variable<boolean> {
  return { name, read: (env) => booleanFlag(env, name, fallback), write: (value) => String(value), example: String(fallback) };
}

export function secureUrlVariable(name: string): Variable<string | undefined> {
  return { name, read: (env) => optionalSecureUrl(env, name), write: (value) => value, example: 'https://api.example.com/health' };
}

/** A variable whose value is parsed into a richer form; `parse` throws on a bad value. */
export function parsedVariable<T>(name: string, parse: (text: string | undefined) => T, write: (value: Exclude<T, undefined>) => string, example: string): Variable<T> {
  return {
    name,
    read: (env) => {
      try {
        return parse(optionalString(env, name));
      } catch (error) {
        if (error instanceof ConfigurationError) throw error;
        throw new ConfigurationError(`environment variable ${name}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
    },
    write,
    example,
  };
}

export function topicArnVariable(name: string): Variable<string> {
  return {
    name,
    read: (env) => check(name, requiredString(env, name), isArn, 'an SNS topic ARN'),
    write: (value) => value,
    example: 'arn:aws:sns:eu-west-1:111122223333:example',
  };
}

export function optionalTopicArnVariable(name: string): Variable<string | undefined> {
  return {
    name,
    read: (env) => {
      const value = optionalString(env, name);
      return value === undefined ? undefined : check(name, value, isArn, 'an SNS topic ARN');
    },
    write: (value) => value,
    example: 'arn:aws:sns:eu-west-1:111122223333:example',
  };
}

/** Reads every variable of a set. */
export function readVariables<S extends VariableSet>(variables: S, env: Environment): SettingsOf<S> {
  const settings: Record<string, unknown> = {};
  for (const [key, variable] of Object.entries(variables)) settings[key] = variable.read(env);
  return settings as SettingsOf<S>;
}

function isArn(value: string): boolean {
  return value.startsWith('arn:');
}
