// SNS and SQS for local mode: fauxqs (https://github.com/kibertoad/fauxqs), in its own process because it is
// an ES module. Sends its endpoint to the parent, or prints it when run alone. Built with fauxqs's buildApp and
// bound to 127.0.0.1 here: its startFauxqs listens on every interface (0.0.0.0).
import { buildApp } from 'fauxqs';

// Queue URLs on the host the request came to (127.0.0.1:<port>): fauxqs's default, sqs.<region>.localhost, does not
// resolve everywhere, and the AWS SDK sends a queue's requests to its URL's host. fauxqs takes an empty host to
// mean the request's, but only through a store of its own (buildApp ignores an empty `host` option).
const { SqsStore } = await import(new URL('./sqs/sqsStore.js', import.meta.resolve('fauxqs')).href);
const sqsStore = new SqsStore();
sqsStore.host = '';
const app = buildApp({ logger: false, defaultRegion: process.env.AWS_REGION ?? 'us-east-1', stores: { sqsStore } });
await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
const endpoint = `http://127.0.0.1:${app.server.address().port}`;
if (process.send) process.send({ endpoint });
else console.log(endpoint);
const stop = () => app.close().finally(() => process.exit(0));
process.on('disconnect', stop);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
