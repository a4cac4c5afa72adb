/**
 * How every keyroll Lambda is bundled, shared by the CDK construct and the benchmark so that what is
 * measured is what is deployed: CommonJS for Node.js 24, minified, the AWS SDK included, and module-first
 * resolution (ES module builds of the SDK load in about half the time of the CommonJS ones).
 */
export const LAMBDA_BUNDLING = {
  target: 'node24',
  mainFields: ['module', 'main'],
  minify: true,
} as const;
