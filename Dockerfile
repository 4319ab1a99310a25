# Build with the Swift toolchain image, run on a slim Debian as a non-root user.
FROM swift:6.2-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libsqlite3-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
COPY Tests ./Tests
COPY schema ./schema
RUN swift build -c release --product relay --static-swift-stdlib

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libsqlite3-0 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/relay relay \
 && mkdir -p /var/lib/relay /etc/relay && chown relay:relay /var/lib/relay
COPY --from=build /src/.build/release/relay /usr/local/bin/relay
COPY routes.yaml /etc/relay/routes.yaml
USER relay
# Fewer malloc arenas: the many short-lived tasks otherwise fragment memory across threads.
ENV RELAY_CONFIG=/etc/relay/routes.yaml RELAY_SQLITE_PATH=/var/lib/relay/relay.db MALLOC_ARENA_MAX=2
VOLUME /var/lib/relay
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["relay"]
CMD ["serve"]
