import { describe, expect, test } from 'vitest';
import { ConfigError } from '../../errors.ts';
import type { RecoveryPoint } from '../../model/recovery-point.ts';
import type { Source, SourceContext } from '../../sources/source.ts';
import type { PolicyContext } from '../policy.ts';
import { residencyPolicy } from './residency-policy.ts';
import { domainOfRegion, OTHER_KNOWN_REGIONS, RESIDENCY_DOMAINS, type ResidencyDomain } from './residency-regions.ts';

const now = new Date('2026-12-02T08:00:00Z');
const sourceContext: SourceContext = { workDir: '/nonexistent', log: () => {} };
const point = (id: string, region: string | null): RecoveryPoint => ({
  source: 'test',
  id,
  createdAt: now,
  createdAtBasis: 'test',
  facts: { region },
});
const listing = (name: string, points: RecoveryPoint[]): Source => ({
  kind: 'test',
  describe: () => name,
  list: () => Promise.resolve(points),
  fetch: () => Promise.resolve({ kind: 'test' }),
});
const context = (points: RecoveryPoint[]): PolicyContext => ({
  points,
  now,
  source: listing('primary', points),
  sourceContext,
});

describe('residencyPolicy', () => {
  test('AWS and Google Cloud regions of the domain pass; the check says where the points are', async () => {
    const copies = listing('gcs copies', [point('s3://shop-dr/shop.dump', 'europe-west3')]);
    const checks = await residencyPolicy({ domain: 'EU', copies }).evaluate(
      context([point('snap-1', 'eu-central-1'), point('snap-2', 'eu-west-1')]),
    );
    expect(checks).toEqual([
      {
        name: 'policy residency EU',
        status: 'passed',
        expected: 'every recovery point stored in EU',
        actual: '3 point(s) in eu-central-1, eu-west-1, europe-west3',
        detail: '2 from primary, 1 from gcs copies',
      },
    ]);
  });

  test('at the boundary: London and Zurich are not in the EU, in either cloud; each point outside is named with its region', async () => {
    const points = [
      point('snap-fra', 'eu-central-1'),
      point('snap-lon', 'eu-west-2'),
      point('gcs-zrh', 'europe-west6'),
      point('snap-us', 'us-east-1'),
    ];
    const [check] = await residencyPolicy({ domain: 'EU' }).evaluate(context(points));
    expect(check).toMatchObject({
      status: 'failed',
      actual:
        'outside EU: snap-lon (eu-west-2: in no residency domain), gcs-zrh (europe-west6: in no residency domain), snap-us (us-east-1: US)',
    });
  });

  test('a point without a region, or in a region nobody knows, fails and is named', async () => {
    const [check] = await residencyPolicy({ domain: 'AU' }).evaluate(
      context([point('snap-syd', 'ap-southeast-2'), point('dump-1', null), point('dump-2', 'mars-north-1')]),
    );
    expect(check).toMatchObject({
      status: 'failed',
      actual: 'outside AU: dump-2 (mars-north-1: no known region); region unknown: dump-1',
    });
  });

  test('explicit regions widen (or replace) a domain', async () => {
    const points = [point('snap-fra', 'eu-central-1'), point('snap-lon', 'eu-west-2')];
    expect(
      (await residencyPolicy({ domain: 'EU', regions: ['eu-west-2'] }).evaluate(context(points)))[0],
    ).toMatchObject({ name: 'policy residency EU + eu-west-2', status: 'passed' });
    expect((await residencyPolicy({ regions: ['eu-west-2'] }).evaluate(context(points)))[0]).toMatchObject({
      status: 'failed',
      actual: 'outside eu-west-2: snap-fra (eu-central-1: EU)',
    });
  });

  test('bad options are one-line ConfigErrors: an unknown domain, a region name that belongs to no table, nothing at all', () => {
    expect(() => residencyPolicy({ domain: 'EEA' as ResidencyDomain })).toThrow(
      /^residencyPolicy domain "EEA" is not one of EU, US, AU$/,
    );
    expect(() => residencyPolicy({ domain: 'EU', regions: ['eu-centrl-1'] })).toThrow(
      /^residencyPolicy region "eu-centrl-1" is no AWS or Google Cloud region restore-drill knows$/,
    );
    expect(() => residencyPolicy({})).toThrow(ConfigError);
  });
});

describe('the residency tables', () => {
  const all = Object.entries(RESIDENCY_DOMAINS).flatMap(([domain, r]) =>
    [...r.aws, ...r.gcp].map((region) => [domain, region] as const),
  );

  test('every region is in exactly one domain, and none is also listed as outside every domain', () => {
    const regions = all.map(([, region]) => region);
    expect(new Set(regions).size).toBe(regions.length);
    expect(regions.filter((r) => OTHER_KNOWN_REGIONS.includes(r))).toEqual([]);
    for (const [domain, region] of all) expect(domainOfRegion(region), region).toBe(domain);
    expect(domainOfRegion('eu-west-2')).toBeNull();
    expect(domainOfRegion('nowhere-1')).toBeUndefined();
  });

  test("names follow each provider's scheme", () => {
    for (const r of Object.values(RESIDENCY_DOMAINS)) {
      for (const region of r.aws) expect(region).toMatch(/^[a-z]{2,4}(-gov|-[a-z]{2})?-[a-z]+-\d$/);
      for (const region of r.gcp) expect(region).toMatch(/^([a-z]+-[a-z]+\d+|eu|us)$/);
    }
  });
});
