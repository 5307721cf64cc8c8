// Imported rather than read at run time, so the bundled CLI (scripts/build-cli.ts) carries it wherever it lives.
import packageJson from '../../package.json' with { type: 'json' };

/** restore-drill's own version, recorded in every report. */
export const TOOL_VERSION: string = packageJson.version;
