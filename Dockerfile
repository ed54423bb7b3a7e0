# regauth's container image: compiled in a Rust image, run as a non-root user on Debian slim.
#
#   docker build -t regauth .
#
# Without a Rust image (air-gapped hosts, this project's CI): build the binary on a Debian
# bookworm host and let the build stage merely pick it up from the context:
#
#   cargo build --release && mkdir -p dist && cp target/release/regauth dist/
#   docker build --build-arg BUILD_IMAGE=debian:bookworm-slim \
#                --build-arg PREBUILT=dist/regauth -t regauth .

ARG BUILD_IMAGE=rust:1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${BUILD_IMAGE} AS build
# Lets scripts find (and prune) this throw-away stage.
LABEL io.regauth.stage=build
ARG PREBUILT=
WORKDIR /src
COPY . .
RUN set -eu; \
    if [ -n "$PREBUILT" ]; then \
        install -m 0755 "$PREBUILT" /regauth; \
    else \
        cargo build --release --locked --bin regauth; \
        install -m 0755 target/release/regauth /regauth; \
    fi; \
    /regauth --version

FROM ${RUNTIME_IMAGE}
# A fixed uid/gid so volume ownership is predictable; the data directories exist in the
# image so that fresh named volumes inherit their owner and modes.
RUN groupadd --system --gid 10001 regauth \
 && useradd --system --uid 10001 --gid regauth --home-dir /var/lib/regauth \
            --no-create-home --shell /usr/sbin/nologin regauth \
 && install -d -o regauth -g regauth -m 0755 /var/lib/regauth /var/lib/regauth/bundle \
 && install -d -o regauth -g regauth -m 0700 /var/lib/regauth/data /var/lib/regauth/keys
COPY --from=build /regauth /usr/local/bin/regauth
COPY deploy/regauth-container.toml /etc/regauth/regauth.toml
ENV REGAUTH_CONFIG=/etc/regauth/regauth.toml
USER regauth:regauth
WORKDIR /var/lib/regauth
# 5001: /token, the read API, health (publish it). 5002: the registry's webhook (do not).
EXPOSE 5001 5002
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 \
    CMD ["regauth", "healthcheck"]
ENTRYPOINT ["regauth"]
CMD ["serve"]
