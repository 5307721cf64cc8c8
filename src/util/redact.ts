/**
 * Secrets never reach logs or reports. Every string that leaves the process through a log line,
 * an error message or a report goes through these.
 */
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)([^@\s]+)(@)/gi;
const KEYWORD_PASSWORD =
  /\b(password|pwd|secret|PGPASSWORD|AWS_SECRET_ACCESS_KEY|aws_secret_access_key)(\s*[=:]\s*)("[^"]*"|'[^']*'|\S+)/gi;

const registered = new Set<string>();

/** Registers a secret value (a generated password, a key) so `redact` removes it wherever it appears. */
export function registerSecret(secret: string | undefined): void {
  if (secret && secret.length >= 4) registered.add(secret);
}

/** Removes passwords in URLs, `password=…` pairs and every registered secret from a text. */
export function redact(text: string): string {
  let out = text.replace(URL_PASSWORD, '$1***$3').replace(KEYWORD_PASSWORD, '$1$2***');
  for (const secret of registered) out = out.split(secret).join('***');
  return out;
}

/** A connection URL with its password replaced by `***`, safe to print. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return redact(url);
  }
}
