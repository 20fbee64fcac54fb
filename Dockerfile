# mcp-authz as a container image: a static (musl) binary on a distroless base, run as a
# non-root user. Build and use (loopback targets need the host's network):
#   docker build -t mcp-authz .
#   docker run --rm --network host mcp-authz scan --url http://127.0.0.1:9001/mcp
# The build stage's commands are also run by cli/tests/dockerfile.rs on a machine without
# Docker, where the musl target allows it.

FROM rust:1-slim-bookworm AS build
# musl-gcc builds aws-lc (the one crypto stack) for the static target.
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools \
 && rm -rf /var/lib/apt/lists/*
RUN rustup target add x86_64-unknown-linux-musl
ENV CC_x86_64_unknown_linux_musl=musl-gcc
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p mcp-authz --target x86_64-unknown-linux-musl
RUN cp target/x86_64-unknown-linux-musl/release/mcp-authz /mcp-authz

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /mcp-authz /usr/local/bin/mcp-authz
USER nonroot
ENTRYPOINT ["mcp-authz"]
CMD ["--help"]
