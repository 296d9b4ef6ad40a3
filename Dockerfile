# syntax=docker/dockerfile:1
# Multi-stage build of the `shop` binary; docker-compose.yml builds it once.
#
# Only what the build reads is copied, so a change to the README or the
# benchmark does not invalidate the build layer. BuildKit cache mounts keep
# the registry and compiled dependencies between builds: a source change
# recompiles our crates (and redoes the LTO link), not every dependency.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY vendor vendor
COPY crates crates
COPY migration migration
COPY tests tests
COPY config config
ENV CARGO_PROFILE_RELEASE_STRIP=true
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p shop \
 && cp target/release/shop /usr/local/bin/shop

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --no-create-home shop
COPY --from=build /usr/local/bin/shop /usr/local/bin/shop
WORKDIR /app
USER 10001
# The production profile is compiled into the binary; no config files needed.
ENV SHOP_ENV=production
EXPOSE 8080
# The slim image has no curl: the binary asks its own /health/ready.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["shop", "healthcheck"]
ENTRYPOINT ["shop"]
CMD ["serve"]
