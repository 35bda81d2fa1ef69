#!/bin/sh
# Starts the inner engine. Socket: /run/dind/docker.sock (share /run/dind with
# the judger container and set DOCKER_HOST=unix:///run/dind/docker.sock), or
# tcp+TLS on 2376 when /certs holds ca.pem, cert.pem, key.pem.
# DIND_STORAGE_DRIVER: "vfs" where overlay-on-overlay is not allowed.
set -eu
mkdir -p /run/dind
set -- --host unix:///run/dind/docker.sock --storage-driver "${DIND_STORAGE_DRIVER:-overlay2}"
if [ -f /certs/ca.pem ]; then
  set -- "$@" --host tcp://0.0.0.0:2376 --tlsverify \
    --tlscacert /certs/ca.pem --tlscert /certs/cert.pem --tlskey /certs/key.pem
fi
exec dockerd "$@"
