# CloudNativePG's Postgres 15 image with the hll extension, for
# cloudnative-pg.yaml's imageName:
#   docker build -f postgres-hll.Dockerfile -t registry.example.com/adpulse/postgres-hll:15-standard-bookworm .
FROM ghcr.io/cloudnative-pg/postgresql:15-standard-bookworm
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15-hll \
 && rm -rf /var/lib/apt/lists/*
# The image's postgres user.
USER 26
