/**
 * Which cloud regions store data inside which regulatory domain — the data `residencyPolicy` checks
 * against. Region names are the providers' own (AWS: `eu-central-1`; Google Cloud: `europe-west3`, and the
 * Cloud Storage multi-regions `eu`, `us`). A domain lists only regions whose data centres are inside it:
 *
 * - `EU`: European Union member states. Not in it: London (`eu-west-2`, `europe-west2`: United Kingdom)
 *   and Zurich (`eu-central-2`, `europe-west6`: Switzerland) — list them in `regions` when a policy allows them.
 * - `US`: the United States, AWS GovCloud included.
 * - `AU`: Australia (Sydney and Melbourne).
 *
 * Sources: the AWS Regions and Availability Zones list, and Google Cloud's "Cloud locations" page (2026).
 * A region a provider opens later is in no domain until it is added here: the policy then fails naming it,
 * rather than guessing.
 */
export const RESIDENCY_DOMAINS = {
  EU: {
    aws: ['eu-central-1', 'eu-west-1', 'eu-west-3', 'eu-south-1', 'eu-south-2', 'eu-north-1', 'eusc-de-east-1'],
    gcp: [
      'eu',
      'europe-west1',
      'europe-west3',
      'europe-west4',
      'europe-west8',
      'europe-west9',
      'europe-west10',
      'europe-west12',
      'europe-north1',
      'europe-north2',
      'europe-central2',
      'europe-southwest1',
    ],
  },
  US: {
    aws: ['us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'us-gov-east-1', 'us-gov-west-1'],
    gcp: [
      'us',
      'us-central1',
      'us-east1',
      'us-east4',
      'us-east5',
      'us-south1',
      'us-west1',
      'us-west2',
      'us-west3',
      'us-west4',
    ],
  },
  AU: {
    aws: ['ap-southeast-2', 'ap-southeast-4'],
    gcp: ['australia-southeast1', 'australia-southeast2'],
  },
} as const satisfies Record<string, { readonly aws: readonly string[]; readonly gcp: readonly string[] }>;

/** A regulatory domain `residencyPolicy` knows: `EU`, `US` or `AU`. */
export type ResidencyDomain = keyof typeof RESIDENCY_DOMAINS;

/** Regions that are known but in none of the domains above (so a typo is told apart from "outside"). */
export const OTHER_KNOWN_REGIONS: readonly string[] = [
  // AWS
  'eu-west-2',
  'eu-central-2',
  'ca-central-1',
  'ca-west-1',
  'sa-east-1',
  'mx-central-1',
  'af-south-1',
  'me-south-1',
  'me-central-1',
  'il-central-1',
  'ap-east-1',
  'ap-east-2',
  'ap-south-1',
  'ap-south-2',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-southeast-1',
  'ap-southeast-3',
  'ap-southeast-5',
  'ap-southeast-7',
  'cn-north-1',
  'cn-northwest-1',
  // Google Cloud
  'europe-west2',
  'europe-west6',
  'northamerica-northeast1',
  'northamerica-northeast2',
  'northamerica-south1',
  'southamerica-east1',
  'southamerica-west1',
  'asia',
  'asia-east1',
  'asia-east2',
  'asia-northeast1',
  'asia-northeast2',
  'asia-northeast3',
  'asia-south1',
  'asia-south2',
  'asia-southeast1',
  'asia-southeast2',
  'me-central1',
  'me-central2',
  'me-west1',
  'africa-south1',
];

/**
 * The domain a region belongs to, `null` for a known region outside every domain, `undefined` for a name
 * that is no known region.
 *
 * @example
 * domainOfRegion('europe-west3'); // 'EU'
 * domainOfRegion('eu-west-2');    // null (London is not in the EU)
 */
export function domainOfRegion(region: string): ResidencyDomain | null | undefined {
  for (const [domain, regions] of Object.entries(RESIDENCY_DOMAINS) as [
    ResidencyDomain,
    { aws: readonly string[]; gcp: readonly string[] },
  ][]) {
    if (regions.aws.includes(region) || regions.gcp.includes(region)) return domain;
  }
  return OTHER_KNOWN_REGIONS.includes(region) ? null : undefined;
}
