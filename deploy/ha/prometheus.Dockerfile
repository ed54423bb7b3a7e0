# A stand-in for the official prom/prometheus image (v2.42, as in Debian bookworm), built
# from Debian's prometheus package for machines that cannot pull images (this project's
# tests: tests/docker/build-images.sh builds it FROM local/debian:bookworm as
# local/prometheus:debian). Same layout as the official image: the configuration at
# /etc/prometheus/prometheus.yml (docker-compose.ha.yml mounts deploy/prometheus's
# prometheus.yml and regauth-rules.yml there; without a mount, Debian's example runs), the
# TSDB in /prometheus (a volume), the binary as ENTRYPOINT so a compose `command:` gives
# the flags to either image, listening on :9090, run as an unprivileged user (Debian's
# packaged prometheus user here, nobody in the official image).
#
#   docker build -f deploy/ha/prometheus.Dockerfile -t prometheus-debian deploy/ha
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
# Recommends are the node exporter and friends: not needed to scrape regauth.
RUN set -eu; \
    apt-get update -qq; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb; \
    install -d -o prometheus -g prometheus -m 0755 /prometheus; \
    prometheus --version; \
    promtool check config /etc/prometheus/prometheus.yml >/dev/null
USER prometheus
WORKDIR /prometheus
VOLUME ["/prometheus"]
EXPOSE 9090
ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus", \
     "--web.listen-address=:9090"]
