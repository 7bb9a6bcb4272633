#!/usr/bin/env node
// Starts dynalite (the pinned copy in tests/node_modules) on 127.0.0.1 and a free port, writes the
// port to PORT_FILE (atomically: tmp file + rename) and serves until SIGTERM or SIGINT.
//
// usage: node dynalite-server.js PORT_FILE [--path DIR] [--create-table-ms MS] [--watch-pid PID]
//                                [--port N]
//   --path DIR            keep the tables in a LevelDB store under DIR (default: in memory)
//   --create-table-ms MS  how long CreateTable/DeleteTable/UpdateTable stay in their transient
//                         state (default 50; dynalite's own default is 500)
//   --watch-pid PID       exit when process PID is gone (so a killed wrapper leaves nothing behind)
//   --port N              listen on port N instead of a free one (to restart a server in place)
//
// Exit status: 0 after a clean stop, 1 on a start-up error (the reason goes to stderr).
'use strict';

const fs = require('fs');
const path = require('path');

const NODE_MODULES = path.join(__dirname, '..', 'node_modules');
const STOP_GRACE_MS = 3000;

function die(msg) {
  process.stderr.write(`dynalite-server: ${msg}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const opts = { portFile: null, path: null, createTableMs: 50, watchPid: 0, port: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) die(`${a} needs a value`);
      return argv[++i];
    };
    const number = () => {
      const v = value();
      if (!/^[0-9]+$/.test(v)) die(`${a} needs a non-negative integer, not '${v}'`);
      return Number(v);
    };
    if (a === '--path') opts.path = value();
    else if (a === '--create-table-ms') opts.createTableMs = number();
    else if (a === '--watch-pid') opts.watchPid = number();
    else if (a === '--port') opts.port = number();
    else if (a.startsWith('-')) die(`unknown option ${a}`);
    else if (opts.portFile === null) opts.portFile = a;
    else die(`unexpected argument ${a}`);
  }
  if (opts.portFile === null)
    die('usage: dynalite-server.js PORT_FILE [--path DIR] [--create-table-ms MS] [--watch-pid PID]');
  return opts;
}

function writeAtomically(file, text) {
  const tmp = `${file}.tmp.${process.pid}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

function main() {
  const opts = parseArgs(process.argv.slice(2));

  let dynalite;
  try {
    dynalite = require(path.join(NODE_MODULES, 'dynalite'));
  } catch (err) {
    die(`cannot load dynalite from ${NODE_MODULES} (run contrib/install-deps.sh): ${err.message}`);
  }

  const options = {
    createTableMs: opts.createTableMs,
    deleteTableMs: opts.createTableMs,
    updateTableMs: opts.createTableMs,
  };
  if (opts.path !== null) {
    try {
      fs.mkdirSync(opts.path, { recursive: true });
    } catch (err) {
      die(`cannot create ${opts.path}: ${err.message}`);
    }
    options.path = opts.path;
  }

  const server = dynalite(options);
  let stopping = false;

  function stop(status) {
    if (stopping) return;
    stopping = true;
    // Never hang: if closing the store takes too long, leave anyway.
    setTimeout(() => process.exit(status), STOP_GRACE_MS).unref();
    server.close(() => process.exit(status));
    if (typeof server.closeAllConnections === 'function') server.closeAllConnections();
  }

  server.on('error', (err) => die(`cannot listen on 127.0.0.1: ${err.message}`));
  server.listen(opts.port, '127.0.0.1', () => {
    const port = server.address().port;
    try {
      writeAtomically(opts.portFile, `${port}\n`);
    } catch (err) {
      process.stderr.write(`dynalite-server: cannot write ${opts.portFile}: ${err.message}\n`);
      stop(1);
    }
  });

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
}

main();
