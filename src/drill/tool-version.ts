import { readFileSync } from 'node:fs';

/** restore-drill's own version, recorded in every report. */
export const TOOL_VERSION: string = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;
