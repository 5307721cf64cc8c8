#!/usr/bin/env bash
# CI: make a Docker engine and the PostgreSQL image available for the container environment's tests.
# Idempotent (an engine that answers and an image that exists are kept) and never fails CI: when something
# cannot be set up it says why, and the container tests skip with that reason printed.
#
# The engine is Debian's docker.io, started with host networking only (--bridge=none, no iptables, no IP
# forwarding): containers share the host's loopback and no traffic leaves the machine. No registry is
# needed: fixtures/container-image/build.sh builds a stand-in for the official postgres:<major> image from
# Debian packages (cached in /var/cache/restore-drill).
set -uo pipefail
cd "$(dirname "$0")/.."

say() { echo "ci(docker): $*"; }
give_up() { say "$* — container tests will be skipped"; exit 0; }
started=$SECONDS

engine_answers() { timeout 10 docker info >/dev/null 2>&1; }

if ! engine_answers; then
  [ "$(id -u)" = 0 ] || give_up "no Docker engine answers and this is not root, so none can be started"
  if ! command -v dockerd >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1; then
    say "installing docker.io and debootstrap"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq docker.io debootstrap; } >/tmp/restore-drill-apt-docker.log 2>&1 ||
      give_up "apt-get install docker.io debootstrap failed (see /tmp/restore-drill-apt-docker.log)"
  fi
  if [ -n "${DOCKER_HOST:-}" ] && [ "${DOCKER_HOST}" != unix:///var/run/docker.sock ]; then
    give_up "DOCKER_HOST=${DOCKER_HOST} does not answer; not starting a local engine in its place"
  fi
  say "starting dockerd (host networking only, logs in /var/log/restore-drill-dockerd.log)"
  mkdir -p /var/lib/restore-drill/docker
  setsid nohup dockerd \
    --host=unix:///var/run/docker.sock \
    --data-root=/var/lib/restore-drill/docker \
    --bridge=none --iptables=false --ip6tables=false --ip-forward=false \
    >/var/log/restore-drill-dockerd.log 2>&1 </dev/null &
  for _ in $(seq 60); do
    engine_answers && break
    sleep 1
  done
  engine_answers || give_up "dockerd did not answer within 60s: $(tail -n 3 /var/log/restore-drill-dockerd.log | tr '\n' ' ')"
fi
say "engine $(docker version -f '{{.Server.Version}}' 2>/dev/null) answers"

# The image for the PostgreSQL major the tests' dumps are made with (the newest local server).
major="${RESTORE_DRILL_TEST_PG_MAJOR:-$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n 1)}"
major="${major:-15}"
fixtures/container-image/build.sh "$major" || give_up "building the postgres:${major} stand-in image failed"
say "ready in $((SECONDS - started))s"
