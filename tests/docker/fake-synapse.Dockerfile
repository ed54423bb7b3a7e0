# The contract server of tests/synapse (bench/fake_synapse.rs) as the test-only image
# local/fake-synapse:test, for tests/docker/synapse.sh: the example binary cargo built on the
# host, on the debootstrap'ed base, as registry.Dockerfile does for the registry.
ARG BASE_IMAGE=local/debian:bookworm
FROM ${BASE_IMAGE}
COPY fake-synapse /usr/local/bin/fake-synapse
ENV FAKE_SYNAPSE_BIND=0.0.0.0:8080
EXPOSE 8080
USER 65534:65534
# It keeps nothing and handles no signal (PID 1 ignores SIGTERM): a stop need not wait.
STOPSIGNAL SIGKILL
ENTRYPOINT ["/usr/local/bin/fake-synapse"]
