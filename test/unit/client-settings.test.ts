import { CLIENT_SETTING, CLIENT_TAG, claimedClientId, clientSettingsOf, settingValuesFromTags } from '../../lambda/domain/client-settings';
import { InvalidClientSettingError, RotationRefusedError } from '../../lambda/domain/errors';

const arn = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:keyroll/clients/acme-AbCdEf';
const defaults = { gracePeriodSeconds: 86_400 };

describe('Client settings, from the client\'s registration', () => {
  it('falls back to the configured grace period', () => {
    expect(clientSettingsOf('acme', {}, defaults)).toEqual({ clientId: 'acme', scopes: [], gracePeriodMs: 86_400_000 });
  });

  it('reads per-client scopes, grace period and maximum key age', () => {
    const settings = clientSettingsOf(
      'acme',
      { [CLIENT_SETTING.scopes]: ' write  orders:read read write ', [CLIENT_SETTING.gracePeriodSeconds]: '3600', [CLIENT_SETTING.maxKeyAgeDays]: '90' },
      defaults,
    );
    expect(settings).toEqual({ clientId: 'acme', scopes: ['orders:read', 'read', 'write'], gracePeriodMs: 3_600_000, maxKeyAgeMs: 90 * 86_400_000 });
  });

  it('accepts a zero grace period (the old key dies with the rotation)', () => {
    expect(clientSettingsOf('acme', { [CLIENT_SETTING.gracePeriodSeconds]: '0' }, defaults).gracePeriodMs).toBe(0);
  });

  it.each([
    [CLIENT_SETTING.scopes, 'wr!te'],
    [CLIENT_SETTING.gracePeriodSeconds, '-1'],
    [CLIENT_SETTING.gracePeriodSeconds, '1.5'],
    [CLIENT_SETTING.gracePeriodSeconds, 'one day'],
    [CLIENT_SETTING.maxKeyAgeDays, '0'],
    [CLIENT_SETTING.deliveryPublicKey, 'A'.repeat(43)],
  ])('names the setting and the bad value when %s is %p', (name, value) => {
    expect(() => clientSettingsOf('acme', { [name]: value }, defaults)).toThrow(InvalidClientSettingError);
    expect(() => clientSettingsOf('acme', { [name]: value }, defaults)).toThrow(new RegExp(`registration of client "acme".*${name}`));
  });
});

describe('The client id a secret claims', () => {
  it('is read from its tag', () => {
    expect(claimedClientId(arn, new Map([[CLIENT_TAG.clientId, 'acme']]))).toBe('acme');
  });

  it('refuses a secret without the tag as one keyroll does not manage', () => {
    expect(() => claimedClientId(arn, new Map([['Name', 'x']]))).toThrow(RotationRefusedError);
    expect(() => claimedClientId(arn, new Map())).toThrow(/not managed by keyroll: it has no "keyroll:clientId" tag/);
  });

  it.each(['acme corp', 'x'.repeat(65)])('refuses a tag that is not a client id: %p', (value) => {
    expect(() => claimedClientId(arn, new Map([[CLIENT_TAG.clientId, value]]))).toThrow(InvalidClientSettingError);
  });
});

describe('Settings of a secret made before registrations', () => {
  it('takes the keyroll settings among its tags, and nothing else', () => {
    const tags = new Map([[CLIENT_TAG.clientId, 'acme'], [CLIENT_SETTING.scopes, 'read'], ['CostCenter', '42']]);
    expect(settingValuesFromTags(tags)).toEqual({ [CLIENT_SETTING.scopes]: 'read' });
  });
});
