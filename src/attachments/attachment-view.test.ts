import { describe, expect, test } from 'vitest';
import { resolveVersionsAt, type VersionEntry } from './attachment-view.ts';
import { fullObjectSha256 } from './object-digests.ts';

const at = new Date('2026-11-24T12:00:00.400Z');
const entry = (key: string, time: string, size?: number, isLatest = false): VersionEntry => ({
  key,
  versionId: `${key}@${time}`,
  lastModified: new Date(time),
  isLatest,
  ...(size === undefined ? {} : { size }),
});

describe('resolveVersionsAt', () => {
  test('an entry in the same second as T counts as before it; a delete marker hides the key', () => {
    const resolver = resolveVersionsAt(at);
    resolver.add([
      entry('a', '2026-11-24T12:00:01Z', 3, true),
      entry('a', '2026-11-24T12:00:00Z', 2),
      entry('b', '2026-11-24T11:00:00Z', 1),
      entry('b', '2026-11-24T11:30:00Z'),
    ]);
    expect(resolver.objects().map((o) => [o.key, o.size])).toEqual([['a', 2]]);
  });

  test('a version and a delete marker in the same second: the latest wins, else the version is kept and named', () => {
    const resolver = resolveVersionsAt(at);
    resolver.add([
      entry('x', '2026-11-24T11:00:00Z', 5),
      entry('x', '2026-11-24T11:00:00Z'),
      entry('y', '2026-11-24T11:00:00Z', 5),
      entry('y', '2026-11-24T11:00:00Z', undefined, true),
    ]);
    expect(resolver.objects().map((o) => o.key)).toEqual(['x']);
    expect(resolver.sameSecond()).toEqual(['x']);
  });

  test('keys are ordered by UTF-8 bytes, as S3 lists them', () => {
    const resolver = resolveVersionsAt(at);
    resolver.add([entry('\u{1F600}', '2026-11-24T11:00:00Z', 1), entry('\uFF5E', '2026-11-24T11:00:00Z', 1)]);
    expect(resolver.objects().map((o) => o.key)).toEqual(['\uFF5E', '\u{1F600}']);
  });
});

describe('fullObjectSha256', () => {
  test('only a full-object SHA-256 counts as a content hash', () => {
    expect(fullObjectSha256('LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=', undefined)).toBe(
      '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824',
    );
    expect(fullObjectSha256('LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=-3', undefined)).toBeUndefined();
    expect(fullObjectSha256('LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=', 'COMPOSITE')).toBeUndefined();
    expect(fullObjectSha256(undefined, undefined)).toBeUndefined();
  });
});
