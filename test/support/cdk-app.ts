import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';

/**
 * An App with the context the CLI gives: the feature flags of `cdk.json`, and asset metadata (which function
 * uses which asset directory). Tests then see the template `cdk deploy` would.
 */
export function appLikeTheCli(): App {
  const cdkJson = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
  return new App({ context: { ...cdkJson.context, 'aws:cdk:enable-asset-metadata': true } });
}
