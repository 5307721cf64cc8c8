import type { Command } from 'commander';
import { generateKeyPair } from '../report/signing-key.ts';
import { EXIT } from './main.ts';

/** `restore-drill keygen --out DIR`: makes the Ed25519 key pair reports are signed with. */
export function registerKeygenCommand(program: Command, setExit: (code: number) => void): Command {
  return program
    .command('keygen')
    .description('make an Ed25519 signing key pair')
    .requiredOption('--out <dir>', 'folder to write signing-key.pem (private, mode 0600) and signing-key.pub.pem into')
    .action((opts: { out: string }) => {
      const { privatePath, publicPath, keyid } = generateKeyPair(opts.out);
      process.stdout.write(
        `private key: ${privatePath} (keep it secret: pass it with --signing-key or RESTORE_DRILL_SIGNING_KEY)\n` +
          `public key:  ${publicPath} (give it to auditors: restore-drill verify REPORT --key ${publicPath})\n` +
          `key id:      ${keyid}\n`,
      );
      setExit(EXIT.ok);
    });
}
