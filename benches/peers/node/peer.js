#!/usr/bin/env node
// The "just write it" Node peer of benches/run.sh: what a team would write instead of the
// bridge. Same job as the bridge's memory mode: check the SdkAppid, parse the JSON body, build
// a small event, produce it to the family's topic keyed by the room or group, answer Tencent's
// OK at once (the send is not awaited before answering). Plain code on purpose: fastify and
// kafkajs with their defaults, one process. kafkajs's idempotent producer does not work against
// tansu 0.6, so idempotence is off; acks -1 (all in-sync replicas); no compression (kafkajs has
// no lz4 without a plugin).
//
//   node peer.js --port 8080 --brokers 127.0.0.1:9092 --prefix tencent. --sdk-app-id 1400000000
//   (or PEER_PORT, PEER_BROKERS, PEER_TOPIC_PREFIX, PEER_SDK_APP_ID)
'use strict';
const { parseArgs } = require('node:util');
const Fastify = require('fastify');
const { Kafka, logLevel } = require('kafkajs');

const env = process.env;
const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: env.PEER_PORT || '8080' },
    brokers: { type: 'string', default: env.PEER_BROKERS || '127.0.0.1:9092' },
    prefix: { type: 'string', default: env.PEER_TOPIC_PREFIX || 'tencent.' },
    'sdk-app-id': { type: 'string', default: env.PEER_SDK_APP_ID || '1400000000' },
  },
});
const FAMILIES = {
  'Live.CallbackAfterMemberStateChanged': 'live.member',
  'Group.CallbackOnMemberStateChange': 'group.member',
  'Room.CallbackAfterMemberEnter': 'room.member',
};
const OK = '{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}';
const fail = (reply, status, code, info) =>
  reply.code(status).send({ ActionStatus: 'FAIL', ErrorInfo: info, ErrorCode: code });

const kafka = new Kafka({ clientId: 'peer-node', brokers: args.brokers.split(','), logLevel: logLevel.WARN });
const producer = kafka.producer({ idempotent: false, allowAutoTopicCreation: false });
const pending = new Set();

const app = Fastify({ logger: false });
app.setErrorHandler((err, _request, reply) => fail(reply, err.statusCode || 500, 4000, err.message));

app.post('/callback', (request, reply) => {
  const query = request.query;
  if (query.SdkAppid !== args['sdk-app-id']) return fail(reply, 403, 4031, 'SdkAppid: not accepted');
  const body = request.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return fail(reply, 400, 4002, 'body: not an object');
  }
  const command = query.CallbackCommand || body.CallbackCommand || '';
  const room = body.RoomId || body.GroupId || '';
  const members = (body.MemberList || []).map((m) => m && m.Member_Account).concat(body.MemberList_Account || []);
  const event = {
    command,
    sdk_app_id: args['sdk-app-id'],
    room,
    members,
    type: body.EventType || body.Type,
    event_time: body.EventTime,
    received_ms: Date.now(),
  };
  const sent = producer
    .send({ topic: args.prefix + (FAMILIES[command] || 'other'), acks: -1, messages: [{ key: room, value: JSON.stringify(event) }] })
    .catch((err) => console.error(`delivery failed: ${err.message}`))
    .finally(() => pending.delete(sent));
  pending.add(sent);
  reply.type('application/json').send(OK);
});

async function shutdown() {
  await app.close();
  await Promise.allSettled([...pending]);
  await producer.disconnect();
  process.exit(0);
}

async function main() {
  await producer.connect();
  await app.listen({ host: '127.0.0.1', port: Number(args.port) });
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
