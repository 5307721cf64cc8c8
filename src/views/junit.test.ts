import { describe, expect, test } from 'vitest';
import { parseStrictXml, type XmlElement } from '../testing/strict-xml.ts';
import { sampleDrillMeta } from './ci-summary.fixture.ts';
import type { CiRun } from './ci-summary.ts';
import { escapeXml, renderJunit } from './junit.ts';

const nasty = `say "<hi>" & 'bye'`;
const run: CiRun = {
  drills: [
    sampleDrillMeta(),
    sampleDrillMeta({
      name: `orders & <items>`,
      status: 'failed',
      checks: [
        { name: 'restore completed', status: 'passed', expected: true, actual: true },
        {
          name: `checksum ${nasty}`,
          status: 'failed',
          expected: '9f2c',
          actual: '77aa',
          detail: 'range id 1..62 differs\n\u001b[31mred\u001b[0m',
        },
        {
          name: 'drill assertions',
          status: 'skipped',
          expected: null,
          actual: null,
          detail: 'skipped: restore failed',
        },
      ],
    }),
    sampleDrillMeta({
      name: 'broken environment',
      status: 'error',
      error: 'provision: local PostgreSQL did not start: port <5432> busy',
      restoreSeconds: null,
      checks: [
        {
          name: 'restore completed',
          status: 'skipped',
          expected: true,
          actual: null,
          detail: 'skipped: provision failed',
        },
      ],
    }),
    sampleDrillMeta({
      name: 'missing backup',
      status: 'failed',
      error: 'locate: backup path not found: backups/x.dump',
      restoreSeconds: null,
      checks: [
        {
          name: 'restore completed',
          status: 'skipped',
          expected: true,
          actual: null,
          detail: 'skipped: locate failed',
        },
      ],
    }),
  ],
  notRun: [{ name: 'drills/bad.drill.ts', reason: 'could not be loaded: Unexpected "}"' }],
};

const children = (element: XmlElement, name: string) => element.children.filter((c) => c.name === name);
const outcomeOf = (testcase: XmlElement) =>
  testcase.children.find((c) => ['failure', 'error', 'skipped'].includes(c.name));

