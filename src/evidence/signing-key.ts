import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import { SUPPORTED_KEYS, unsupportedKeyReason } from './signer-algorithms.ts';

/** An Ed25519 key pair that signs reports; `keyid` names the public key in every signature. */
export type SigningKey = {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly keyid: string;
  /**
   * True for a demo key (made by {@link resolveSigningKey} when no key was configured): reports it signs say
   * "demo key — not evidence" in every view and count for no control.
   */
  readonly demo?: boolean;
  /**
   * What it was loaded from (a path, or PEM content), to hand the same key to child processes as
   * `RESTORE_DRILL_SIGNING_KEY`. May be key material: never log it. Not enumerable, so logging or
   * serialising the key object does not show it.
   */
  readonly source: string;
};

/** The environment variable that holds a signing key's path or its PEM content. */
export const SIGNING_KEY_ENV = 'RESTORE_DRILL_SIGNING_KEY';

/** File names written by {@link generateKeyPair}. */
export const PRIVATE_KEY_FILE = 'signing-key.pem';
export const PUBLIC_KEY_FILE = 'signing-key.pub.pem';

const KEYGEN_HINT = 'run `restore-drill keygen --out DIR` or pass --signing-key PATH';

/**
 * The first line of every demo private key file. PEM readers (OpenSSL, Node) skip text before `-----BEGIN`,
 * so the key still loads anywhere, and wherever the file is copied to it is still recognised as a demo key.
 */
export const DEMO_KEY_HEADER =
  '# restore-drill demo key: not evidence. Reports signed with it prove nothing to an auditor.';

/**
 * Whether this process runs under CI: the `CI` variable that GitHub Actions, GitLab CI, CircleCI, Buildkite,
 * Jenkins (with the plugin) and most others set. `false` and `0` count as not set.
 *
 * @example
 * isCi({ CI: 'true' }); // true
 */
export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env.CI?.trim().toLowerCase();
  return value !== undefined && value !== '' && value !== 'false' && value !== '0';
}

/** What to do when CI has no key: one line naming the variable. */
const CI_KEY_HINT = `set ${SIGNING_KEY_ENV} (a secret holding the PEM from \`restore-drill keygen\`, or kms://…) or pass --signing-key PATH`;

/**
 * The key id of a public key: `sha256:` + hex SHA-256 of its SPKI DER encoding.
 *
 * @example
 * fingerprint(key.publicKey); // 'sha256:3f1c…'
 */
export function fingerprint(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(der).digest('hex')}`;
}

/**
 * Loads an Ed25519 private key from a PEM file path or from PEM content (anything containing `-----BEGIN`).
 * Throws `ConfigError` with a one-line message that never contains key material.
 *
 * @example
 * const key = loadSigningKey('keys/signing-key.pem');
 */
export function loadSigningKey(spec: string): SigningKey {
  return loadSigningKeyFrom(spec);
}

/**
 * Loads a public key that verifies reports from a PEM file: Ed25519 (local keys), or ECDSA P-256/P-384/P-521
 * or RSA (exported from an AWS KMS key by `restore-drill keygen --kms`). A private key PEM is accepted too
 * and its public half used.
 *
 * @example
 * const publicKey = loadPublicKey('keys/signing-key.pub.pem');
 */
export function loadPublicKey(path: string): KeyObject {
  const hint = `pass the ${PUBLIC_KEY_FILE} written by \`restore-drill keygen\``;
  const pem = readKeyFile(path, 'public key', hint);
  let key: KeyObject;
  try {
    key = pem.includes('PRIVATE KEY') ? createPublicKey(createPrivateKey(pem)) : createPublicKey(pem);
  } catch {
    throw new ConfigError(`public key ${path} is not a PEM public key`, hint);
  }
  const unsupported = unsupportedKeyReason(key);
  if (unsupported) {
    throw new ConfigError(`public key ${path} is ${unsupported}; restore-drill verifies ${SUPPORTED_KEYS}`, hint);
  }
  return key;
}

/**
 * Makes an Ed25519 key pair in `outDir`: `signing-key.pem` (mode 0600) and `signing-key.pub.pem`.
 * Refuses to overwrite an existing private key, since reports signed with it could no longer be tied to it.
 *
 * @example
 * const { publicPath, keyid } = generateKeyPair('keys');
 */
