# The motcua image: the `motcua` binary (every service: migrate, process, gateway, ...) on
# Debian slim, as an unprivileged user. Build from the repository root:
#
#   docker build -f deploy/compose/motcua.Dockerfile -t motcua:0.1.0 .
#
# TLS for Kafka: the workspace's rdkafka dependency builds librdkafka without OpenSSL, and
# then `security.protocol=SASL_SSL` (and SCRAM) are refused at start. This image enables
# the crate's `ssl-vendored` feature (OpenSSL built from source and linked statically), which
# the workspace's Cargo.lock does not record yet: the build resolves it (hence no --locked)
# until Cargo.toml enables it itself (deploy/README.md, "What is not done").
ARG RUST_VERSION=1.95
FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
ARG CARGO_FEATURES=rdkafka/ssl-vendored
RUN cargo build --release -p motcua-cli --features "${CARGO_FEATURES}" \
 && install -m 0755 target/release/motcua /usr/local/bin/motcua

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/motcua --create-home motcua
COPY --from=build /usr/local/bin/motcua /usr/local/bin/motcua
COPY deploy/compose/config/motcua/entrypoint.sh /usr/local/bin/motcua-entrypoint
USER 10001:10001
WORKDIR /var/lib/motcua
ENTRYPOINT ["motcua"]
CMD ["--help"]
