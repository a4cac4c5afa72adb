import { Template } from 'aws-cdk-lib/assertions';
import { Stack } from 'aws-cdk-lib';
import { RotatingApiKeys } from '../../lib/rotating-api-keys';
import { ExampleApiStack } from '../../lib/example-api-stack';
import { appLikeTheCli } from '../support/cdk-app';

/**
 * Logical ids are a contract with every stack already deployed: a changed id replaces the resource. The KMS key
 * and the key table are retained, so a new id would orphan them (and every key would be refused); a new secret
 * or first-key resource would issue a new key; a new topic would drop every subscription. Refactors of `lib/`
 * must keep these ids.
 */
describe('Logical ids of the resources that hold state', () => {
  const app = appLikeTheCli();
  const stack = new ExampleApiStack(app, 'Example', { env: { account: '111122223333', region: 'eu-west-1' } });
  const resources = Template.fromStack(stack).toJSON()['Resources'] as Record<string, { Type: string }>;
  const idsOf = (type: string) =>
    Object.entries(resources)
      .filter(([id, r]) => r.Type === type && id.startsWith('ApiKeys'))
      .map(([id]) => id)
      .sort();

  it.each([
    ['AWS::KMS::Key', ['ApiKeysEncryptionKey826F84C2']],
    ['AWS::DynamoDB::GlobalTable', ['ApiKeysKeyTable94354682']],
    ['AWS::SNS::Topic', ['ApiKeysClientTopic18325940', 'ApiKeysOperationsTopic50000A6C']],
    ['AWS::SecretsManager::Secret', ['ApiKeysClientacmeSecret81AF1605', 'ApiKeysClientglobexSecretA1C00A41']],
    ['AWS::SecretsManager::RotationSchedule', ['ApiKeysClientacmeRotationSchedule3929D27B', 'ApiKeysClientglobexRotationScheduleE672B64D']],
    ['Custom::KeyrollFirstKey', ['ApiKeysClientacmeFirstKey200C086A', 'ApiKeysClientglobexFirstKey310DB8CC']],
    ['AWS::Lambda::Function', [
      'ApiKeysAuthorizerFunctionCE94989C',
      'ApiKeysFirstKeyFunction4318C9F7',
      'ApiKeysFirstKeyProviderframeworkonEvent5306C7DD',
      'ApiKeysMonitorFunctionC65BD836',
      'ApiKeysRotationFunctionF94D0559',
      'ApiKeysUsageFunction46C358C5',
    ]],
  ])('keeps the ids of every %s', (type, ids) => {
    expect(idsOf(type)).toEqual(ids);
  });
});

describe('An install from before install-scoped secret names (the old default prefix keyroll/clients/)', () => {
  it('keeps its secrets, names and logical ids, when it pins that prefix', () => {
    const stack = new Stack(appLikeTheCli(), 'Example', { env: { account: '111122223333', region: 'eu-west-1' } });
    new RotatingApiKeys(stack, 'ApiKeys', { clients: [{ clientId: 'acme' }, { clientId: 'globex' }], secretNamePrefix: 'keyroll/clients/' });
    const secrets = Template.fromStack(stack).findResources('AWS::SecretsManager::Secret') as Record<string, { Properties: { Name: string } }>;
    expect(Object.fromEntries(Object.entries(secrets).map(([id, secret]) => [id, secret.Properties.Name]))).toEqual({
      ApiKeysClientacmeSecret81AF1605: 'keyroll/clients/acme',
      ApiKeysClientglobexSecretA1C00A41: 'keyroll/clients/globex',
    });
  });
});
