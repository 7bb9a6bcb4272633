// Parses "--name value" pairs for the benchmark scripts; exits 2 with a usage line when a required
// name is missing or an argument is not of that form.
'use strict';

module.exports = function parseArgs(argv, required, defaults) {
  const out = Object.assign({}, defaults);
  const me = require('path').basename(process.argv[1]);
  const usage = () => {
    process.stderr.write(`usage: ${me} ${required.map((r) => `--${r} V`).join(' ')}` +
      ` [${Object.keys(defaults).map((d) => `--${d} V`).join(' ')}]\n`);
    process.exit(2);
  };
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || i + 1 >= argv.length) usage();
    out[argv[i].slice(2)] = argv[i + 1];
  }
  for (const r of required) if (out[r] === undefined) usage();
  return out;
};
