#!/usr/bin/env node
// The `fti` command: runs the compiled CLI (npm run build writes dist/).
require('../dist/cli/main.js').main();
