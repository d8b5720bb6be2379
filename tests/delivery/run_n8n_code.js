// Runs an n8n Code-node snippet ("Run Once for All Items") outside n8n on
// one captured webhook request, with the parts of n8n's Code-node API the
// README recipe uses: $input.all(), this.helpers.getBinaryDataBuffer (the
// Webhook node's "Raw Body" binary property), $env and require.
// Usage: node run_n8n_code.js CODE_FILE REQUEST_FILE
//   REQUEST_FILE: {"headers": {...lower-case...}, "body_base64": "...",
//                  "env": {...}}
// Prints the returned items as JSON; exits 1 if the snippet throws.
'use strict';
const fs = require('fs');

const [codeFile, requestFile] = process.argv.slice(2);
const code = fs.readFileSync(codeFile, 'utf8');
const request = JSON.parse(fs.readFileSync(requestFile, 'utf8'));
const raw = Buffer.from(request.body_base64, 'base64');
const items = [{
  json: {headers: request.headers, body: JSON.parse(raw.toString('utf8'))},
  binary: {data: {data: request.body_base64, mimeType: 'application/json'}},
}];
const context = {
  helpers: {
    getBinaryDataBuffer: async (index, property) =>
      Buffer.from(items[index].binary[property].data, 'base64'),
  },
};
const AsyncFunction = Object.getPrototypeOf(async function() {}).constructor;
const snippet = new AsyncFunction('$input', '$env', 'require', code);
snippet.call(context, {all: () => items}, request.env, require)
    .then((out) => process.stdout.write(JSON.stringify(out)))
    .catch((error) => {
      process.stderr.write(String(error && error.stack || error));
      process.exit(1);
    });
