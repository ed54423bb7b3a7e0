# A stand-in for the official haproxy image (2.6, as in Debian bookworm), built from
# Debian's haproxy package for machines that cannot pull images (this project's tests:
# tests/docker/build-images.sh builds it FROM local/debian:bookworm as local/haproxy:debian).
# Same layout as the official image: the configuration at /usr/local/etc/haproxy/haproxy.cfg
# (docker-compose.ha.yml mounts deploy/ha/haproxy.cfg there), run in the foreground as the
# haproxy user, SIGUSR1 to stop softly.
#
#   docker build -f deploy/ha/haproxy.Dockerfile -t haproxy-debian deploy/ha
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN set -eu; \
    apt-get update -qq; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends haproxy >/dev/null; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb; \
    haproxy -v
COPY haproxy.cfg /usr/local/etc/haproxy/haproxy.cfg
RUN haproxy -c -q -f /usr/local/etc/haproxy/haproxy.cfg
USER haproxy
EXPOSE 5001 5002
STOPSIGNAL SIGUSR1
CMD ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]
