import type { ResourceLabel } from './labels.ts';

/** Something a restore-drill run created and a crashed run left behind. */
export interface Leftover {
  readonly kind: string;
  /** Where it is: a directory, a container id, an instance identifier. */
  readonly location: string;
  readonly label: ResourceLabel;
  /** Why it counts as a leftover, e.g. `owner process 1234 is gone`. */
  readonly reason: string;
}

export interface LeftoverOptions {
  /** Only resources at least this old (seconds). Also removes resources of live runs older than this. */
  readonly olderThanSeconds?: number;
  /** Where local clusters and work dirs live; default the OS temp dir. */
  readonly parentDir?: string;
  /** Told about each `restore-drill-*` entry that claims to be ours but cannot be proven so (left alone), and why. */
  readonly onSkip?: (location: string, reason: string) => void;
}
