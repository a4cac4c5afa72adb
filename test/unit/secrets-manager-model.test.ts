import { SecretsManagerModel } from '../../local/secrets-manager-model';

const LAMBDA = 'arn:aws:lambda:eu-west-1:111122223333:function:rotation';

function newSecret(model: SecretsManagerModel, value = 'v1-value', versionId = 'v1'): string {
  const { ARN } = model.createSecret({ Name: 'client', SecretString: value, ClientRequestToken: versionId });
  if (ARN === undefined) throw new Error('no ARN');
  return ARN;
}

const stages = (model: SecretsManagerModel, arn: string) => model.describeSecret({ SecretId: arn }).VersionIdsToStages;

describe('Secrets Manager model: versions and staging labels', () => {
  it('gives the first version AWSCURRENT, whatever stages were asked for', () => {
    const model = new SecretsManagerModel();
    const { ARN } = model.createSecret({ Name: 'empty' });
    model.putSecretValue({ SecretId: ARN, ClientRequestToken: 'first', SecretString: 'x', VersionStages: ['AWSPENDING'] });
    expect(stages(model, ARN ?? '')).toEqual({ first: ['AWSPENDING', 'AWSCURRENT'] });
  });

  it('moves AWSCURRENT on PutSecretValue without VersionStages, and AWSPREVIOUS with it', () => {
    const model = new SecretsManagerModel();
    const arn = newSecret(model);
    model.putSecretValue({ SecretId: arn, ClientRequestToken: 'v2', SecretString: 'two' });
    model.putSecretValue({ SecretId: arn, ClientRequestToken: 'v3', SecretString: 'three' });
    expect(stages(model, arn)).toEqual({ v2: ['AWSPREVIOUS'], v3: ['AWSCURRENT'] });
    expect(model.listSecretVersionIds({ SecretId: arn, IncludeDeprecated: true }).Versions?.map((v) => v.VersionId)).toEqual(['v1', 'v2', 'v3']);
  });

  it('moves only the named label on PutSecretValue with VersionStages', () => {
    const model = new SecretsManagerModel();
    const arn = newSecret(model);
    model.putSecretValue({ SecretId: arn, ClientRequestToken: 'p1', SecretString: 'p1', VersionStages: ['AWSPENDING'] });
    model.putSecretValue({ SecretId: arn, ClientRequestToken: 'p2', SecretString: 'p2', VersionStages: ['AWSPENDING'] });
    expect(stages(model, arn)).toEqual({ v1: ['AWSCURRENT'], p2: ['AWSPENDING'] });
  });

  it('treats a repeated ClientRequestToken as a no-op for the same value and refuses a different value', () => {
    const model = new SecretsManagerModel();
    const arn = newSecret(model);
    model.putSecretValue({ SecretId: arn, ClientRequestToken: 'v2', SecretString: 'two', VersionStages: ['AWSPENDING'] });
    expect(model.putSecretValue({ SecretId: arn, ClientRequestToken: 'v2', SecretString: 'two', VersionStages: ['AWSPENDING'] }).VersionId).toBe('v2');
    expect(() => model.putSecretValue({ SecretId: arn, ClientRequestToken: 'v2', SecretString: 'other' })).toThrow(
      expect.objectContaining({ name: 'ResourceExistsException' }),
    );
  });

  it('requires RemoveFromVersionId to name the version a label is moving from', () => {
    const model = new SecretsManagerModel();
    const arn = newSecret(model);
    model.putSecretValue({ SecretId: arn, ClientRequestToken: 'v2', SecretString: 'two', VersionStages: ['AWSPENDING'] });
    const move = (RemoveFromVersionId?: string) =>
      model.updateSecretVersionStage({ SecretId: arn, VersionStage: 'AWSCURRENT', MoveToVersionId: 'v2', RemoveFromVersionId });
    expect(() => move()).toThrow(expect.objectContaining({ name: 'InvalidParameterException' }));
    expect(() => move('v2')).toThrow(expect.objectContaining({ name: 'InvalidParameterException' }));
    expect(stages(model, arn)).toEqual({ v1: ['AWSCURRENT'], v2: ['AWSPENDING'] });
    move('v1');
    expect(stages(model, arn)).toEqual({ v1: ['AWSPREVIOUS'], v2: ['AWSPENDING', 'AWSCURRENT'] });
    expect(() => move('v1')).toThrow(expect.objectContaining({ name: 'InvalidParameterException' }));
  });

  it('removes a label when only RemoveFromVersionId is given, deprecating a version left without labels', () => {
    const model = new SecretsManagerModel();
    const arn = newSecret(model);
    model.putSecretValue({ SecretId: arn, ClientRequestToken: 'v2', SecretString: 'two', VersionStages: ['AWSPENDING'] });
    model.updateSecretVersionStage({ SecretId: arn, VersionStage: 'AWSPENDING', RemoveFromVersionId: 'v2' });
    expect(stages(model, arn)).toEqual({ v1: ['AWSCURRENT'] });
    expect(model.getSecretValue({ SecretId: arn, VersionId: 'v2' }).SecretString).toBe('two');
  });

  it('reads by stage, by version, or both, and refuses a mismatch', () => {
    const model = new SecretsManagerModel();
    const arn = newSecret(model);
    expect(model.getSecretValue({ SecretId: arn }).VersionId).toBe('v1');
    expect(model.getSecretValue({ SecretId: arn, VersionId: 'v1', VersionStage: 'AWSCURRENT' }).SecretString).toBe('v1-value');
    expect(() => model.getSecretValue({ SecretId: arn, VersionId: 'v1', VersionStage: 'AWSPENDING' })).toThrow(
      expect.objectContaining({ name: 'ResourceNotFoundException' }),
    );
  });
});

