import { ConfigError } from '../../errors.ts';
import type { CheckResult } from '../../model/report.ts';
import type { RecoveryPoint } from '../../model/recovery-point.ts';
import type { Source } from '../../sources/source.ts';
import type { Policy, PolicyContext } from '../policy.ts';
import { listOrNone } from './list-or-none.ts';
import { someIds } from './point-list.ts';
import { domainOfRegion, RESIDENCY_DOMAINS, type ResidencyDomain } from './residency-regions.ts';

/** Options of {@link residencyPolicy}: a regulatory domain, or the regions allowed, and where the copies are listed. */
export interface ResidencyPolicyOptions {
  /** `EU`, `US` or `AU`: every region of that domain is allowed (AWS and Google Cloud names, see {@link RESIDENCY_DOMAINS}). */
  readonly domain?: ResidencyDomain;
  /** Explicit allowed regions (added to the domain's when both are given), e.g. `['eu-central-1', 'europe-west3']`. */
  readonly regions?: readonly string[];
  /** Sources listing the copies (another region, another cloud); their points must stay inside too. */
  readonly copies?: Source | readonly Source[];
}

/**
 * Residency: every recovery point listed — the drill source's and, with `copies`, every copy's — is stored
 * in a region of the regulatory domain (or in one of the regions named). A point's region is its `region`
 * fact (an RDS snapshot's ARN region, the region an S3 source was configured with — for Google Cloud
 * Storage, the bucket's location such as `europe-west3`). One check; it fails naming every point outside,
 * with its region and the domain that region belongs to, and every point whose region is unknown.
 *
 * @example
 * residencyPolicy({ domain: 'EU', copies: s3DumpSource({ bucket: 'shop-dr', endpoint: 'https://storage.googleapis.com', region: 'europe-west3' }) });
 */
export function residencyPolicy(options: ResidencyPolicyOptions): Policy {
  const { domain } = options;
  if (domain !== undefined && !(domain in RESIDENCY_DOMAINS)) {
    throw new ConfigError(
      `residencyPolicy domain "${String(domain)}" is not one of ${Object.keys(RESIDENCY_DOMAINS).join(', ')}`,
      "use domain: 'EU', 'US' or 'AU', or list the allowed regions: regions: ['eu-central-1', …]",
    );
  }
  for (const region of options.regions ?? []) {
    if (domainOfRegion(region) === undefined) {
      throw new ConfigError(
        `residencyPolicy region "${region}" is no AWS or Google Cloud region restore-drill knows`,
        'check the spelling (e.g. eu-central-1, europe-west3); a new region needs adding to the residency tables',
      );
    }
  }
  if (!domain && !options.regions?.length)
    throw new ConfigError('residencyPolicy needs a domain or regions', "e.g. residencyPolicy({ domain: 'EU' })");
  const allowed = new Set([
    ...(domain ? [...RESIDENCY_DOMAINS[domain].aws, ...RESIDENCY_DOMAINS[domain].gcp] : []),
    ...(options.regions ?? []),
  ]);
  const copies =
    options.copies === undefined
      ? []
      : Array.isArray(options.copies)
        ? [...(options.copies as readonly Source[])]
        : [options.copies as Source];
  const label = [domain, ...(options.regions ?? [])].filter(Boolean).join(' + ');
  return {
    name: 'residency',
    async evaluate(context: PolicyContext): Promise<CheckResult[]> {
      const copyPoints = (await Promise.all(copies.map((s) => listOrNone(s, context.sourceContext)))).flat();
      const points = [...context.points, ...copyPoints];
      const expected = `every recovery point stored in ${label}`;
      if (points.length === 0)
        return [{ name: `policy residency ${label}`, status: 'failed', expected, actual: 'no recovery points' }];
      const unknown = points.filter((p) => typeof p.facts.region !== 'string' || p.facts.region === '');
      const outside = points.filter(
        (p) => typeof p.facts.region === 'string' && p.facts.region !== '' && !allowed.has(p.facts.region),
      );
      const regions = [
        ...new Set(points.map((p) => p.facts.region).filter((r): r is string => typeof r === 'string')),
      ].sort();
      const problems = [
        outside.length ? `outside ${label}: ${describeOutside(outside)}` : '',
        unknown.length ? `region unknown: ${someIds(unknown)}` : '',
      ].filter(Boolean);
      return [
        {
          name: `policy residency ${label}`,
          status: problems.length ? 'failed' : 'passed',
          expected,
          actual: problems.length ? problems.join('; ') : `${points.length} point(s) in ${regions.join(', ')}`,
          detail: `${context.points.length} from ${context.source.describe()}${copies.length ? `, ${copyPoints.length} from ${copies.map((s) => s.describe()).join(', ')}` : ''}`,
        },
      ];
    },
  };
}

/** `s3://b/k (us-east-1: US), snap-2 (mars-1: no known region)`, a few at most. */
function describeOutside(points: readonly RecoveryPoint[]): string {
  const shown = points.slice(0, 3).map((p) => {
    const region = String(p.facts.region);
    const domain = domainOfRegion(region);
    return `${p.id} (${region}: ${domain ?? (domain === null ? 'in no residency domain' : 'no known region')})`;
  });
  return points.length > 3 ? `${shown.join(', ')} and ${points.length - 3} more` : shown.join(', ');
}
