// tests/node/stub-http: stands in for the npm package named "http" that hyco-ws@1.0.5 lists as
// a dependency (a squatted placeholder, not Node's module). package.json's overrides map it
// here so nothing unknown is installed; it simply re-exports Node's built-in http module.
module.exports = require('node:http');
