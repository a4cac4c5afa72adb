import { SCOPE_PATTERN } from './client-settings';
import { InvalidRouteScopesError } from './errors';
import { ApproximateLruCache } from './approximate-lru-cache';

/** The resources of an IAM policy for one key: everything allowed, minus what its scopes do not cover. */
export interface Permissions {
  readonly allow: readonly string[];
  readonly deny: readonly string[];
}

interface RouteRule {
  /** An HTTP method in capitals, or `*` for any. */
  readonly method: string;
  /** The configured path with `{name}` as `*`: `/orders/*`. */
  readonly resourcePattern: string;
  readonly pathMatcher: RegExp;
  readonly scopes: readonly string[];
}

const NONE: readonly string[] = Object.freeze([]);
const RULE_KEY = /^(\*|[A-Z]+) (\/[A-Za-z0-9\-._~/*{}]*)$/;

/**
 * Which scopes each route needs, configured as JSON: `{"POST /orders": "write", "GET /orders/*": ["read"]}`.
 * A route that matches no rule needs no scope; a route matching several rules needs the scopes of all.
 * `*` matches any characters, `/` included, as in the IAM policy API Gateway enforces; `{name}` is the same
 * as `*` there, so it is here too.
 */
export class RouteScopes {
  /** Per scope list (each cached key version holds one), per stage. */
  private readonly policies = new WeakMap<readonly string[], ApproximateLruCache<string, Permissions>>();

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

  get isEmpty(): boolean {
    return this.rules.length === 0;
  }

  /** The scopes the route needs that the key does not have; empty when the key may call it. */
  missingScopes(method: string, path: string, keyScopes: readonly string[]): readonly string[] {
    if (this.rules.length === 0) return NONE;
    const missing = new Set<string>();
    for (const rule of this.rules) {
      if ((rule.method === '*' || rule.method === method) && rule.pathMatcher.test(path)) {
        for (const scope of rule.scopes) if (!keyScopes.includes(scope)) missing.add(scope);
      }
    }
    return [...missing];
  }

  /**
   * The policy resources for a key, over the whole stage and not just the route invoked: API Gateway
   * caches the policy and applies it to every route the same key calls within the cache TTL.
   */
  permissionsFor(stageArn: string, keyScopes: readonly string[]): Permissions {
    let byStage = this.policies.get(keyScopes);
    if (byStage === undefined) {
      byStage = new ApproximateLruCache(64);
      this.policies.set(keyScopes, byStage);
    }
    const cached = byStage.get(stageArn);
    if (cached !== undefined) return cached;
    const deny = this.rules
      .filter((rule) => rule.scopes.some((scope) => !keyScopes.includes(scope)))
      .map((rule) => `${stageArn}/${rule.method}/${rule.resourcePattern.slice(1)}`);
    const permissions = { allow: [`${stageArn}/*`], deny };
    byStage.set(stageArn, permissions);
    return permissions;
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
  const resourcePattern = path.replace(/\{[^}]*\}/g, '*');
  const pathMatcher = new RegExp(`^${resourcePattern.split('*').map((part) => part.replace(/[.+?^$()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return { method, resourcePattern, pathMatcher, scopes: list };
}
