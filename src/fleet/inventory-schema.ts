import { z } from 'zod';

// The inventory is the user's file: every field is checked here, so a typo is one line naming the
// database and the field, never a drill that quietly does less than intended.

const duration = z.string().regex(/^(\d+(\.\d+)?(mo|[smhdw]))+$/, 'a duration like 90s, 15m, 8h, 7d or 1mo');
// Names and tags are written into generated source (in strings and comments): no control characters or
// line separators that could end a comment.
const label = z
  .string()
  .min(1)
  .max(120)
  .regex(/^[^\p{Cc}\u2028\u2029]+$/u, 'printable text on one line');
const name = label;

/** Where a database's recovery points come from. One entry per source family of restore-drill. */
export const fleetSourceSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('file'), path: z.string().min(1) }),
  z.strictObject({ kind: z.literal('s3'), uri: z.string().regex(/^s3:\/\/[^/]+/, 'an s3://bucket/prefix/ URI') }),
  z.strictObject({
    kind: z.literal('rds-snapshot'),
    dbInstanceIdentifier: z.string().min(1).optional(),
    dbClusterIdentifier: z.string().min(1).optional(),
    region: z.string().min(1).optional(),
  }),
]);

/** Where it is restored. */
export const fleetEnvironmentSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('local') }),
  z.strictObject({ kind: z.literal('container'), image: z.string().min(1).optional() }),
  z.strictObject({
    kind: z.literal('rds'),
    instanceClass: z.string().min(1).optional(),
    subnetGroup: z.string().min(1).optional(),
    securityGroupIds: z.array(z.string().min(1)).optional(),
  }),
]);

/** Backup policy rules, by the name of restore-drill's policy functions. */
export const fleetPolicySchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('freshness'), maxAge: duration }),
  z.strictObject({
    kind: z.literal('retention'),
    oldestAtLeast: duration.optional(),
    noneOlderThan: duration.optional(),
  }),
  z.strictObject({ kind: z.literal('encryption'), kmsKeyId: z.union([z.string(), z.array(z.string())]).optional() }),
]);

const settings = {
  environment: fleetEnvironmentSchema.optional(),
  objectives: z.strictObject({ rto: duration.optional(), rpo: duration.optional() }).optional(),
  policies: z.array(fleetPolicySchema).optional(),
  controls: z.array(label).optional(),
  cadence: duration.optional(),
  tags: z.array(label).optional(),
};

/** One database of the fleet. Settings it does not give come from the inventory's `defaults`. */
export const fleetDatabaseSchema = z.strictObject({
  name,
  source: fleetSourceSchema,
  /** `false`: a policy-only drill (recovery points are listed and checked, nothing is restored). */
  restore: z.boolean().optional(),
  ...settings,
});

/** The inventory file (`fleet.yaml`) or the argument of `defineFleet()`. */
export const fleetInventorySchema = z.strictObject({
  version: z.literal(1).optional(),
  defaults: z.strictObject({ ...settings, restore: z.boolean().optional() }).optional(),
  databases: z.array(z.unknown()).min(1, 'list at least one database'),
});

export type FleetSource = z.infer<typeof fleetSourceSchema>;
export type FleetEnvironment = z.infer<typeof fleetEnvironmentSchema>;
export type FleetPolicy = z.infer<typeof fleetPolicySchema>;
/** One database as written in the inventory. */
export type FleetDatabaseInput = z.input<typeof fleetDatabaseSchema>;
/** The inventory as written: `databases` plus optional `defaults`. */
export interface FleetInventoryInput {
  readonly version?: 1;
  readonly defaults?: Omit<Partial<FleetDatabaseInput>, 'name' | 'source'>;
  readonly databases: readonly FleetDatabaseInput[];
}
/** One database with the defaults applied: what one generated drill file holds. */
export type FleetDatabase = z.infer<typeof fleetDatabaseSchema>;
