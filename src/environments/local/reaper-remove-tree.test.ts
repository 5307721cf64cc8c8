import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { removeOwnTree, TreeNotRemovedError, type RemovalStep } from './reaper-remove-tree.ts';

let root: string;
let tree: string;
let outside: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'remove-tree-test-'));
  // What must survive: another user's files, which a planted symlink points at.
  outside = join(root, 'outside');
  mkdirSync(join(outside, 'base'), { recursive: true });
  writeFileSync(join(outside, 'precious'), 'keep me');
  writeFileSync(join(outside, 'base', 'precious'), 'keep me too');
  writeFileSync(join(outside, 'restore-drill.json'), 'a label that is not ours');
  // The tree to remove: a label, a data dir with a nested dir, a socket dir.
  tree = join(root, 'restore-drill-rdtest');
  mkdirSync(join(tree, 'data', 'base'), { recursive: true });
  mkdirSync(join(tree, 'socket'));
  writeFileSync(join(tree, 'restore-drill.json'), '{}');
  writeFileSync(join(tree, 'data', 'precious'), 'ours');
  writeFileSync(join(tree, 'data', 'base', 'precious'), 'ours');
  writeFileSync(join(tree, 'socket', 'lock'), 'ours');
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function outsideIsIntact(): void {
  expect(readdirSync(outside).sort()).toEqual(['base', 'precious', 'restore-drill.json']);
  expect(readFileSync(join(outside, 'precious'), 'utf8')).toBe('keep me');
  expect(readFileSync(join(outside, 'base', 'precious'), 'utf8')).toBe('keep me too');
}

/** Replaces `path` with a symlink to `target`, keeping the original beside it (as an attacker would). */
function swapForSymlink(path: string, target: string): void {
  renameSync(path, `${path}.moved`);
  symlinkSync(target, path);
}

/** Runs `swap` once, the first time removal reaches `step` on `path`. */
function at(step: RemovalStep, path: string, swap: () => void): (s: RemovalStep, p: string) => void {
  let done = false;
  return (s, p) => {
    if (done || s !== step || p !== path) return;
    done = true;
    swap();
  };
}

test('removes a whole tree, the label last', async () => {
  const order: string[] = [];
  await removeOwnTree(tree, {
    last: ['restore-drill.json'],
    onStep: (s, p) => order.push(`${s} ${p.slice(tree.length)}`),
  });
  expect(existsSync(tree)).toBe(false);
  expect(order.filter((o) => o.startsWith('unlink') || o.startsWith('rmdir')).at(-2)).toBe(
    'unlink /restore-drill.json',
  );
  expect(order.at(-1)).toBe('rmdir-top ');
  outsideIsIntact();
});

test('a symlink planted as the tree, a child or the label is removed as a link, never followed', async () => {
  symlinkSync(outside, join(tree, 'data', 'base', 'link-to-outside'));
  rmSync(join(tree, 'socket'), { recursive: true });
  symlinkSync(outside, join(tree, 'socket'));
  rmSync(join(tree, 'restore-drill.json'));
  symlinkSync(join(outside, 'restore-drill.json'), join(tree, 'restore-drill.json'));
  await removeOwnTree(tree, { last: ['restore-drill.json'] });
  expect(existsSync(tree)).toBe(false);
  outsideIsIntact();
  expect(readFileSync(join(outside, 'restore-drill.json'), 'utf8')).toBe('a label that is not ours');

  symlinkSync(outside, tree);
  await expect(removeOwnTree(tree)).rejects.toThrow(/^not removing .*: it is a symlink$/);
  outsideIsIntact();
});

