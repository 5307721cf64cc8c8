import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import {
  DEMO_KEY_HEADER,
  fingerprint,
  generateKeyPair,
  isCi,
  loadPublicKey,
  loadSigningKey,
  resolveSigningKey,
  type SigningKey,
} from './signing-key.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'restore-drill-key-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs `fn` and returns the ConfigError it throws (failing the test if it throws nothing else). */
function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

function signsAndVerifies(key: SigningKey): boolean {
  const data = Buffer.from('report');
  return verify(null, data, key.publicKey, sign(null, data, key.privateKey));
}

describe('generateKeyPair', () => {
  it('writes a usable Ed25519 pair, the private key readable by the owner only', async () => {
    const { privatePath, publicPath, keyid } = generateKeyPair(join(dir, 'keys'));
    expect((await stat(privatePath)).mode & 0o777).toBe(0o600);
    const key = loadSigningKey(privatePath);
    expect(key.keyid).toBe(keyid);
    expect(fingerprint(loadPublicKey(publicPath))).toBe(keyid);
    expect(signsAndVerifies(key)).toBe(true);
  });

  it('refuses to overwrite an existing private key', async () => {
    const first = generateKeyPair(dir);
    const before = await readFile(first.privatePath, 'utf8');
    const error = configErrorOf(() => generateKeyPair(dir));
    expect(error.message).toBe(`signing key already exists: ${first.privatePath}`);
    expect(error.exitCode).toBe(2);
    expect(await readFile(first.privatePath, 'utf8')).toBe(before);
    expect(fingerprint(loadPublicKey(first.publicPath))).toBe(first.keyid);
  });
});

describe('loadSigningKey', () => {
  it('loads the same key from a path and from PEM content', async () => {
    const { privatePath, keyid } = generateKeyPair(dir);
    const pem = await readFile(privatePath, 'utf8');
    expect(loadSigningKey(privatePath).keyid).toBe(keyid);
    expect(loadSigningKey(pem).keyid).toBe(keyid);
    // As stored by CI secret stores that flatten newlines.
    expect(loadSigningKey(pem.replaceAll('\n', '\\n')).keyid).toBe(keyid);
  });

  it('remembers where the key came from without showing it when logged', async () => {
    const { privatePath } = generateKeyPair(dir);
    const pem = await readFile(privatePath, 'utf8');
    expect(loadSigningKey(privatePath).source).toBe(privatePath);
    const fromContent = loadSigningKey(pem);
    expect(fromContent.source).toBe(pem);
    expect(Object.keys(fromContent)).toEqual(['privateKey', 'publicKey', 'keyid', 'demo']);
    expect(JSON.stringify(fromContent)).not.toContain('PRIVATE KEY');
  });

  it('says a missing file is missing and how to make one', () => {
    const path = join(dir, 'nope.pem');
    const error = configErrorOf(() => loadSigningKey(path));
    expect(error.message).toBe(`signing key not found: ${path}`);
    expect(error.hint).toBe('run `restore-drill keygen --out DIR` or pass --signing-key PATH');
    expect(error.exitCode).toBe(2);
  });

  it('says an unreadable path is unreadable', () => {
    const error = configErrorOf(() => loadSigningKey(dir));
    expect(error.message).toBe(`signing key ${dir} is not readable: EISDIR`);
  });

  it('rejects an RSA key without echoing it', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const path = join(dir, 'rsa.pem');
    await writeFile(path, pem);
    const error = configErrorOf(() => loadSigningKey(path));
    expect(error.message).toBe(`signing key ${path} is an RSA key; restore-drill signs with Ed25519`);
    expect(error.hint).toContain('restore-drill keygen');
    expect(error.exitCode).toBe(2);

    const fromContent = configErrorOf(() => loadSigningKey(pem));
    expect(fromContent.message).toBe(
      'signing key in the given PEM content is an RSA key; restore-drill signs with Ed25519',
    );
    expect(fromContent.message).not.toContain('BEGIN');
  });

  it('rejects garbage PEM and a public key, one line each, no key material', async () => {
    const path = join(dir, 'garbage.pem');
    await copyFile(fileURLToPath(new URL('../../fixtures/keys/broken-private-key.pem', import.meta.url)), path);
    const garbage = configErrorOf(() => loadSigningKey(path));
    expect(garbage.message).toBe(`signing key ${path} is not a PEM private key`);
    expect(garbage.message).not.toContain('c2VjcmV0');

    const { publicPath } = generateKeyPair(join(dir, 'keys'));
    const publicOnly = configErrorOf(() => loadSigningKey(publicPath));
    expect(publicOnly.message).toBe(`signing key ${publicPath} is not a PEM private key`);
    expect(publicOnly.hint).toContain('public key');
    for (const error of [garbage, publicOnly]) expect(error.message).not.toContain('\n');
  });
});

