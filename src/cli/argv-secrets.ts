import { SIGNING_KEY_ENV } from '../evidence/signing-key.ts';
import { NOTIFY_ENV } from '../notify/webhook.ts';

/**
 * Secrets given as command-line arguments: every user on the machine (and many CI logs and process monitors)
 * can read a process's arguments for as long as it runs. Each returns one warning line naming the flag and
 * the safe alternative, never the value; null when the value holds no secret.
 */
export const argvSecretWarnings = {
  /** A `postgres://` URL with a password in it. */
  url(flag: string, url: string | undefined): string | null {
    if (!url || !hasPassword(url)) return null;
    return `${flag} holds a password, which the process list shows while the command runs: put the password in PGPASSWORD or ~/.pgpass, or the whole URL in an environment variable and pass --url-env NAME`;
  },
  /** A webhook URL: its path is its token. */
  notify(url: string | undefined): string | null {
    // Anything else is refused as a usage error before it could be sent anywhere.
    if (!url || !/^https?:\/\//i.test(url.trim())) return null;
    return `--notify holds a webhook URL, whose path is its token, and the process list shows it while the command runs: set ${NOTIFY_ENV} instead`;
  },
  /** A private key PEM given as text rather than a path. */
  signingKey(spec: string | undefined): string | null {
    if (!spec?.includes('-----BEGIN')) return null;
    return `--signing-key holds a private key, which the process list shows while the command runs: pass the key file's path, or set ${SIGNING_KEY_ENV} to the PEM`;
  },
};

/**
 * Prints each warning that applies, once, as `restore-drill: warning: …` on stderr.
 *
 * @example
 * warnAboutArgvSecrets([argvSecretWarnings.notify(opts.notify)]);
 */
export function warnAboutArgvSecrets(
  warnings: ReadonlyArray<string | null>,
  write: (line: string) => void = (line) => process.stderr.write(line),
): void {
  for (const warning of new Set(warnings)) if (warning) write(`restore-drill: warning: ${warning}\n`);
}

/** Whether a connection URL carries a password, in its user info or as a `password=` parameter. */
function hasPassword(url: string): boolean {
  try {
    const parsed = new URL(url.trim());
    return parsed.password !== '' || parsed.searchParams.has('password');
  } catch {
    // Unparseable: it may still hold one (`postgres://u:p@h`), which is often why it does not parse.
    return /\/\/[^/@\s]*:[^@\s]*@/.test(url) || /[?&]password=/i.test(url);
  }
}
