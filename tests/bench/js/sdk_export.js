#!/usr/bin/env node
// A parallel-scan exporter written with the AWS SDK for JavaScript v3 (tests/package.json), the
// peer tests/bench/peers.py sets ddbfs against: one Scan loop per segment, all at once, each
// writing its items as DynamoDB JSON lines ({"Item":{...}}, as ddbfs exports them) to
// OUT/segment-I.
//
// usage: node sdk_export.js --endpoint URL --table T --segments N --out DIR [--region R]
// Credentials from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).
// Prints "sdk_export: T: N items in P pages in S s"; exit status 0, or 1 with the reason.
'use strict';

const fs = require('fs');
const path = require('path');
const { once } = require('events');
const { DynamoDBClient, ScanCommand } = require('@aws-sdk/client-dynamodb');

const args = require('./args')(process.argv.slice(2), ['endpoint', 'table', 'segments', 'out'],
  { region: process.env.AWS_REGION || 'us-east-1' });
const segments = Number(args.segments);

async function scanSegment(client, segment) {
  const out = fs.createWriteStream(path.join(args.out, `segment-${String(segment).padStart(4, '0')}`));
  let key;
  let items = 0;
  let pages = 0;
  do {
    const page = await client.send(new ScanCommand({
      TableName: args.table, Segment: segment, TotalSegments: segments, ExclusiveStartKey: key,
    }));
    pages++;
    let chunk = '';
    for (const item of page.Items || []) chunk += JSON.stringify({ Item: item }) + '\n';
    items += (page.Items || []).length;
    if (!out.write(chunk)) await once(out, 'drain');
    key = page.LastEvaluatedKey;
  } while (key);
  out.end();
  await once(out, 'finish');
  return { items, pages };
}

async function main() {
  // The SDK's default handler keeps connections alive, up to 50 per host.
  const client = new DynamoDBClient({ endpoint: args.endpoint, region: args.region });
  const t0 = process.hrtime.bigint();
  const all = [];
  for (let s = 0; s < segments; s++) all.push(scanSegment(client, s));
  const done = await Promise.all(all);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const items = done.reduce((n, d) => n + d.items, 0);
  const pages = done.reduce((n, d) => n + d.pages, 0);
  process.stdout.write(`sdk_export: ${args.table}: ${items} items in ${pages} pages in ${secs.toFixed(2)} s\n`);
}

main().catch((e) => {
  process.stderr.write(`sdk_export: ${args.table}: ${e.name || 'Error'}: ${e.message}\n`);
  process.exit(1);
});
