# A small static image: the binary is linked against musl with rustls (no OpenSSL, no libc at run
# time, certificate roots built in), so the final stage is `scratch` plus that one file.
# Build: docker build -t hookrelay .   (x86_64; for arm64 use aarch64-unknown-linux-musl)
FROM rust:1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p hookrelay --bin hookrelay --target x86_64-unknown-linux-musl \
 && install -D -m 0755 target/x86_64-unknown-linux-musl/release/hookrelay /out/hookrelay \
 && install -d -m 0750 -o 65532 -g 65532 /out/data

FROM scratch
COPY --from=build /out/hookrelay /hookrelay
COPY --from=build /out/data /data
# An unprivileged user; /data holds the SQLite file when no PostgreSQL URL is given.
USER 65532:65532
WORKDIR /data
ENV HOOKRELAY_LISTEN=0.0.0.0:8080 \
    HOOKRELAY_DATABASE_URL=sqlite:///data/hookrelay.db \
    HOOKRELAY_LOG_FORMAT=json
EXPOSE 8080
VOLUME ["/data"]
ENTRYPOINT ["/hookrelay"]
CMD ["serve"]
