#!/usr/bin/env node
// The CLI is TypeScript. `npm install` bundles it into plain JavaScript (scripts/build-cli.ts), which starts
// in half the time; without a bundle, or once a source has changed since it was built, tsx registers a
// loader and the sources run as they are, so no build step is ever needed.
import { loadCli } from './cli-bundle.js';

// The AWS SDK warns on every run that its 2027 releases need Node 22; the locked version supports Node 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const main = await loadCli();
process.exitCode = await main(process.argv.slice(2));
