#!/usr/bin/env bash
# Submits a fleet run to AWS Batch: an array job of SHARDS children (each runs shard
# AWS_BATCH_JOB_ARRAY_INDEX + 1 through recipes/shard-entrypoint.sh; the array job's id is the fleet run
# id), then the merge job, which starts after every child ended and fails when one is missing or failed.
#
#   recipes/aws-batch/submit-fleet.sh QUEUE [SHARDS]     (register job-definition.json first)
set -euo pipefail
queue="${1:?usage: submit-fleet.sh QUEUE [SHARDS]}"
shards="${2:-16}"
evidence="${RESTORE_DRILL_EVIDENCE:-s3://acme-restore-evidence/fleet/}"

array_id="$(aws batch submit-job --job-name restore-drill-fleet --job-queue "$queue" \
  --job-definition restore-drill-shard --array-properties "size=$shards" \
  --container-overrides "environment=[{name=SHARD_COUNT,value=$shards}]" \
  --query jobId --output text)"
echo "fleet run $array_id: $shards shards"

# No retries (the job definition's attempts: 1): a second attempt of an index would collide with the
# first one's record in the store. `merge` names a failed or missing shard and exits 1.
aws batch submit-job --job-name restore-drill-merge --job-queue "$queue" \
  --job-definition restore-drill-shard --depends-on "jobId=$array_id" \
  --container-overrides "command=[merge,--evidence,$evidence,--fleet-run,$array_id,--expect-shards,$shards,--out,/tmp/merged]" \
  --query jobId --output text