describe('a symlink swapped in at each step never makes anything outside the tree go', () => {
  test('the tree itself, after it was looked at and before it is opened: refused', async () => {
    const error = await removeOwnTree(tree, {
      onStep: at('open-top', tree, () => swapForSymlink(tree, outside)),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TreeNotRemovedError);
    expect((error as Error).message).toMatch(/it became a symlink$/);
    outsideIsIntact();
    expect(readdirSync(`${tree}.moved`).sort()).toEqual(['data', 'restore-drill.json', 'socket']); // nothing removed
  });

  test('the tree itself, after it was opened: what is removed is the opened tree, and the symlink is left', async () => {
    const error = await removeOwnTree(tree, { onStep: at('verify', tree, () => swapForSymlink(tree, outside)) }).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toMatch(/it was replaced while it was being removed$/);
    outsideIsIntact();
    expect(readdirSync(`${tree}.moved`)).toEqual([]); // the tree's contents went (wherever it was moved to)
  });

  test('a child directory, before it is opened: the symlink goes, not its target', async () => {
    await removeOwnTree(tree, {
      onStep: at('open-dir', join(tree, 'data'), () => swapForSymlink(join(tree, 'data'), outside)),
    }).catch(() => {});
    outsideIsIntact();
    expect(existsSync(join(tree, 'data'))).toBe(false);
  });

  test('a parent directory, while its entries are being unlinked: names resolve through the opened directory', async () => {
    const base = join(tree, 'data', 'base');
    await removeOwnTree(tree, {
      onStep: at('unlink', join(base, 'precious'), () => swapForSymlink(base, join(outside, 'base'))),
    }).catch(() => {});
    outsideIsIntact();
    expect(existsSync(join(`${base}.moved`, 'precious'))).toBe(false); // the file in the opened directory went
  });

  test('a child directory, emptied and about to be removed: rmdir does not follow the symlink', async () => {
    const base = join(tree, 'data', 'base');
    const error = await removeOwnTree(tree, { onStep: at('rmdir', base, () => swapForSymlink(base, outside)) }).catch(
      (e: unknown) => e,
    );
    outsideIsIntact();
    // The moved, emptied directory is now out of the tree's reach; the symlink in its place was not removable as a directory.
    expect(error).toBeInstanceOf(TreeNotRemovedError);
  });

  test('the label, before the opened tree is verified: the check reads the label through the open directory', async () => {
    const seen: string[] = [];
    const verify = (dirAt: string) => {
      seen.push(readFileSync(join(dirAt, 'restore-drill.json'), 'utf8'));
      return null;
    };
    await removeOwnTree(tree, {
      verify,
      onStep: at('verify', tree, () => {
        swapForSymlink(tree, outside); // the path now leads to another directory with its own label
      }),
    }).catch(() => {});
    expect(seen).toEqual(['{}']); // the label of the tree that was opened, not the one the path leads to now
    outsideIsIntact();
  });

  test('a verify that refuses leaves everything in place', async () => {
    await expect(removeOwnTree(tree, { verify: () => 'its label is not ours' })).rejects.toThrow(
      /: its label is not ours$/,
    );
    expect(readdirSync(tree).sort()).toEqual(['data', 'restore-drill.json', 'socket']);
  });
});

test.skipIf(process.getuid?.() !== 0)(
  'as root, a directory another account moved into the tree (one it could not delete) is left, and named',
  async () => {
    const { chownSync } = await import('node:fs');
    // data/ belongs to the server's account; data/victim to a third account, whose files the server could not delete.
    const server = 1879048200;
    const victim = 1879048201;
    chownSync(join(tree, 'data'), server, server);
    chownSync(join(tree, 'data', 'base'), server, server);
    mkdirSync(join(tree, 'data', 'victim'));
    writeFileSync(join(tree, 'data', 'victim', 'precious'), "someone else's");
    chownSync(join(tree, 'data', 'victim'), victim, victim);
    await expect(removeOwnTree(tree)).rejects.toThrow(
      /: left .*data\/victim \(owned by uid 1879048201, in a folder of uid 1879048200\)$/,
    );
    expect(readFileSync(join(tree, 'data', 'victim', 'precious'), 'utf8')).toBe("someone else's");
    expect(readdirSync(join(tree, 'data'))).toEqual(['victim']); // the server account's own files went
  },
);