describe('Secrets Manager model: starting a rotation', () => {
  it('labels a new version without a value AWSPENDING; reading it fails until createSecret fills it', () => {
    const model = new SecretsManagerModel();
    const arn = newSecret(model);
    const { VersionId } = model.rotateSecret({ SecretId: arn, RotationLambdaARN: LAMBDA, ClientRequestToken: 'r1' });
    expect(VersionId).toBe('r1');
    expect(model.describeSecret({ SecretId: arn }).RotationEnabled).toBe(true);
    expect(stages(model, arn)).toEqual({ v1: ['AWSCURRENT'], r1: ['AWSPENDING'] });
    expect(() => model.getSecretValue({ SecretId: arn, VersionId: 'r1', VersionStage: 'AWSPENDING' })).toThrow(
      /can't find the specified secret value for VersionId: r1/,
    );
    model.putSecretValue({ SecretId: arn, ClientRequestToken: 'r1', SecretString: 'new', VersionStages: ['AWSPENDING'] });
    expect(model.getSecretValue({ SecretId: arn, VersionId: 'r1', VersionStage: 'AWSPENDING' }).SecretString).toBe('new');
  });

  it('refuses to start while AWSPENDING sits on a version other than AWSCURRENT', () => {
    const model = new SecretsManagerModel();
    const arn = newSecret(model);
    model.rotateSecret({ SecretId: arn, RotationLambdaARN: LAMBDA, ClientRequestToken: 'r1' });
    model.endRotation(arn, 'failed');
    expect(() => model.rotateSecret({ SecretId: arn, ClientRequestToken: 'r2' })).toThrow(/A previous rotation isn't complete/);
    model.updateSecretVersionStage({ SecretId: arn, VersionStage: 'AWSPENDING', RemoveFromVersionId: 'r1' });
    expect(model.rotateSecret({ SecretId: arn, ClientRequestToken: 'r2' }).VersionId).toBe('r2');
  });

  it('allows a new rotation when AWSPENDING was left on the current version', () => {
    const model = new SecretsManagerModel();
    const arn = newSecret(model);
    model.rotateSecret({ SecretId: arn, RotationLambdaARN: LAMBDA, ClientRequestToken: 'r1' });
    model.putSecretValue({ SecretId: arn, ClientRequestToken: 'r1', SecretString: 'new', VersionStages: ['AWSPENDING'] });
    model.updateSecretVersionStage({ SecretId: arn, VersionStage: 'AWSCURRENT', MoveToVersionId: 'r1', RemoveFromVersionId: 'v1' });
    model.endRotation(arn, 'succeeded');
    expect(stages(model, arn)).toEqual({ v1: ['AWSPREVIOUS'], r1: ['AWSPENDING', 'AWSCURRENT'] });
    expect(model.rotateSecret({ SecretId: arn, ClientRequestToken: 'r2' }).VersionId).toBe('r2');
    expect(stages(model, arn)).toEqual({ v1: ['AWSPREVIOUS'], r1: ['AWSCURRENT'], r2: ['AWSPENDING'] });
  });

  it('ends only the rotation it is told about: one started after finishSecret of the last keeps running', () => {
    const model = new SecretsManagerModel();
    const arn = newSecret(model);
    model.rotateSecret({ SecretId: arn, RotationLambdaARN: LAMBDA, ClientRequestToken: 'r1' });
    model.putSecretValue({ SecretId: arn, ClientRequestToken: 'r1', SecretString: 'new', VersionStages: ['AWSPENDING'] });
    model.updateSecretVersionStage({ SecretId: arn, VersionStage: 'AWSCURRENT', MoveToVersionId: 'r1', RemoveFromVersionId: 'v1' });
    // r1's finishSecret moved AWSCURRENT; before the service ends r1, a schedule starts r2 (AWS allows it).
    model.rotateSecret({ SecretId: arn, ClientRequestToken: 'r2' });
    model.endRotation(arn, 'succeeded', 'r1');
    expect(model.rotationInProgress(arn)?.versionId).toBe('r2');
    const token = model.rotationInProgress(arn)?.rotationToken;
    expect(model.putSecretValue({ SecretId: arn, ClientRequestToken: 'r2', SecretString: 'newer', VersionStages: ['AWSPENDING'], RotationToken: token }).VersionId).toBe('r2');
  });

  it('with RotateImmediately=false, stages a copy of the current value for testSecret and removes it after', () => {
    const model = new SecretsManagerModel();
    const arn = newSecret(model);
    model.rotateSecret({ SecretId: arn, RotationLambdaARN: LAMBDA, ClientRequestToken: 't1', RotateImmediately: false });
    expect(model.getSecretValue({ SecretId: arn, VersionId: 't1', VersionStage: 'AWSPENDING' }).SecretString).toBe('v1-value');
    model.endRotation(arn, 'succeeded');
    expect(stages(model, arn)).toEqual({ v1: ['AWSCURRENT'] });
  });

  it('checks the RotationToken a rotation function passes to PutSecretValue', () => {
    const model = new SecretsManagerModel();
    const arn = newSecret(model);
    model.rotateSecret({ SecretId: arn, RotationLambdaARN: LAMBDA, ClientRequestToken: 'r1' });
    const rotationToken = model.rotationInProgress(arn)?.rotationToken;
    expect(() =>
      model.putSecretValue({ SecretId: arn, ClientRequestToken: 'r1', SecretString: 'x', VersionStages: ['AWSPENDING'], RotationToken: 'forged' }),
    ).toThrow(/RotationToken does not match/);
    model.putSecretValue({ SecretId: arn, ClientRequestToken: 'r1', SecretString: 'x', VersionStages: ['AWSPENDING'], RotationToken: rotationToken });
  });
});
