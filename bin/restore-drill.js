#!/usr/bin/env node
// The CLI is TypeScript; tsx registers a loader so `npx restore-drill` needs no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
