# A stand-in for registry:2 built from Debian's docker-registry (distribution v2.8.2), for
# machines that cannot pull images. Same layout as the official image: the binary is
# `registry`, the config /etc/docker/registry/config.yml, storage /var/lib/registry, port 5000.
FROM local/debian:bookworm
COPY registry /bin/registry
RUN mkdir -p /etc/docker/registry /var/lib/registry
VOLUME ["/var/lib/registry"]
EXPOSE 5000
ENTRYPOINT ["/bin/registry"]
CMD ["serve", "/etc/docker/registry/config.yml"]