export function generateKeyPair(outDir: string): { privatePath: string; publicPath: string; keyid: string } {
  const created = createKeyPairFiles(outDir);
  if (!created) {
    throw new ConfigError(
      `signing key already exists: ${join(outDir, PRIVATE_KEY_FILE)}`,
      'keep using it, or move it away first; restore-drill never overwrites a signing key',
    );
  }
  return created;
}

/**
 * Finds the key a drill signs with: the `--signing-key` flag, else `RESTORE_DRILL_SIGNING_KEY` (a path or PEM
 * content), else a local demo key in `defaultDir`, made on first use (and `log` says where it is).
 * Under CI (`ci`, default {@link isCi}) there is no demo key: without a configured key, or with a demo key,
 * it throws a `ConfigError` (exit 2) naming the variable to set, before any drill starts.
 *
 * @example
 * const key = resolveSigningKey({ flag: opts.signingKey, env: process.env.RESTORE_DRILL_SIGNING_KEY,
 *   defaultDir: '.restore-drill/keys', log: console.error });
 */
export function resolveSigningKey(options: {
  flag?: string;
  env?: string | undefined;
  defaultDir: string;
  log: (line: string) => void;
  ci?: boolean;
}): SigningKey {
  const ci = options.ci ?? isCi();
  const privatePath = join(options.defaultDir, PRIVATE_KEY_FILE);
  const configured = options.flag
    ? loadSigningKeyFrom(options.flag, undefined, privatePath)
    : options.env?.trim()
      ? loadSigningKeyFrom(options.env, SIGNING_KEY_ENV, privatePath)
      : undefined;
  if (configured) {
    const path = options.flag ?? options.env!;
    if (!path.includes('-----BEGIN')) warnIfShared(path, options.log);
    if (ci && configured.demo) {
      throw new ConfigError(
        `the signing key ${options.flag ? 'given with --signing-key' : `in ${SIGNING_KEY_ENV}`} is a restore-drill demo key; under CI reports are never signed with one`,
        CI_KEY_HINT,
      );
    }
    return configured;
  }
  if (ci)
    throw new ConfigError(
      `no signing key: under CI (CI is set) restore-drill signs with your key only and never makes a demo key`,
      CI_KEY_HINT,
    );

  if (existsSync(privatePath)) return loadDemoKey(privatePath);
  const created = createKeyPairFiles(options.defaultDir, DEMO_KEY_HEADER);
  // Another drill created it between our check and our write: use theirs.
  if (!created) return loadDemoKey(privatePath);
  options.log(
    `made a local demo signing key (not evidence: its reports say so): private ${created.privatePath}, public ${created.publicPath}, ` +
      `key id ${created.keyid}; pass --signing-key or set ${SIGNING_KEY_ENV} to sign with your own`,
  );
  return loadDemoKey(privatePath);
}

/** The key in the demo folder is a demo key, also when it was made before demo keys carried their header. */
function loadDemoKey(path: string): SigningKey {
  const key = loadSigningKey(path);
  return key.demo
    ? key
    : Object.defineProperty({ ...key, demo: true }, 'source', { value: key.source, enumerable: false });
}

/** `demoPath`: the demo folder's key file; a path naming it loads as a demo key. */
function loadSigningKeyFrom(spec: string, origin?: string, demoPath?: string): SigningKey {
  const isContent = spec.includes('-----BEGIN');
  const where = isContent ? `in ${origin ?? 'the given PEM content'}` : spec;
  const from = !isContent && origin ? ` (from ${origin})` : '';
  // CI secret stores often flatten newlines to a literal "\n".
  const pem = isContent
    ? spec.includes('\n')
      ? spec
      : spec.replaceAll('\\n', '\n')
    : readKeyFile(spec, 'signing key', KEYGEN_HINT, from);

  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (error) {
    // OpenSSL 3 reports a missing passphrase as "interrupted or cancelled"; the PEM itself says it is encrypted.
    const code = (error as { code?: string }).code;
    if (
      code === 'ERR_MISSING_PASSPHRASE' ||
      code === 'ERR_OSSL_CRYPTO_INTERRUPTED_OR_CANCELLED' ||
      isEncryptedPem(pem)
    ) {
      throw new ConfigError(
        `signing key ${where}${from} is encrypted; restore-drill needs an unencrypted key`,
        KEYGEN_HINT,
      );
    }
    const hint = pem.includes('PUBLIC KEY')
      ? `that is a public key; signing needs the private key (${PRIVATE_KEY_FILE})`
      : KEYGEN_HINT;
    throw new ConfigError(`signing key ${where}${from} is not a PEM private key`, hint);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new ConfigError(
      `signing key ${where}${from} is ${describeKeyType(privateKey)}; restore-drill signs with Ed25519`,
      KEYGEN_HINT,
    );
  }
  const publicKey = createPublicKey(privateKey);
  const demo =
    pem.includes(DEMO_KEY_HEADER) || (!isContent && demoPath !== undefined && resolve(spec) === resolve(demoPath));
  const key = { privateKey, publicKey, keyid: fingerprint(publicKey), demo };
  return Object.defineProperty(key, 'source', { value: spec, enumerable: false }) as SigningKey;
}

