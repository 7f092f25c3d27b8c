# Multi-stage build: compile in the Rust image, run in a small Debian image as a non-root user.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --bin resetd

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /app resetd
WORKDIR /app
COPY --from=build /src/target/release/resetd /usr/local/bin/resetd
COPY config /app/config
USER resetd
ENV RESETD_PROFILE=production RESETD_CONFIG_DIR=/app/config
EXPOSE 8080
HEALTHCHECK CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080"]
ENTRYPOINT ["/usr/local/bin/resetd"]
CMD ["serve"]
