// One Lambda function in its own process, as local mode runs it: loads the bundle once (the container's
// cold start), then handles one invocation at a time, sent by the parent over IPC.
const bundle = process.argv[2];
const { handler } = require(bundle);
let invocations = 0;

process.on('message', async ({ id, event }) => {
  invocations += 1;
  const context = {
    awsRequestId: `local-${process.pid}-${invocations}`,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    getRemainingTimeInMillis: () => 30_000,
  };
  try {
    const result = await handler(event, context);
    process.send({ id, ok: true, result });
  } catch (error) {
    process.send({ id, ok: false, error: { name: error && error.name, message: error && error.message } });
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
