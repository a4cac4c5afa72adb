'use strict';
// The flood of the flood proof, in a process of its own so that sending it does not slow the clients it is
// measured against: forged leak reports and forged key-delivery calls at a steady rate, from many loopback
// source addresses (so each source's budget is not what stops it), counted by answer.
const http = require('node:http');
const { randomBytes } = require('node:crypto');

process.once('message', (plan) => {
  const { targets, ratePerSecond, seconds, sourceAddresses } = plan;
  const agents = sourceAddresses.map((localAddress) => new http.Agent({ keepAlive: true, maxSockets: 16, localAddress }));
  const counts = Object.fromEntries(targets.map((target) => [target.name, { sent: 0, byStatus: {}, errors: 0 }]));
  const perTick = ratePerSecond / 100;
  let owed = 0;
  let sent = 0;
  let open = 0;

  const forged = (target) => {
    if (target.kind === 'leak-report') {
      const body = JSON.stringify([{ token: `kr_${randomBytes(24).toString('base64url')}`, type: 'keyroll_api_key', url: 'https://github.com/forged/forged', source: 'content' }]);
      return {
        method: 'POST',
        body,
        // A made-up key identifier each time: the case that would make a naive verifier fetch GitHub's keys per request.
        headers: { 'content-type': 'application/json', 'github-public-key-identifier': randomBytes(32).toString('hex'), 'github-public-key-signature': randomBytes(70).toString('base64') },
      };
    }
    return { method: 'GET', path: target.path, headers: { 'x-api-key': `kr_${randomBytes(24).toString('base64url')}` } };
  };

  const send = (target, agent) => {
    const request = forged(target);
    const url = new URL(request.path ?? '/', target.url);
    const count = counts[target.name];
    count.sent++;
    open++;
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: request.method, headers: request.headers, agent }, (response) => {
      response.resume();
      response.on('end', () => {
        open--;
        count.byStatus[response.statusCode] = (count.byStatus[response.statusCode] ?? 0) + 1;
      });
    });
    req.on('error', () => {
      open--;
      count.errors++;
    });
    req.end(request.body);
  };

  const started = Date.now();
  const timer = setInterval(() => {
    if (Date.now() - started >= seconds * 1_000) {
      clearInterval(timer);
      const settle = setInterval(() => {
        if (open > 0 && Date.now() - started < (seconds + 10) * 1_000) return;
        clearInterval(settle);
        for (const agent of agents) agent.destroy();
        process.send({ counts, elapsedMs: Date.now() - started }, () => process.exit(0));
      }, 50);
      return;
    }
    // Catches up after a late tick, so the rate holds over each second.
    owed = Math.floor(((Date.now() - started) / 1_000) * ratePerSecond) - sent;
    const burst = Math.max(0, Math.min(owed, perTick * 5));
    for (let i = 0; i < burst; i++, sent++) send(targets[sent % targets.length], agents[sent % agents.length]);
  }, 10);
  process.send({ started: true });
});
