# syntax=docker/dockerfile:1
# gameday in a container: the CLI (`gameday run`, `validate`, `report`) and the
# lab parts the staging stack runs as services (`gameday platform`,
# `gameday llm-sim`). Two stages: a Rust toolchain builds a release binary,
# a slim runtime image carries only the binary, CA certificates (staging
# targets are HTTPS; gameday uses rustls, never OpenSSL) and the scenarios.
#
#   docker build -t gameday .
#   docker run --rm gameday validate scenarios/

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# Cache mounts keep the registry and the build output between builds, so a
# source change recompiles gameday only, not its dependencies.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin gameday \
    && cp target/release/gameday /usr/local/bin/gameday \
    && strip /usr/local/bin/gameday

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /home/gameday gameday
COPY --from=build /usr/local/bin/gameday /usr/local/bin/gameday
COPY --chown=gameday scenarios /home/gameday/scenarios
USER gameday
WORKDIR /home/gameday
ENTRYPOINT ["gameday"]
CMD ["--help"]
