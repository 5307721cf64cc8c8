import { Writable } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import { expect, test } from 'vitest';
import { createProgressDisplay } from './progress.ts';

const collector = (isTTY = false) => {
  let text = '';
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString();
        done();
      },
    }),
    // cli-progress draws only on a terminal: it asks the stream, as it asks process.stderr.
    {
      isTTY,
      columns: 120,
      cursorTo: () => true,
      clearLine: () => true,
      moveCursor: () => true,
      clearScreenDown: () => true,
    },
  );
  return { stream, text: () => stripVTControlCharacters(text) };
};

test('on a terminal: a bar per drill with its phase and tables, log lines above it, the outcome at the end', () => {
  const stdout = collector();
  const stderr = collector(true);
  const display = createProgressDisplay({ stdout: stdout.stream, stderr: stderr.stream, tty: true });
  expect(display.tty).toBe(true);
  display.log('shop', 'provision: password=hunter2 in postgres://u:secret@db/x');
  display.update('shop', { phase: 'restore', done: 3, total: 4 });
  display.finish('shop', 'passed');
  display.print('summary line\n');
  display.stop();
  display.stop(); // twice is safe
  expect(stderr.text()).toMatch(/\[shop\] provision:/);
  expect(stderr.text()).not.toContain('secret');
  expect(stderr.text()).toMatch(/shop\s+█+░+ restore 3\/4 tables/);
  expect(stderr.text()).toMatch(/shop\s+█{24} passed/);
  expect(stdout.text()).toBe('summary line\n');
});

test('elsewhere (CI logs, a pipe): plain `[drill] line` log lines and no bars', () => {
  const stdout = collector();
  const stderr = collector();
  const display = createProgressDisplay({ stdout: stdout.stream, stderr: stderr.stream, tty: false });
  display.log('shop', 'restore: done');
  display.update('shop', { phase: 'restore', done: 4, total: 4 });
  display.stop();
  expect(stderr.text()).toBe('[shop] restore: done\n');
});
