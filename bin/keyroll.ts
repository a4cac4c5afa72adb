#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { KeyrollStack } from '../lib/keyroll-stack';

const app = new App();
new KeyrollStack(app, 'Keyroll', {
  env: { account: process.env['CDK_DEFAULT_ACCOUNT'], region: process.env['CDK_DEFAULT_REGION'] },
});