describe('renderJunit', () => {
  const xml = renderJunit(run);
  const root = parseStrictXml(xml);

  test('is well-formed XML with the testsuites / testsuite / testcase structure CI systems read', () => {
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n')).toBe(true);
    expect(root.name).toBe('testsuites');
    const suites = children(root, 'testsuite');
    expect(suites.map((s) => s.attributes.name)).toEqual([
      'shop restores',
      'orders & <items>',
      'broken environment',
      'missing backup',
      'drills/bad.drill.ts',
    ]);
    for (const suite of suites) {
      const cases = children(suite, 'testcase');
      const count = (kind: string) => cases.filter((c) => outcomeOf(c)?.name === kind).length;
      expect(suite.attributes).toMatchObject({
        tests: String(cases.length),
        failures: String(count('failure')),
        errors: String(count('error')),
        skipped: String(count('skipped')),
      });
      expect(suite.attributes.time).toMatch(/^\d+\.\d{3}$/);
      for (const testcase of cases) {
        expect(testcase.attributes.name).toBeTruthy();
        expect(testcase.attributes.classname).toMatch(/^restore-drill\.[a-z0-9-]+$/);
        expect(Number.isFinite(Number(testcase.attributes.time))).toBe(true);
        expect(testcase.children.length).toBeLessThanOrEqual(1);
      }
    }
    const all = suites.flatMap((s) => children(s, 'testcase'));
    expect(root.attributes).toMatchObject({ tests: String(all.length), failures: '2', errors: '2', skipped: '3' });
    expect(suites[0]!.attributes.timestamp).toBe('2026-11-23T17:52:26');
    expect(suites[0]!.attributes.time).toBe('187.250');
  });

  test('one test case per check: passed is empty, failed carries expected/actual/detail, skipped is <skipped/>', () => {
    const [passed, failed] = children(root, 'testsuite');
    expect(children(passed!, 'testcase').map((c) => [c.attributes.name, c.children.length])).toEqual([
      ['restore completed', 0],
      ['row count public.orders (manifest)', 0],
    ]);
    const [, checksum, assertions] = children(failed!, 'testcase');
    const failure = outcomeOf(checksum!)!;
    expect(checksum!.attributes.name).toBe(`checksum ${nasty}`);
    expect(failure.name).toBe('failure');
    expect(failure.attributes).toEqual({ message: 'expected 9f2c, got 77aa', type: 'check' });
    expect(failure.text).toBe(
      'expected: 9f2c\nactual: 77aa\ndetail: range id 1..62 differs\n[31mred[0m\nreport: reports/20261123T175533Z-shop-restores.report.md',
    );
    expect(outcomeOf(assertions!)).toMatchObject({
      name: 'skipped',
      attributes: { message: 'skipped: restore failed' },
    });
    const properties = children(children(failed!, 'properties')[0]!, 'property');
    expect(properties.find((p) => p.attributes.name === 'report')?.attributes.value).toBe(
      'reports/20261123T175533Z-shop-restores.report.json',
    );
  });

  test('a drill stopped in a phase is a failing test case: <error> for status error, <failure> for failed; a drill that could not run is an <error>', () => {
    const [, , broken, missing, notRun] = children(root, 'testsuite');
    const error = children(broken!, 'testcase').at(-1)!;
    expect(error.attributes.name).toBe('drill provision');
    expect(outcomeOf(error)).toMatchObject({
      name: 'error',
      attributes: { type: 'provision', message: 'local PostgreSQL did not start: port <5432> busy' },
    });
    const failed = children(missing!, 'testcase').at(-1)!;
    expect(failed.attributes.name).toBe('drill locate');
    expect(outcomeOf(failed)).toMatchObject({
      name: 'failure',
      attributes: { type: 'locate', message: 'backup path not found: backups/x.dump' },
    });
    expect(missing!.attributes).toMatchObject({ failures: '1', skipped: '1' });
    const loadError = outcomeOf(children(notRun!, 'testcase')[0]!);
    expect(loadError).toMatchObject({ name: 'error', attributes: { message: 'could not be loaded: Unexpected "}"' } });
  });

  test('special characters are escaped, never written raw', () => {
    expect(xml).toContain('name="checksum say &quot;&lt;hi&gt;&quot; &amp; &apos;bye&apos;"');
    expect(xml).not.toContain('\u001b');
    expect(escapeXml('a\nb', true)).toBe('a&#10;b');
    expect(escapeXml('\u0000x\uD800y', false)).toBe('xy');
  });

  test('a drill its file skipped is a suite with one <skipped/> naming why, never a pass', () => {
    const skipped = parseStrictXml(
      renderJunit({
        drills: [],
        notRun: [],
        skipped: [{ name: 'shop at a moment', reason: 'pgbackrest is not installed' }],
      }),
    );
    expect(skipped.attributes).toMatchObject({ tests: '1', failures: '0', errors: '0', skipped: '1' });
    const testcase = children(children(skipped, 'testsuite')[0]!, 'testcase')[0]!;
    expect(outcomeOf(testcase)).toMatchObject({
      name: 'skipped',
      attributes: { message: 'pgbackrest is not installed' },
    });
  });

  test('an empty run is still a valid document', () => {
    expect(parseStrictXml(renderJunit({ drills: [], notRun: [] })).attributes).toMatchObject({
      tests: '0',
      failures: '0',
    });
  });
});

describe('parseStrictXml (the checker the JUnit tests rely on)', () => {
  test.each([
    ['a raw < in text', '<a>1 < 2</a>'],
    ['a stray &', '<a>this & that</a>'],
    ['an unknown entity', '<a>&nbsp;</a>'],
    ['mismatched tags', '<a><b></a></b>'],
    ['an unquoted attribute', '<a x=1/>'],
    ['a duplicate attribute', '<a x="1" x="2"/>'],
    ['a < in an attribute', '<a x="<"/>'],
    ['a control character', '<a>\u001b[31m</a>'],
    ['two roots', '<a/><b/>'],
    ['an unclosed element', '<a><b/>'],
  ])('rejects %s', (_why, xml) => {
    expect(() => parseStrictXml(xml)).toThrow(/not well-formed XML/);
  });
});
