import { Option } from 'commander';

/** The `--signing-key` option shared by `run` and `check`. */
export function signingKeyOption(): Option {
  return new Option(
    '--signing-key <path|kms://key>',
    'Ed25519 private key (PEM) or AWS KMS key (kms://<key id | alias/name | ARN>) to sign reports with; default $RESTORE_DRILL_SIGNING_KEY, else a local demo key (never under CI)',
  );
}

/** The `--notify` option shared by `run` and `check` (see ci-outputs.ts). */
export function notifyOption(): Option {
  return new Option(
    '--notify <url>',
    'POST a short JSON message (Slack-compatible) for each failed or errored drill; default $RESTORE_DRILL_NOTIFY (keeps the webhook token out of the process list)',
  );
}

/** The `--metrics-file` option shared by `run` and `check`. */
export function metricsFileOption(): Option {
  return new Option(
    '--metrics-file <path.prom>',
    "write drill results as Prometheus metrics for node_exporter's textfile collector",
  );
}

/** The `--pushgateway` option shared by `run` and `check`. */
export function pushgatewayOption(): Option {
  return new Option('--pushgateway <url>', 'also push drill results to this Prometheus Pushgateway');
}

/** The `--report-dir` option shared by `run` and `check`. */
export function reportDirOption(): Option {
  return new Option('--report-dir <dir>', 'where signed reports are written').default('reports');
}
