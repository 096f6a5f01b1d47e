# The adpulse binary (every role: gateway, migrate, admin, ...), with the
# web console compiled in.
FROM node:20.19.5-bookworm AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

FROM rust:1.95.0-bookworm AS build
# The commit `adpulse_build_info` reports (CI passes it).
ARG ADPULSE_GIT_COMMIT=unknown
WORKDIR /src
COPY . .
COPY --from=web /src/web/dist web/dist
RUN cargo build --release --locked -p adpulse \
 && cp target/release/adpulse /usr/local/bin/adpulse

FROM debian:12.8-slim
RUN useradd --system --uid 10001 --no-create-home adpulse \
 && mkdir -p /var/lib/adpulse/assets && chown adpulse /var/lib/adpulse/assets
COPY --from=build /usr/local/bin/adpulse /usr/local/bin/adpulse
USER adpulse
ENTRYPOINT ["adpulse"]
