import { InvalidRotationEventError } from '../../lambda/domain/errors';
import { parseRotationEvent } from '../../lambda/handlers/rotation-handler';

const valid = { Step: 'createSecret', SecretId: 'arn:aws:secretsmanager:eu-west-1:1:secret:x', ClientRequestToken: 'v2', RotationToken: 'rt-secret-123' };

describe('Rotation event parsing', () => {
  it('reads the four fields Secrets Manager sends', () => {
    expect(parseRotationEvent(valid)).toEqual({ step: 'createSecret', secretId: valid.SecretId, token: 'v2', rotationToken: 'rt-secret-123' });
    const { RotationToken: _omitted, ...withoutToken } = valid;
    expect(parseRotationEvent(withoutToken)).toEqual({ step: 'createSecret', secretId: valid.SecretId, token: 'v2' });
  });

  it.each([
    ['a string', 'createSecret', 'must be a JSON object'],
    ['null', null, 'must be a JSON object'],
    ['an unknown step', { ...valid, Step: 'deleteSecret' }, 'Step must be one of createSecret, setSecret, testSecret, finishSecret; got "deleteSecret"'],
    ['no step', { ...valid, Step: undefined }, 'got nothing'],
    ['an empty token', { ...valid, ClientRequestToken: '' }, 'ClientRequestToken must be a non-empty string; got ""'],
    ['a numeric secret id', { ...valid, SecretId: 42 }, 'SecretId must be a non-empty string; got 42'],
    ['a long step', { ...valid, Step: 'x'.repeat(500) }, '…'],
  ])('refuses %s with a clear error', (_label, event, message) => {
    expect(() => parseRotationEvent(event)).toThrow(InvalidRotationEventError);
    expect(() => parseRotationEvent(event)).toThrow(message);
  });

  it('never quotes the RotationToken in an error', () => {
    let message = '';
    try {
      parseRotationEvent({ ...valid, RotationToken: { token: 'rt-secret-123' } });
    } catch (error) {
      message = String(error);
    }
    expect(message).toContain('RotationToken must be a string');
    expect(message).not.toContain('rt-secret-123');
  });
});
