#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ExampleApiStack } from '../lib/example-api-stack';

const app = new App();
new ExampleApiStack(app, 'KeyrollExample', {
  env: { account: process.env['CDK_DEFAULT_ACCOUNT'], region: process.env['CDK_DEFAULT_REGION'] },
});
// Every synth is checked against the AWS Solutions rules; acknowledgements are narrow and give a reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
