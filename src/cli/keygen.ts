import type { Command } from 'commander';
import { generateKeyPair } from '../evidence/signing-key.ts';
import { EXIT } from './exit-codes.ts';

/**
 * `restore-drill keygen --out DIR`: makes the Ed25519 key pair reports are signed with.
 * `restore-drill keygen --kms kms://KEY --out DIR`: exports the public key of an AWS KMS signing key instead
 * (its private key never leaves KMS), for `restore-drill verify --key`.
 */
export function registerKeygenCommand(program: Command, setExit: (code: number) => void): Command {
  return program
    .command('keygen')
    .description('make an Ed25519 signing key pair, or export the public key of an AWS KMS signing key (--kms)')
    .requiredOption('--out <dir>', 'folder to write signing-key.pem (private, mode 0600) and signing-key.pub.pem into')
    .option('--kms <key>', 'write only the public key of this AWS KMS key (kms://<key id | alias/name | ARN>) to DIR')
    .action(async (opts: { out: string; kms?: string }) => {
      if (opts.kms) {
        const { exportKmsPublicKey } = await import('../evidence/kms-signer.ts');
        const key = await exportKmsPublicKey(opts.kms, opts.out);
        process.stdout.write(
          `public key:  ${key.publicPath} of KMS key ${key.arn} (${key.keySpec}, signs with ${key.kmsAlgorithm})\n` +
            `key id:      ${key.keyid}\n` +
            `sign with:   --signing-key kms://${key.ref.keyId} (or RESTORE_DRILL_SIGNING_KEY); verify with: restore-drill verify REPORT --key ${key.publicPath}\n`,
        );
        setExit(EXIT.ok);
        return;
      }
      const { privatePath, publicPath, keyid } = generateKeyPair(opts.out);
      process.stdout.write(
        `private key: ${privatePath} (keep it secret: pass it with --signing-key or RESTORE_DRILL_SIGNING_KEY)\n` +
          `public key:  ${publicPath} (give it to auditors: restore-drill verify REPORT --key ${publicPath})\n` +
          `key id:      ${keyid}\n`,
      );
      setExit(EXIT.ok);
    });
}
