#!/usr/bin/env node
// A BatchWriteItem loader written with the AWS SDK for JavaScript v3 (tests/package.json), the
// peer tests/bench/peers.py sets a ddbfs restore against: reads DynamoDB JSON lines
// ({"Item":{...}} or bare items) from the files, in order, and stores them with BatchWriteItem
// requests of 25 items, at most --in-flight requests at once (default 8, as ddbfs's writer),
// retrying UnprocessedItems with a short backoff.
//
// usage: node sdk_load.js --endpoint URL --table T --files F1,F2,... [--in-flight K] [--region R]
// Prints "sdk_load: T: N items stored in S s (W WCU)"; exit status 0, or 1 with the reason.
'use strict';

const fs = require('fs');
const readline = require('readline');
const { DynamoDBClient, BatchWriteItemCommand } = require('@aws-sdk/client-dynamodb');

const args = require('./args')(process.argv.slice(2), ['endpoint', 'table', 'files'],
  { 'in-flight': '8', region: process.env.AWS_REGION || 'us-east-1' });
const inFlightMax = Number(args['in-flight']);
const BATCH = 25;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const client = new DynamoDBClient({ endpoint: args.endpoint, region: args.region });
let stored = 0;
let consumed = 0;
const running = new Set();

async function writeBatch(items) {
  let requests = items.map((Item) => ({ PutRequest: { Item } }));
  for (let attempt = 0; requests.length; attempt++) {
    if (attempt) await sleep(Math.min(1000, 25 * 2 ** attempt));
    const res = await client.send(new BatchWriteItemCommand({
      RequestItems: { [args.table]: requests }, ReturnConsumedCapacity: 'TOTAL',
    }));
    for (const c of res.ConsumedCapacity || []) consumed += c.CapacityUnits || 0;
    const left = (res.UnprocessedItems || {})[args.table] || [];
    stored += requests.length - left.length;
    requests = left;
  }
}

async function submit(items) {
  while (running.size >= inFlightMax) await Promise.race(running);
  const p = writeBatch(items).finally(() => running.delete(p));
  running.add(p);
}

async function main() {
  const t0 = process.hrtime.bigint();
  let batch = [];
  let total = 0;
  for (const file of args.files.split(',')) {
    const rl = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
    for await (const line of rl) {
      if (!line.trim()) continue;
      const v = JSON.parse(line);
      const keys = Object.keys(v);
      batch.push(keys.length === 1 && keys[0] === 'Item' && v.Item.S === undefined ? v.Item : v);
      total++;
      if (batch.length === BATCH) {
        await submit(batch);
        batch = [];
      }
    }
  }
  if (batch.length) await submit(batch);
  await Promise.all(running);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (stored !== total) throw new Error(`${stored} of ${total} items stored`);
  process.stdout.write(`sdk_load: ${args.table}: ${stored} items stored in ${secs.toFixed(2)} s (${consumed} WCU)\n`);
}

main().catch((e) => {
  process.stderr.write(`sdk_load: ${args.table}: ${e.name || 'Error'}: ${e.message}\n`);
  process.exit(1);
});
