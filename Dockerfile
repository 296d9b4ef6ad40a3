# Multi-stage build of the `shop` binary. Used by docker-compose.yml.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p shop \
 && cp target/release/shop /usr/local/bin/shop

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 shop
COPY --from=build /usr/local/bin/shop /usr/local/bin/shop
COPY config /app/config
WORKDIR /app
USER shop
ENV SHOP_ENV=production
EXPOSE 8080
ENTRYPOINT ["shop"]
CMD ["serve"]
