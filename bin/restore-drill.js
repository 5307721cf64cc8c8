#!/usr/bin/env node
// The CLI is TypeScript; tsx registers a loader so `npx restore-drill` needs no build step.
import { register } from 'tsx/esm/api';

// The AWS SDK warns on every run that its 2027 releases need Node 22; the locked version supports Node 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
