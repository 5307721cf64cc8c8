#!/usr/bin/env bash
# CI: the tools the report tests run for real. Debian's chromium (driven by playwright-core at
# /usr/bin/chromium) renders the HTML reports; jq, with openssl and base64, runs the auditor's
# verification steps of docs/auditors.md. Idempotent: installs only what is missing.
set -euo pipefail

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v jq >/dev/null 2>&1 || need+=(jq)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
[ "${#need[@]}" -gt 0 ] || exit 0

echo "ci: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq -o DPkg::Lock::Timeout=300 "${need[@]}"
