import * as errors from '../../lambda/domain/errors';
import { AUTHORIZER_VARIABLES } from '../../lambda/config/authorizer-config';
import { ConfigurationError, KeyrollError } from '../../lambda/domain/errors';

describe('Errors', () => {
  const classes = Object.entries(errors) as [string, new (message: string) => Error][];

  it.each(classes)('%s extends KeyrollError and is named after its class, so logs and callers can tell it apart', (exported, ErrorClass) => {
    const error = exported === 'InvalidKeyPrefixError' ? new (ErrorClass as unknown as new (prefix: string) => Error)('X') : new ErrorClass('what is wrong');
    expect(error).toBeInstanceOf(KeyrollError);
    expect(error.name).toBe(exported);
  });

  it('keeps the cause of a configuration error, which names a variable and never a secret', () => {
    let thrown: unknown;
    try {
      AUTHORIZER_VARIABLES.routeScopes.read({ ROUTE_SCOPES: '{"GET /x": 7}' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigurationError);
    expect((thrown as Error).message).toMatch(/^environment variable ROUTE_SCOPES: /);
    expect((thrown as Error).cause).toBeInstanceOf(errors.InvalidRouteScopesError);
  });
});
