#!/usr/bin/env node
// Starts s3rver (the pinned copy in tests/node_modules) on 127.0.0.1 and a free port, storing
// buckets under DIR, writes the port to PORT_FILE (atomically: tmp file + rename) and serves until
// SIGTERM or SIGINT. S3 is path-style only; the credentials are S3RVER / S3RVER.
//
// usage: node s3rver-server.js PORT_FILE --directory DIR [--watch-pid PID] [--verbose]
//   --directory DIR  where s3rver keeps buckets and objects (required)
//   --watch-pid PID  exit when process PID is gone (so a killed wrapper leaves nothing behind)
//   --verbose        log every request to stdout
//
// Exit status: 0 after a clean stop, 1 on a start-up error (the reason goes to stderr).
'use strict';

const fs = require('fs');
const path = require('path');

const NODE_MODULES = path.join(__dirname, '..', 'node_modules');
const STOP_GRACE_MS = 3000;

function die(msg) {
  process.stderr.write(`s3rver-server: ${msg}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const opts = { portFile: null, directory: null, watchPid: 0, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) die(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--directory') opts.directory = value();
    else if (a === '--verbose') opts.verbose = true;
    else if (a === '--watch-pid') {
      const v = value();
      if (!/^[0-9]+$/.test(v)) die(`${a} needs a pid, not '${v}'`);
      opts.watchPid = Number(v);
    } else if (a.startsWith('-')) die(`unknown option ${a}`);
    else if (opts.portFile === null) opts.portFile = a;
    else die(`unexpected argument ${a}`);
  }
  if (opts.portFile === null || opts.directory === null)
    die('usage: s3rver-server.js PORT_FILE --directory DIR [--watch-pid PID] [--verbose]');
  return opts;
}

function writeAtomically(file, text) {
  const tmp = `${file}.tmp.${process.pid}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));

  let S3rver;
  try {
    S3rver = require(path.join(NODE_MODULES, 's3rver'));
  } catch (err) {
    die(`cannot load s3rver from ${NODE_MODULES} (run contrib/install-deps.sh): ${err.message}`);
  }
  try {
    fs.mkdirSync(opts.directory, { recursive: true });
  } catch (err) {
    die(`cannot create ${opts.directory}: ${err.message}`);
  }

  const s3rver = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory: opts.directory,
    silent: !opts.verbose,
    vhostBuckets: false,
  });

  let stopping = false;
  function stop(status) {
    if (stopping) return;
    stopping = true;
    // Never hang: if open connections keep the server from closing, leave anyway.
    setTimeout(() => process.exit(status), STOP_GRACE_MS).unref();
    if (!s3rver.httpServer) process.exit(status);
    s3rver.close(() => process.exit(status));
    if (typeof s3rver.httpServer.closeAllConnections === 'function')
      s3rver.httpServer.closeAllConnections();
  }
  process.on('SIGTERM', () => stop(0));
  process.on('SIGINT', () => stop(0));

  if (opts.watchPid > 0) {
    setInterval(() => {
      try {
        process.kill(opts.watchPid, 0);
      } catch (err) {
        if (err.code === 'ESRCH') stop(0);
      }
    }, 1000).unref();
  }

  let address;
  try {
    address = await s3rver.run();
  } catch (err) {
    die(`cannot start: ${err.message}`);
  }
  try {
    writeAtomically(opts.portFile, `${address.port}\n`);
  } catch (err) {
    process.stderr.write(`s3rver-server: cannot write ${opts.portFile}: ${err.message}\n`);
    stop(1);
  }
}

main().catch((err) => die(err.stack || String(err)));
