// SNS and SQS for local mode: fauxqs (https://github.com/kibertoad/fauxqs), in its own process because it is
// an ES module. Sends its endpoint to the parent, or prints it when run alone.
import { startFauxqs } from 'fauxqs';

const server = await startFauxqs({ port: Number(process.env.PORT ?? 0), logger: false, defaultRegion: process.env.AWS_REGION ?? 'us-east-1' });
const endpoint = `http://127.0.0.1:${server.port}`;
if (process.send) process.send({ endpoint });
else console.log(endpoint);
const stop = () => server.stop().finally(() => process.exit(0));
process.on('disconnect', stop);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
