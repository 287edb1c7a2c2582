# Pilcrow's production image. cargo-chef builds the dependencies in a layer of
# their own, so a change to our code rebuilds only our crate; the runtime is a
# slim Debian with nothing but CA roots (TLS to PostgreSQL is rustls, so no
# libpq or OpenSSL), running as a numeric unprivileged uid (Kubernetes'
# runAsNonRoot can check a number, not a name). The health check is the binary
# itself (`pilcrow healthcheck`), so no curl is needed.
#
#   docker build -t pilcrow .
#   docker run -e DATABASE_URL=... -e PILCROW__AUTH__JWT_SECRET=... \
#     -e PILCROW__PUSH__VAPID_PRIVATE_KEY=... -p 8080:8080 pilcrow   (docker run --rm pilcrow vapid-key)
#
# The image has no PostgreSQL server: set DATABASE_URL (see compose.yaml).

ARG RUST_VERSION=1.95
ARG DEBIAN=bookworm

# The slim Rust image has the C compiler that ring (rustls's cryptography) needs.
FROM rust:${RUST_VERSION}-slim-${DEBIAN} AS chef
RUN cargo install cargo-chef --locked
WORKDIR /app

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /app/recipe.json recipe.json
# Cached until Cargo.toml or Cargo.lock change.
RUN cargo chef cook --release --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked --bin pilcrow

# Same Debian release as the build stage, so the binary finds the glibc it was linked against.
FROM debian:${DEBIAN}-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 pilcrow \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --shell /usr/sbin/nologin pilcrow
WORKDIR /app
COPY --from=builder /app/target/release/pilcrow /usr/local/bin/pilcrow
COPY config/ /app/config/
ENV PILCROW_ENV=production
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/pilcrow", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/pilcrow"]
CMD ["serve"]
