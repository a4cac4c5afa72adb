import { InvalidRouteScopesError } from '../../lambda/domain/errors';
import { RouteScopes } from '../../lambda/domain/route-scopes';

const stage = 'arn:aws:execute-api:eu-west-1:111122223333:abc123/prod';

describe('Route scopes', () => {
  const routes = RouteScopes.parse(JSON.stringify({ 'POST /orders': 'write', 'GET /orders/{id}': ['read'], '* /admin/*': ['admin', 'write'] }));

  it('lets a route that matches no rule through for any valid key', () => {
    expect(routes.missingScopes('GET', '/hello', [])).toEqual([]);
  });

  it('names the scopes a key lacks for the route it calls', () => {
    expect(routes.missingScopes('POST', '/orders', ['read'])).toEqual(['write']);
    expect(routes.missingScopes('POST', '/orders', ['write'])).toEqual([]);
    expect(routes.missingScopes('GET', '/orders/42', [])).toEqual(['read']);
    expect(routes.missingScopes('DELETE', '/admin/users/7', ['write'])).toEqual(['admin']);
  });

  it('matches {name} and * across slashes, as the IAM policy API Gateway enforces does', () => {
    expect(routes.missingScopes('GET', '/orders/42/items', [])).toEqual(['read']);
    expect(routes.missingScopes('GET', '/orders', [])).toEqual([]);
  });

  it('allows the whole stage and denies exactly the routes the key\'s scopes do not cover', () => {
    expect(routes.permissionsFor(stage, ['read'])).toEqual({
      allow: [`${stage}/*`],
      deny: [`${stage}/POST/orders`, `${stage}/*/admin/*`],
    });
    expect(routes.permissionsFor(stage, ['admin', 'read', 'write'])).toEqual({ allow: [`${stage}/*`], deny: [] });
    expect(RouteScopes.parse(undefined).permissionsFor(stage, [])).toEqual({ allow: [`${stage}/*`], deny: [] });
  });

  it('computes each cached key version\'s policy once per stage', () => {
    const scopesOfOneVersion = ['read'];
    expect(routes.permissionsFor(stage, scopesOfOneVersion)).toBe(routes.permissionsFor(stage, scopesOfOneVersion));
    expect(routes.permissionsFor(`${stage}-2`, scopesOfOneVersion)).not.toBe(routes.permissionsFor(stage, scopesOfOneVersion));
  });

  it.each([
    ['not JSON', '{post: write}'],
    ['an array', '["write"]'],
    ['a route without a method', '{"/orders": "write"}'],
    ['a lower-case method', '{"post /orders": "write"}'],
    ['a path without a slash', '{"POST orders": "write"}'],
    ['an empty scope list', '{"POST /orders": []}'],
    ['a scope with a space', '{"POST /orders": "read write"}'],
  ])('refuses %s with a clear error', (_label, json) => {
    expect(() => RouteScopes.parse(json)).toThrow(InvalidRouteScopesError);
  });
});
