/**
 * API Gateway's cache of a Lambda REQUEST authorizer's answers, keyed as API Gateway keys it: by the values of
 * the authorizer's identity sources, read from the template, and nothing else. A request missing one of them
 * gets 401 without the authorizer being invoked.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-use-lambda-authorizer.html (REST)
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html (HTTP APIs:
 * "API Gateway uses the authorizer's identity sources as the cache key")
 */

/** One identity source, from the template's REST (`method.request.header.x`) or HTTP API (`$request.header.x`) form. */
export type IdentitySource =
  | { readonly from: 'header'; readonly name: string }
  | { readonly from: 'querystring'; readonly name: string }
  | { readonly from: 'context'; readonly variable: string }
  | { readonly from: 'stageVariable'; readonly name: string };

const FORMS: readonly [RegExp, (name: string) => IdentitySource][] = [
  [/^\$?(?:method\.request|request)\.header\.(.+)$/, (name) => ({ from: 'header', name: name.toLowerCase() })],
  [/^\$?(?:method\.request|request)\.querystring\.(.+)$/, (name) => ({ from: 'querystring', name })],
  [/^\$?context\.(.+)$/, (variable) => ({ from: 'context', variable })],
  [/^\$?stageVariables\.(.+)$/, (name) => ({ from: 'stageVariable', name })],
];

/** A REST authorizer's comma-separated IdentitySource, or an HTTP API authorizer's list. */
export function parseIdentitySources(template: string | readonly string[]): IdentitySource[] {
  const expressions = typeof template === 'string' ? template.split(',') : template;
  return expressions
    .map((expression) => expression.trim())
    .filter((expression) => expression !== '')
    .map((expression) => {
      for (const [pattern, build] of FORMS) {
        const name = pattern.exec(expression)?.[1];
        if (name !== undefined) return build(name);
      }
      throw new Error(`not an identity source expression: ${expression}`);
    });
}

/** What the gateway knows of a request when it looks for a cached answer. */
export interface GatewayRequest {
  /** Raw header pairs, in order; names in any case. */
  readonly headers: readonly (readonly [string, string])[];
  readonly query?: Readonly<Record<string, string>>;
  /** Context variables by name (`httpMethod`, `path`, `routeKey`…). */
  readonly context: Readonly<Record<string, string>>;
  readonly stageVariables?: Readonly<Record<string, string>>;
}

/**
 * The identity values of a request, in the identity sources' order, or undefined when one is missing or empty
 * (API Gateway then answers 401 itself). A repeated header is its values joined by commas, as HTTP APIs pass it.
 */
export function identityValues(sources: readonly IdentitySource[], request: GatewayRequest): string[] | undefined {
  const values: string[] = [];
  for (const source of sources) {
    let value: string | undefined;
    switch (source.from) {
      case 'header': {
        const all = request.headers.filter(([name]) => name.toLowerCase() === source.name).map(([, v]) => v);
        value = all.length === 0 ? undefined : all.join(',');
        break;
      }
      case 'querystring':
        value = request.query?.[source.name];
        break;
      case 'context':
        value = request.context[source.variable];
        break;
      case 'stageVariable':
        value = request.stageVariables?.[source.name];
        break;
    }
    if (value === undefined || value === '') return undefined;
    values.push(value);
  }
  return values;
}

/** Answers by identity values, each kept for the TTL; a TTL of 0 caches nothing. */
export class AuthorizerResultCache<A> {
  private readonly answers = new Map<string, { readonly answer: A; readonly untilMs: number }>();

  constructor(
    private readonly ttlSeconds: number,
    private readonly clock: () => number = Date.now,
  ) {}

  get(values: readonly string[]): A | undefined {
    const key = JSON.stringify(values);
    const entry = this.answers.get(key);
    if (entry === undefined) return undefined;
    if (entry.untilMs > this.clock()) return entry.answer;
    this.answers.delete(key);
    return undefined;
  }

  set(values: readonly string[], answer: A): void {
    if (this.ttlSeconds > 0) this.answers.set(JSON.stringify(values), { answer, untilMs: this.clock() + 1000 * this.ttlSeconds });
  }

  clear(): void {
    this.answers.clear();
  }
}
