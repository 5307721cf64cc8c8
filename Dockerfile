# restore-drill for fleet runs on Kubernetes (Indexed Job) or AWS Batch (array job): Node 20, PostgreSQL
# server and client of one major (at least production's), bubblewrap, and this repository's drills.
# Build it from the root of the repository that holds your drills (this file works there unchanged):
#
#   docker build --build-arg PG_MAJOR=16 -t registry.example.com/restore-drill:16 .
#
# Recipes that run it: recipes/kubernetes/, recipes/aws-batch/; docs/fleet.md.
ARG NODE_IMAGE=node:20-bookworm-slim
FROM ${NODE_IMAGE}
ARG PG_MAJOR=16

# PostgreSQL from the PostgreSQL project's apt repository (any supported major, not only Debian's own).
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates curl gnupg bubblewrap \
  && install -d /usr/share/postgresql-common/pgdg \
  && curl -fsSL -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc https://www.postgresql.org/media/keys/ACCC4CF8.asc \
  && echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt bookworm-pgdg main" > /etc/apt/sources.list.d/pgdg.list \
  && apt-get update \
  && apt-get install -y --no-install-recommends "postgresql-${PG_MAJOR}" "postgresql-client-${PG_MAJOR}" \
  && rm -rf /var/lib/apt/lists/*
ENV RESTORE_DRILL_PG_BIN=/usr/lib/postgresql/${PG_MAJOR}/bin

WORKDIR /drills
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
# The CLI bundle (what `npm ci` builds with its prepare script, skipped above before the sources were here).
RUN npm run build --if-present

# PostgreSQL refuses to run as root: drills run as the image's unprivileged user. The restore sandbox
# (bubblewrap) needs unprivileged user namespaces; where the cluster forbids them, set
# RESTORE_DRILL_SANDBOX=off (the report then says the restore was not sandboxed).
RUN chown -R node:node /drills
USER node
ENV CI=true
ENTRYPOINT ["recipes/shard-entrypoint.sh"]