describe('an encrypted or shared private key', () => {
  it('says an encrypted key is encrypted (PKCS#8 and traditional PEM, file and content), never "not a PEM"', async () => {
    const ed = generateKeyPairSync('ed25519').privateKey.export({
      type: 'pkcs8',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: 'hunter2',
    }) as string;
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      type: 'pkcs1',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: 'hunter2',
    }) as string;
    for (const [name, pem] of [
      ['ed25519.pem', ed],
      ['rsa.pem', rsa],
    ] as const) {
      const path = join(dir, name);
      await writeFile(path, pem, { mode: 0o600 });
      const fromFile = configErrorOf(() => loadSigningKey(path));
      expect(fromFile.message).toBe(`signing key ${path} is encrypted; restore-drill needs an unencrypted key`);
      const fromContent = configErrorOf(() => loadSigningKey(pem));
      expect(fromContent.message).toBe(
        'signing key in the given PEM content is encrypted; restore-drill needs an unencrypted key',
      );
    }
  });

  it('warns once, naming the path and mode but no key material, when the group or others can read the key file', async () => {
    const { privatePath } = generateKeyPair(join(dir, 'keys'));
    const lines: string[] = [];
    const log = (line: string) => lines.push(line);
    resolveSigningKey({ flag: privatePath, defaultDir: dir, log });
    expect(lines).toEqual([]); // 0600 as keygen writes it
    await chmod(privatePath, 0o644);
    resolveSigningKey({ flag: privatePath, defaultDir: dir, log });
    await chmod(privatePath, 0o640);
    resolveSigningKey({ flag: undefined, env: privatePath, defaultDir: dir, log });
    expect(lines).toEqual([
      `warning: signing key ${privatePath} can be read by other users (mode 0644); run chmod 600 on it`,
      `warning: signing key ${privatePath} can be read by its group (mode 0640); run chmod 600 on it`,
    ]);
    expect(lines.join('')).not.toContain('PRIVATE');
  });
});

describe('loadPublicKey', () => {
  it('accepts a private key PEM and derives its public key', () => {
    const { privatePath, keyid } = generateKeyPair(dir);
    expect(fingerprint(loadPublicKey(privatePath))).toBe(keyid);
  });

  it('reports missing files, non-keys and wrong key types as ConfigError', async () => {
    const missing = join(dir, 'missing.pub.pem');
    expect(configErrorOf(() => loadPublicKey(missing)).message).toBe(`public key not found: ${missing}`);

    const notKey = join(dir, 'notes.txt');
    await writeFile(notKey, 'hello');
    expect(configErrorOf(() => loadPublicKey(notKey)).message).toBe(`public key ${notKey} is not a PEM public key`);

    const ec = join(dir, 'ec.pub.pem');
    const ecKey = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey;
    await writeFile(ec, ecKey.export({ type: 'spki', format: 'pem' }));
    expect(configErrorOf(() => loadPublicKey(ec)).message).toBe(
      `public key ${ec} is an EC key on secp256k1; restore-drill verifies Ed25519, ECDSA P-256/P-384/P-521 or RSA ≥ 2048 bits`,
    );
  });
});

