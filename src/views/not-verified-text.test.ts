import { expect, test } from 'vitest';
import { NOT_VERIFIED_UNKNOWN, summarizeNotVerified } from './not-verified-text.ts';
import type { NotVerified } from '../model/report.ts';

const table = (name: string, reason: NotVerified['reason']): NotVerified => ({
  kind: 'table',
  name,
  reason,
  detail: 'why',
});

test('one line per reason, tables counted and named, long lists cut short', () => {
  const items = [
    ...Array.from({ length: 10 }, (_, i) => table(`public.t${i}`, 'no-marker')),
    table('public.customers', 'count-only'),
    { kind: 'objects', name: 'functions, views', reason: 'not-fingerprinted', detail: 'why' } as const,
  ];
  expect(summarizeNotVerified(items)).toEqual([
    'tables without a marker (10): public.t0, public.t1, public.t2, public.t3, public.t4, public.t5, public.t6, public.t7, and 2 more',
    'tables compared by row count only (1): public.customers',
    'objects not fingerprinted: functions, views',
  ]);
});

test('a report written before the list existed is "not recorded", never "nothing"', () => {
  expect(summarizeNotVerified(undefined)).toEqual([NOT_VERIFIED_UNKNOWN]);
  expect(summarizeNotVerified([])).toEqual([]);
});
