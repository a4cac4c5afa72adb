import { SCOPE_PATTERN } from './client-settings';
import { InvalidRouteScopesError } from './errors';
import { ApproximateLruCache } from './approximate-lru-cache';

/** The resources of an IAM policy for one key: everything allowed, minus what its scopes do not cover. */
export interface Permissions {
  readonly allow: readonly string[];
  readonly deny: readonly string[];
}

/** The route a request is for, as the authorizer's event gives it. */
export interface RouteTarget {
  /** `arn:aws:execute-api:<region>:<account>:<apiId>/<stage>` */
  readonly stageArn: string;
  /** The method or route ARN the event names: what API Gateway evaluates the policy against. */
  readonly methodArn: string;
  /** As the request sent it (any case). */
  readonly method: string;
  /** Every spelling of the request path the event gives (the ARN's, the request's), each starting with `/`. */
  readonly paths: readonly string[];
}

interface RouteRule {
  /** An HTTP method in capitals, or `*` for any. */
  readonly method: string;
  /** Matches a path spelling, case-insensitively: `{name}` and `*` match any characters, `/` included. */
  readonly pathMatcher: RegExp;
  readonly scopes: readonly string[];
}

const NONE: readonly string[] = Object.freeze([]);
const RULE_KEY = /^(\*|[A-Z]+) (\/[A-Za-z0-9\-._~/*{}]*)$/;

/**
 * Which scopes each route needs, configured as JSON: `{"POST /orders": "write", "GET /orders/*": ["read"]}`.
 * A route that matches no rule needs no scope; a route matching several rules needs the scopes of all.
 * `*` and `{name}` match any characters, `/` included.
 *
 * A rule must never be weaker than the route it guards, however the request spells its path: API Gateway
 * routes `/orders/` as `/orders` (https://github.com/aws-powertools/powertools-lambda-python/pull/1577) and
 * decodes URL-encoded parameters before the backend sees them
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html), and behind a
 * greedy route (`{proxy+}`, `ANY`, `$default`) the backend decides what `/Admin//users/` means (Express, for
 * one, routes case-insensitively and treats HEAD as GET). So a rule applies when it matches the path as sent or
 * its normalised form (decoded, `//` and `.` segments collapsed, no trailing slash), in any case, and a GET
 * rule applies to HEAD. Every one of these can only add rules that apply, never remove one.
 */
export class RouteScopes {
  /** Per method ARN: the policy that allows, or denies, exactly that method (scoped installs cache per route). */
  private readonly perMethod = new ApproximateLruCache<string, { readonly allow: Permissions; readonly deny: Permissions }>(1024);
  /** Per stage: the policy over the whole stage (installs without rules). */
  private readonly perStage = new ApproximateLruCache<string, Permissions>(64);

  private constructor(
    private readonly rules: readonly RouteRule[],
    /** The JSON the map was parsed from, so that it can be written back unchanged. */
    private readonly source: string,
  ) {}

  static parse(json: string | undefined): RouteScopes {
    if (json === undefined || json.trim() === '') return new RouteScopes([], '{}');
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch {
      throw new InvalidRouteScopesError(`the route→scope map must be JSON like {"POST /orders": "write"}; got ${JSON.stringify(json)}`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new InvalidRouteScopesError(`the route→scope map must be a JSON object; got ${json}`);
    }
    return new RouteScopes(Object.entries(value).map(([route, scopes]) => parseRule(route, scopes)), json);
  }

  /** The map as JSON, as it was given. */
  serialize(): string {
    return this.source;
  }

  /**
   * True when routes need scopes: the decision then depends on the method and path, so API Gateway must cache
   * it per method and path (the construct adds both to the authorizer's identity sources).
   */
  get decidesPerRoute(): boolean {
    return this.rules.length > 0;
  }

  /** The scopes the route needs that the key does not have; empty when the key may call it. */
  missingScopes(method: string, paths: readonly string[], keyScopes: readonly string[]): readonly string[] {
    if (this.rules.length === 0) return NONE;
    const methods = methodsOf(method);
    const spellings = spellingsOf(paths);
    let missing: Set<string> | undefined;
    for (const rule of this.rules) {
      if (rule.method !== '*' && !methods.includes(rule.method)) continue;
      if (!spellings.some((spelling) => rule.pathMatcher.test(spelling))) continue;
      for (const scope of rule.scopes) if (!keyScopes.includes(scope)) (missing ??= new Set()).add(scope);
    }
    return missing === undefined ? NONE : [...missing];
  }

  /**
   * The policy for a decision. Without rules the decision is the same on every route, so the policy covers the
   * whole stage (API Gateway caches it per key and applies it to every route). With rules, API Gateway caches
   * per key, method and path, so the policy covers exactly the method ARN it was decided for: a cached answer
   * can never reach a method it was not decided for.
   */
  permissionsFor(target: RouteTarget, allowed: boolean): Permissions {
    if (this.rules.length === 0) {
      let stageWide = this.perStage.get(target.stageArn);
      if (stageWide === undefined) {
        stageWide = { allow: [`${target.stageArn}/*`], deny: NONE };
        this.perStage.set(target.stageArn, stageWide);
      }
      return stageWide;
    }
    let method = this.perMethod.get(target.methodArn);
    if (method === undefined) {
      method = { allow: { allow: [target.methodArn], deny: NONE }, deny: { allow: NONE, deny: [target.methodArn] } };
      this.perMethod.set(target.methodArn, method);
    }
    return allowed ? method.allow : method.deny;
  }
}

/** The rule methods a request method falls under: its own, in capitals, and GET for HEAD (a GET without a body). */
function methodsOf(method: string): readonly string[] {
  const upper = method.toUpperCase();
  return upper === 'HEAD' ? ['HEAD', 'GET'] : [upper];
}

/**
 * The paths as sent, normalised, and as a backend might read them after more decoding: every encoding undone
 * (twice-encoded too, so `%2f` is a slash), overlong UTF-8 slashes and dots, backslashes as slashes (IIS), path
 * parameters dropped (`;jsessionid`, as Tomcat and Spring do) and the path cut at a NUL. A rule that matches any
 * spelling applies, so each spelling can only ask for more scopes. Matchers are case-insensitive, so case needs
 * no spelling of its own.
 */
function spellingsOf(paths: readonly string[]): string[] {
  const spellings: string[] = [];
  const add = (spelling: string) => {
    if (!spellings.includes(spelling)) spellings.push(spelling);
  };
  for (const path of paths) {
    add(path);
    add(normalisePath(path));
    if (!UNUSUAL_PATH.test(path)) continue;
    const decoded = decodeFully(path).replace(/\\/g, '/');
    add(normalisePath(decoded));
    const cut = decoded.split('\0')[0] ?? '';
    add(normalisePath(cut));
    add(normalisePath(cut.split('/').map((segment) => segment.split(';')[0] ?? '').join('/')));
  }
  return spellings;
}

/** A path a backend may read otherwise than its plain normalised form: escapes, path parameters, backslashes, control characters. */
// eslint-disable-next-line no-control-regex
const UNUSUAL_PATH = /[%;\\\u0000-\u001f]/;
const OVERLONG = [
  [/%c0%af|%e0%80%af/gi, '/'],
  [/%c0%ae|%e0%80%ae/gi, '.'],
  [/%c1%9c/gi, '\\'],
] as const;

/** Percent-decoding repeated until nothing changes (three rounds at most); a malformed escape stays as it is. */
function decodeFully(path: string): string {
  let current = path;
  for (let round = 0; round < 3 && current.includes('%'); round++) {
    let next = current;
    for (const [pattern, replacement] of OVERLONG) next = next.replace(pattern, replacement);
    next = next.replace(/(%[0-9a-f]{2})+/gi, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return Buffer.from(run.split('%').slice(1).map((hex) => parseInt(hex, 16))).toString('latin1');
      }
    });
    if (next === current) break;
    current = next;
  }
  return current;
}

/** Decoded, `//` collapsed, `.` and `..` resolved, without a trailing slash. */
export function normalisePath(path: string): string {
  const segments: string[] = [];
  for (const raw of path.split('/')) {
    const segment = decodeSegment(raw);
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  return `/${segments.join('/')}`;
}

function decodeSegment(segment: string): string {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function parseRule(route: string, scopes: unknown): RouteRule {
  const match = RULE_KEY.exec(route);
  const method = match?.[1];
  const path = match?.[2];
  if (method === undefined || path === undefined) {
    throw new InvalidRouteScopesError(`route "${route}" must be "<METHOD or *> /path", with *, {name} allowed in the path`);
  }
  const list = typeof scopes === 'string' ? [scopes] : scopes;
  if (!Array.isArray(list) || list.length === 0 || !list.every((scope): scope is string => typeof scope === 'string' && SCOPE_PATTERN.test(scope))) {
    throw new InvalidRouteScopesError(`route "${route}" needs a scope or a list of scopes (letters, digits, ":", ".", "_", "/", "-"); got ${JSON.stringify(scopes)}`);
  }
  // The rule's own trailing slash is dropped as the request's is: `/orders/` guards `/orders` too.
  const resourcePattern = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  const wildcarded = resourcePattern.replace(/\{[^}]*\}/g, '*');
  const pathMatcher = new RegExp(`^${wildcarded.split('*').map((part) => part.replace(/[.+?^$()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i');
  return { method, pathMatcher, scopes: list };
}