describe('resolveSigningKey', () => {
  it('prefers the flag over the environment variable', () => {
    const flagKey = generateKeyPair(join(dir, 'flag'));
    const envKey = generateKeyPair(join(dir, 'env'));
    const lines: string[] = [];
    const key = resolveSigningKey({
      flag: flagKey.privatePath,
      env: envKey.privatePath,
      defaultDir: join(dir, 'default'),
      log: (line) => lines.push(line),
    });
    expect(key.keyid).toBe(flagKey.keyid);
    expect(lines).toEqual([]);
  });

  it('takes the environment variable as a path or as PEM content', async () => {
    const envKey = generateKeyPair(join(dir, 'env'));
    const pem = await readFile(envKey.privatePath, 'utf8');
    const options = { defaultDir: join(dir, 'default'), log: () => {} };
    expect(resolveSigningKey({ ...options, env: envKey.privatePath }).keyid).toBe(envKey.keyid);
    expect(resolveSigningKey({ ...options, env: pem }).keyid).toBe(envKey.keyid);
  });

  it('names the environment variable when its path is wrong', () => {
    const path = join(dir, 'gone.pem');
    const error = configErrorOf(() => resolveSigningKey({ env: path, defaultDir: dir, log: () => {} }));
    expect(error.message).toBe(`signing key not found: ${path} (from RESTORE_DRILL_SIGNING_KEY)`);
  });

  it('makes a demo key pair on first use, says where, and reuses it afterwards', async () => {
    const defaultDir = join(dir, '.restore-drill', 'keys');
    const lines: string[] = [];
    const first = resolveSigningKey({ env: '', defaultDir, log: (line) => lines.push(line) });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(join(defaultDir, 'signing-key.pem'));
    expect(lines[0]).toContain(join(defaultDir, 'signing-key.pub.pem'));
    expect(lines[0]).toContain('demo');
    expect((await stat(join(defaultDir, 'signing-key.pem'))).mode & 0o777).toBe(0o600);

    const second = resolveSigningKey({ env: undefined, defaultDir, log: (line) => lines.push(line) });
    expect(second.keyid).toBe(first.keyid);
    expect(second.source).toBe(join(defaultDir, 'signing-key.pem'));
    expect(lines).toHaveLength(1);
  });

  it('uses a key already in the default directory without logging', async () => {
    const defaultDir = join(dir, 'keys');
    await mkdir(defaultDir);
    const existing = generateKeyPair(defaultDir);
    const lines: string[] = [];
    expect(resolveSigningKey({ defaultDir, log: (line) => lines.push(line) }).keyid).toBe(existing.keyid);
    expect(lines).toEqual([]);
  });

  it('marks the demo key it makes, wherever its file is later loaded from, and a configured key not', async () => {
    const defaultDir = join(dir, 'demo-marks', 'keys');
    const demo = resolveSigningKey({ defaultDir, log: () => {}, ci: false });
    expect(demo.demo).toBe(true);
    const pem = await readFile(join(defaultDir, 'signing-key.pem'), 'utf8');
    expect(pem.split('\n')[0]).toBe(DEMO_KEY_HEADER);
    // Copied elsewhere, or passed as content, it is still a demo key.
    expect(resolveSigningKey({ env: pem, defaultDir: join(dir, 'other'), log: () => {}, ci: false }).demo).toBe(true);
    expect(loadSigningKey(join(defaultDir, 'signing-key.pem')).demo).toBe(true);
    const own = generateKeyPair(join(dir, 'demo-marks', 'own'));
    expect(resolveSigningKey({ flag: own.privatePath, defaultDir, log: () => {}, ci: false }).demo).toBe(false);
  });

  it('counts a key in the demo folder made before demo keys had their header as a demo key', () => {
    const defaultDir = join(dir, 'old-demo', 'keys');
    generateKeyPair(defaultDir);
    expect(resolveSigningKey({ defaultDir, log: () => {}, ci: false }).demo).toBe(true);
    expect(
      resolveSigningKey({ env: join(defaultDir, 'signing-key.pem'), defaultDir, log: () => {}, ci: false }).demo,
    ).toBe(true);
  });

  it('under CI makes no demo key: a usage error naming the variable, and nothing written', () => {
    const defaultDir = join(dir, 'ci', 'keys');
    const error = configErrorOf(() => resolveSigningKey({ env: ' ', defaultDir, log: () => {}, ci: true }));
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe(
      'no signing key: under CI (CI is set) restore-drill signs with your key only and never makes a demo key',
    );
    expect(error.hint).toContain('set RESTORE_DRILL_SIGNING_KEY');
    expect(existsSync(defaultDir)).toBe(false);
  });

  it('under CI refuses a demo key given as the key, and accepts a real one', async () => {
    const demoDir = join(dir, 'ci-demo', 'keys');
    resolveSigningKey({ defaultDir: demoDir, log: () => {}, ci: false });
    const pem = await readFile(join(demoDir, 'signing-key.pem'), 'utf8');
    const error = configErrorOf(() =>
      resolveSigningKey({ env: pem, defaultDir: join(dir, 'x'), log: () => {}, ci: true }),
    );
    expect(error.message).toBe(
      'the signing key in RESTORE_DRILL_SIGNING_KEY is a restore-drill demo key; under CI reports are never signed with one',
    );
    const own = generateKeyPair(join(dir, 'ci-demo', 'own'));
    expect(resolveSigningKey({ env: own.privatePath, defaultDir: join(dir, 'x'), log: () => {}, ci: true }).keyid).toBe(
      own.keyid,
    );
  });

  it('reads CI from the CI variable: set and not false or 0', () => {
    expect(isCi({ CI: 'true' })).toBe(true);
    expect(isCi({ CI: '1' })).toBe(true);
    expect(isCi({ CI: 'false' })).toBe(false);
    expect(isCi({ CI: '' })).toBe(false);
    expect(isCi({})).toBe(false);
  });
});
