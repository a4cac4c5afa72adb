// Tests never reach AWS: a fake region and credentials keep the SDK from looking for real ones.
process.env['AWS_REGION'] = 'eu-west-1';
process.env['AWS_ACCESS_KEY_ID'] = 'test-access-key';
process.env['AWS_SECRET_ACCESS_KEY'] = 'test-secret-key';
process.env['POWERTOOLS_LOG_LEVEL'] = 'SILENT';
process.env['POWERTOOLS_METRICS_NAMESPACE'] = 'keyroll-test';
// Lambda runs Node.js 22; on the Node.js 20 here the SDK would print a version warning in every worker.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';