/** PKCS#8 `ENCRYPTED PRIVATE KEY`, or a traditional PEM with `Proc-Type: 4,ENCRYPTED`. */
function isEncryptedPem(pem: string): boolean {
  return /-----BEGIN ENCRYPTED PRIVATE KEY-----|^Proc-Type:\s*4,ENCRYPTED/m.test(pem);
}

/**
 * One warning line when a private key file can be read by its group or by others (e.g. mode 0644): anyone
 * who can read it can sign a "passed" report. Only the path and mode are named, never the content.
 */
function warnIfShared(path: string, log: (line: string) => void): void {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch {
    return; // loading it says what is wrong
  }
  if ((mode & 0o077) === 0) return;
  log(
    `warning: signing key ${path} can be read by ${mode & 0o007 ? 'other users' : 'its group'} (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); run chmod 600 on it`,
  );
}

function readKeyFile(path: string, what: string, hint: string, from = ''): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ENOENT') throw new ConfigError(`${what} not found: ${path}${from}`, hint);
    throw new ConfigError(`${what} ${path}${from} is not readable: ${code ?? (error as Error).message}`, hint);
  }
}

/** Writes a new key pair (the private key file starting with `header`, if given), or returns null when `outDir` already holds a private key. */
function createKeyPairFiles(
  outDir: string,
  header?: string,
): { privatePath: string; publicPath: string; keyid: string } | null {
  const privatePath = join(outDir, PRIVATE_KEY_FILE);
  const publicPath = join(outDir, PUBLIC_KEY_FILE);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const privatePem = `${header ? `${header}\n` : ''}${privateKey.export({ type: 'pkcs8', format: 'pem' }) as string}`;
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const temp = join(outDir, `.${PRIVATE_KEY_FILE}.${process.pid}.${randomBytes(4).toString('hex')}`);
  try {
    mkdirSync(outDir, { recursive: true, mode: 0o700 });
    writeFileSync(temp, privatePem, { mode: 0o600, flag: 'wx' });
    // link() fails if the target exists, so a complete key appears at once and is never overwritten.
    try {
      linkSync(temp, privatePath);
    } catch (error) {
      if ((error as { code?: string }).code === 'EEXIST') return null;
      throw error;
    }
    writeFileSync(`${publicPath}.tmp`, publicPem, { mode: 0o644 });
    renameSync(`${publicPath}.tmp`, publicPath);
  } catch (error) {
    const reason = (error as { code?: string }).code ?? (error as Error).message;
    throw new ConfigError(`cannot write a signing key to ${outDir}: ${reason}`, 'choose another directory');
  } finally {
    rmSync(temp, { force: true });
  }
  return { privatePath, publicPath, keyid: fingerprint(publicKey) };
}

function describeKeyType(key: KeyObject): string {
  const names: Record<string, string> = {
    rsa: 'an RSA',
    'rsa-pss': 'an RSA-PSS',
    dsa: 'a DSA',
    ec: 'an EC',
    ed448: 'an Ed448',
    x25519: 'an X25519',
    x448: 'an X448',
    dh: 'a DH',
  };
  const type = key.asymmetricKeyType ?? 'unknown';
  return `${names[type] ?? `a ${type}`} key`;
}
