import { InvalidRouteScopesError } from '../../lambda/domain/errors';
import { normalisePath, RouteScopes, type RouteTarget } from '../../lambda/domain/route-scopes';

const stage = 'arn:aws:execute-api:eu-west-1:111122223333:abc123/prod';
const target = (method: string, path: string): RouteTarget => ({ stageArn: stage, methodArn: `${stage}/${method}${path}`, method, paths: [path] });

describe('Route scopes', () => {
  const routes = RouteScopes.parse(JSON.stringify({ 'POST /orders': 'write', 'GET /orders/{id}': ['read'], '* /admin/*': ['admin', 'write'] }));

  it('lets a route that matches no rule through for any valid key', () => {
    expect(routes.missingScopes('GET', ['/hello'], [])).toEqual([]);
  });

  it('names the scopes a key lacks for the route it calls', () => {
    expect(routes.missingScopes('POST', ['/orders'], ['read'])).toEqual(['write']);
    expect(routes.missingScopes('POST', ['/orders'], ['write'])).toEqual([]);
    expect(routes.missingScopes('GET', ['/orders/42'], [])).toEqual(['read']);
    expect(routes.missingScopes('DELETE', ['/admin/users/7'], ['write'])).toEqual(['admin']);
  });

  it('matches {name} and * across slashes, as the IAM policy API Gateway enforces does', () => {
    expect(routes.missingScopes('GET', ['/orders/42/items'], [])).toEqual(['read']);
    expect(routes.missingScopes('GET', ['/orders'], [])).toEqual([]);
  });

  it.each([
    ['a trailing slash', 'POST', '/orders/'],
    ['a doubled slash', 'POST', '//orders'],
    ['another case', 'POST', '/ORDERS'],
    ['a lower-case method', 'post', '/orders'],
    ['a percent-encoded letter', 'POST', '/%6frders'],
    ['a dot segment', 'POST', '/x/../orders'],
    ['HEAD for a GET rule', 'HEAD', '/orders/42'],
    ['an encoded trailing slash', 'POST', '/orders%2f'],
    ['an encoded upper-case slash', 'POST', '/orders%2F'],
    ['an encoded leading slash', 'POST', '/%2forders'],
    ['encoded doubled slashes', 'POST', '/%2F%2Forders'],
    ['a dot segment with an encoded slash', 'POST', '/hello/..%2forders'],
    ['a double-encoded slash', 'POST', '/orders%252f'],
    ['a NUL after the path', 'POST', '/orders%00'],
    ['a path parameter (Tomcat, Spring)', 'POST', '/orders;x'],
    ['an encoded path parameter', 'POST', '/orders%3bjsessionid=1'],
    ['an overlong UTF-8 slash', 'POST', '/orders%C0%AF'],
    ['a backslash (IIS)', 'POST', '/x\\..\\orders'],
  ])('is never weaker than the route it guards: %s still needs the scope', (_label, method, path) => {
    expect(routes.missingScopes(method, [path], [])).not.toEqual([]);
  });

  it('needs the scopes of every spelling the event gives, so disagreeing fields can only ask for more', () => {
    expect(routes.missingScopes('POST', ['/hello', '/orders'], [])).toEqual(['write']);
  });

  it('normalises a path as a backend would read it', () => {
    expect(normalisePath('//a/./b/../c/%41/')).toBe('/a/c/A');
    expect(normalisePath('/')).toBe('/');
    expect(normalisePath('/bad%zzescape')).toBe('/bad%zzescape');
  });

  it('without rules, allows the whole stage: the decision is the same on every route', () => {
    const none = RouteScopes.parse(undefined);
    expect(none.decidesPerRoute).toBe(false);
    expect(none.permissionsFor(target('GET', '/hello'), true)).toEqual({ allow: [`${stage}/*`], deny: [] });
    expect(none.permissionsFor(target('GET', '/hello'), true)).toBe(none.permissionsFor(target('POST', '/x'), true));
  });

  it('with rules, allows or denies exactly the method ARN decided for: API Gateway caches per method and path then', () => {
    expect(routes.decidesPerRoute).toBe(true);
    expect(routes.permissionsFor(target('GET', '/orders'), true)).toEqual({ allow: [`${stage}/GET/orders`], deny: [] });
    expect(routes.permissionsFor(target('POST', '/orders'), false)).toEqual({ allow: [], deny: [`${stage}/POST/orders`] });
    expect(routes.permissionsFor(target('GET', '/orders'), true)).toBe(routes.permissionsFor(target('GET', '/orders'), true));
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
