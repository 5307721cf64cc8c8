#!/usr/bin/env bash
# One shard of a fleet run in a container: which shard comes from the engine's index variable, so the
# same image and command serve a Kubernetes Indexed Job, an AWS Batch array job or a plain loop.
#
#   SHARD_COUNT=16 recipes/shard-entrypoint.sh [extra restore-drill run options]
#   recipes/shard-entrypoint.sh merge --evidence s3://… --fleet-run ID --expect-shards 16
#
# Index (counting from 0): JOB_COMPLETION_INDEX (Kubernetes), AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch), or
# SHARD_INDEX (1-based, for anything else). Fleet run id, which ties the shards' records in the evidence
# store together for `restore-drill merge --evidence … --fleet-run ID`: RESTORE_DRILL_FLEET_RUN, else the
# AWS Batch array job's id. RESTORE_DRILL_BIN overrides the command (tests print it instead).
set -euo pipefail

# The same image merges: `shard-entrypoint.sh merge --evidence … --fleet-run ID --expect-shards N`.
if [ "${1:-}" = merge ]; then
  shift
  # shellcheck disable=SC2086
  exec ${RESTORE_DRILL_BIN:-npx restore-drill} merge "$@"
fi

count="${SHARD_COUNT:?set SHARD_COUNT to the number of shards (Job completions, array size)}"
if [ -n "${JOB_COMPLETION_INDEX:-}" ]; then
  index=$((JOB_COMPLETION_INDEX + 1))
elif [ -n "${AWS_BATCH_JOB_ARRAY_INDEX:-}" ]; then
  index=$((AWS_BATCH_JOB_ARRAY_INDEX + 1))
  # A child of an array job is "<array job id>:<index>": the array's id is the fleet run.
  : "${RESTORE_DRILL_FLEET_RUN:=${AWS_BATCH_JOB_ID%%:*}}"
elif [ -n "${SHARD_INDEX:-}" ]; then
  index="$SHARD_INDEX"
else
  echo "shard-entrypoint: no shard index: set JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX or SHARD_INDEX" >&2
  exit 2
fi
if [ -n "${RESTORE_DRILL_EVIDENCE:-}" ] && [ -z "${RESTORE_DRILL_FLEET_RUN:-}" ]; then
  echo "shard-entrypoint: set RESTORE_DRILL_FLEET_RUN (e.g. the Job's name) so merge can find this run's shards in the store" >&2
  exit 2
fi
export RESTORE_DRILL_FLEET_RUN="${RESTORE_DRILL_FLEET_RUN:-}"

# shellcheck disable=SC2086  # RESTORE_DRILL_BIN may be a command with arguments
exec ${RESTORE_DRILL_BIN:-npx restore-drill} run --shard "$index/$count" --report-dir "${REPORT_DIR:-reports}/shard-$index" "$@"
