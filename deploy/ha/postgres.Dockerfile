# A stand-in for the official postgres image, built from Debian's postgresql-15 package,
# for machines that cannot pull images (this project's tests: tests/docker/build-images.sh
# builds it FROM local/debian:bookworm as local/postgres:15-debian). It behaves like the
# official image for what docker-compose.ha.yml uses:
#   POSTGRES_PASSWORD (required on first start), POSTGRES_USER (default postgres),
#   POSTGRES_DB (default: POSTGRES_USER); data in /var/lib/postgresql/data (PGDATA), initdb
#   on first start into an empty volume; scram-sha-256 password authentication over TCP
#   from anywhere, trust on the local socket; listens on *:5432; runs as the postgres user;
#   pg_isready and psql on the PATH; *.sql and *.sh in /docker-entrypoint-initdb.d run once.
#
#   docker build -f deploy/ha/postgres.Dockerfile -t postgres-debian deploy/ha
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
# No cluster of Debian's own (pg_createcluster): the entrypoint runs initdb into PGDATA.
RUN set -eu; \
    mkdir -p /etc/postgresql-common; \
    echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.conf; \
    apt-get update -qq; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        postgresql-15 postgresql-client-15 >/dev/null; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb; \
    install -d -o postgres -g postgres -m 2775 /var/run/postgresql; \
    install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data; \
    install -d -m 0755 /docker-entrypoint-initdb.d
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data \
    LANG=C.UTF-8
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
VOLUME ["/var/lib/postgresql/data"]
EXPOSE 5432
# Fast shutdown (the official image's choice): roll back open transactions, stop at once.
STOPSIGNAL SIGINT
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
