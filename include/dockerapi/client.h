/* libdockerapi — connection to an engine.
 *
 * A dk_client is configured like the docker CLI: DOCKER_HOST (unix:// or
 * tcp://), DOCKER_TLS_VERIFY (non-empty = on), DOCKER_CERT_PATH (ca.pem,
 * cert.pem, key.pem), DOCKER_API_VERSION (pins the version and turns
 * negotiation off). The API version is negotiated once, lazily, with /_ping:
 * the lower of the client's maximum (DK_API_VERSION_MAX) and the engine's;
 * when the engine is newer than the client, its minimum is read from
 * /version too, and an engine whose minimum is above the client's maximum
 * (Docker 29.0-29.2: 1.44) is DK_EVERSION with both ranges in the message.
 *
 * A client is safe to share between threads: each call uses its own libcurl
 * handle. Long calls take a dk_call (deadline and cancel token, cancel.h).
 */
#ifndef DOCKERAPI_CLIENT_H
#define DOCKERAPI_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cancel.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The newest API version every request and parsed field of libdockerapi was
 * checked against (the Engine API version history, v1.41 to this one; the
 * version gates are listed in docs/dockerapi.md). */
#define DK_API_VERSION_MAX "1.56"
#define DK_API_VERSION_MIN "1.24"
#define DK_DEFAULT_HOST "unix:///var/run/docker.sock"

typedef struct dk_client dk_client;

typedef struct dk_client_opts {
  const char *host;            /* NULL = DK_DEFAULT_HOST */
  bool tls_verify;             /* tcp:// only */
  const char *cert_path;       /* directory with ca.pem, cert.pem, key.pem */
  const char *api_version;     /* NULL = negotiate; "1.41" pins it */
  const char *api_version_max; /* NULL = DK_API_VERSION_MAX; a lower one caps
                                  negotiation (an older client's view) */
  long connect_timeout_ms;     /* 0 = 5000 */
} dk_client_opts;

/* Parsed form of a DOCKER_HOST value. */
typedef struct dk_host_url {
  char scheme[8]; /* "unix" or "tcp" */
  char path[256]; /* unix socket path (unix) */
  char host[256]; /* host name or address (tcp) */
  int port;       /* tcp; default 2375, or 2376 with TLS */
} dk_host_url;

int dk_host_url_parse(dk_host_url *out, const char *url, bool tls);

/* Fills opts from the environment the way the docker CLI does. The strings
 * point into the environment; they stay valid while it is unchanged. */
int dk_client_opts_from_env(dk_client_opts *out);

/* Creates a client; opts NULL = from the environment. No I/O happens here.
 * The caller frees it with dk_client_free(). */
int dk_client_new(dk_client **out, const dk_client_opts *opts);
void dk_client_free(dk_client *client);

/* Negotiates now (if not done yet) and returns the version used in paths,
 * e.g. "1.41". The string lives as long as the client. */
int dk_client_api_version(const char **out, dk_client *client);
const char *dk_client_host(const dk_client *client);

/* Called after every request that failed on the engine's side: it could
 * not be reached or answered (DK_ECONNECT, DK_EIO, DK_ETLS), answered 5xx
 * (DK_ESERVER), an unexpected status (DK_EHTTP) or broke the protocol
 * (DK_EPROTO). Not for 4xx answers, deadlines or cancels, nor for a 500
 * saying the container "is marked for removal" (the caller raced its own
 * removal): those are the caller's. path is without the /vX.Y prefix and may carry a query. Runs on
 * the calling thread; must be quick and thread-safe. Set it before the
 * client is shared between threads; NULL removes it. */
typedef void (*dk_error_observer)(void *ud, const char *method, const char *path, int code);
void dk_client_set_error_observer(dk_client *client, dk_error_observer fn, void *ud);
bool dk_client_tls(const dk_client *client);

/* Whether the engine answering changed under this client. The first answer
 * that says who answers is kept: its product (Libpod-Api-Version, Server:
 * Libpod/<v> = Podman; Api-Version or Server: Docker/<v> without them =
 * Docker; dk_client_engine in system.h) and its Server header, e.g.
 * "Docker/20.10.24+dfsg1 (linux)" or "Libpod/4.3.1 (linux)" (cut at 95
 * bytes). Every later answer that says is compared with it as its headers
 * end: another product, or another Server value when both sent one (Docker
 * replaced by Podman on the same socket, Podman 5 by 4, Docker 20.10 by
 * 26.1), sets this for good: what the caller learnt of the engine no
 * longer holds. Not a change: a restart of the same engine and version; an
 * answer without those headers (it is not compared). Not seen: an engine
 * behind a proxy that strips them. Thread-safe, lock-free. */
bool dk_client_engine_changed(const dk_client *client);
/* The Server values behind it, for messages (bytes outside printable ASCII
 * as '?', cut to fit; either buffer may be NULL): first, the first answer's;
 * now, the first answer's that differed. "" when not known yet (now: until
 * dk_client_engine_changed) or not sent. */
void dk_client_engine_servers(char *first, size_t first_len, char *now, size_t now_len,
                              const dk_client *client);

/* Compares dotted API versions: <0, 0, >0 like strcmp. */
int dk_api_version_cmp(const char *a, const char *b);
/* The version negotiation picks: the lower of client_max and the engine's
 * maximum (NULL or "" = no header: "1.24", as the CLI), provided the engine
 * accepts it: DK_EVERSION, naming both ranges, when it is below server_min
 * (NULL = not known), or when the engine is older than DK_API_VERSION_MIN;
 * DK_EPROTO for a malformed engine version. */
int dk_api_version_pick(char *out, size_t outlen, const char *client_max, const char *server_min,
                        const char *server_max);
/* dk_api_version_pick with DK_API_VERSION_MAX and no known minimum. */
int dk_api_version_negotiate(char *out, size_t outlen, const char *server_version);

#ifdef __cplusplus
}
#endif
#endif
