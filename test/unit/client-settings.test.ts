import { CLIENT_TAG, clientSettingsFromTags } from '../../lambda/domain/client-settings';
import { InvalidClientSettingError, RotationRefusedError } from '../../lambda/domain/errors';

const arn = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:keyroll/clients/acme-AbCdEf';
const defaults = { gracePeriodSeconds: 86_400 };
const tags = (entries: Record<string, string>) => new Map(Object.entries(entries));

describe('client settings from secret tags', () => {
  it('reads the client id and falls back to the configured grace period', () => {
    expect(clientSettingsFromTags(arn, tags({ [CLIENT_TAG.clientId]: 'acme' }), defaults)).toEqual({
      clientId: 'acme',
      scopes: [],
      gracePeriodMs: 86_400_000,
    });
  });

  it('reads per-client scopes, grace period and maximum key age', () => {
    const settings = clientSettingsFromTags(
      arn,
      tags({
        [CLIENT_TAG.clientId]: 'acme',
        [CLIENT_TAG.scopes]: ' write  orders:read read write ',
        [CLIENT_TAG.gracePeriodSeconds]: '3600',
        [CLIENT_TAG.maxKeyAgeDays]: '90',
      }),
      defaults,
    );
    expect(settings).toEqual({ clientId: 'acme', scopes: ['orders:read', 'read', 'write'], gracePeriodMs: 3_600_000, maxKeyAgeMs: 90 * 86_400_000 });
  });

  it('accepts a zero grace period (the old key dies with the rotation)', () => {
    expect(clientSettingsFromTags(arn, tags({ [CLIENT_TAG.clientId]: 'acme', [CLIENT_TAG.gracePeriodSeconds]: '0' }), defaults).gracePeriodMs).toBe(0);
  });

  it('refuses a secret without the client tag as one keyroll does not manage', () => {
    expect(() => clientSettingsFromTags(arn, tags({ Name: 'x' }), defaults)).toThrow(RotationRefusedError);
    expect(() => clientSettingsFromTags(arn, tags({}), defaults)).toThrow(/not managed by keyroll: it has no "keyroll:clientId" tag/);
  });

  it.each([
    [CLIENT_TAG.clientId, 'acme corp'],
    [CLIENT_TAG.clientId, 'x'.repeat(65)],
    [CLIENT_TAG.scopes, 'wr!te'],
    [CLIENT_TAG.gracePeriodSeconds, '-1'],
    [CLIENT_TAG.gracePeriodSeconds, '1.5'],
    [CLIENT_TAG.gracePeriodSeconds, 'one day'],
    [CLIENT_TAG.maxKeyAgeDays, '0'],
  ])('names the tag and the bad value when %s is %p', (tag, value) => {
    const entries = { [CLIENT_TAG.clientId]: 'acme', [tag]: value };
    expect(() => clientSettingsFromTags(arn, tags(entries), defaults)).toThrow(InvalidClientSettingError);
    expect(() => clientSettingsFromTags(arn, tags(entries), defaults)).toThrow(new RegExp(`${tag}.*${value.replace(/[.*+?^${}()|[\]\\!]/g, '\\$&')}`));
  });
});
