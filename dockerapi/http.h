/* Private to libdockerapi: one HTTP exchange with the engine (http.c), and
 * the one mapping of libcurl's failures to dk codes. */
#ifndef DOCKERAPI_HTTP_H
#define DOCKERAPI_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#include "dockerapi/buf.h"
#include "dockerapi/client.h"

/* Cap on a buffered (non-streamed) answer of the engine. */
#define DK_RESP_MAX ((size_t)32 * 1024 * 1024)

typedef int (*dk__data_cb)(void *ud, const char *data, size_t len);
typedef size_t (*dk__upload_cb)(char *buf, size_t n, void *ud);

typedef struct dk__req {
  const char *method; /* "GET", "POST", "DELETE", "PUT", "HEAD" */
  const char *path;   /* without the version prefix, query included */
  int unversioned;    /* /_ping is asked before negotiation */
  const char *content_type;
  const void *body; /* in-memory body, or */
  size_t body_len;
  dk__upload_cb upload; /* a streamed body (chunked) */
  void *upload_ud;
  const char *const *headers; /* extra "Name: value", NULL-terminated */
  /* A 2xx body goes to on_data when set (streaming), else into the
   * response buffer. Non-2xx bodies always go to the buffer (capped). */
  dk__data_cb on_data;
  void *data_ud;
  size_t resp_max; /* 0 = DK_RESP_MAX */
  const dk_call *call;
} dk__req;

/* Who answered, as an answer's headers say (dk_client_engine_changed
 * compares them): the product (a dk_engine_kind; UNKNOWN when the answer
 * did not say) and the Server header's value, cut at DK__SERVER_MAX - 1
 * bytes: bytes the engine chose, compared as bytes, cleaned before they
 * are shown. */
#define DK__SERVER_MAX 96
typedef struct dk__ident {
  int engine;
  size_t server_len; /* 0: no Server header */
  char server[DK__SERVER_MAX];
} dk__ident;

typedef struct dk__resp {
  long status;
  dk_buf body;
  char api_version[16]; /* "Api-Version" header, when sent */
  /* What the headers say of the product (a dk_engine_kind): Podman sends
   * Libpod-Api-Version and "Server: Libpod/<v>" on every answer, Docker
   * "Server: Docker/<v>" and Api-Version; UNKNOWN when neither came. */
  int engine;
  char server[DK__SERVER_MAX]; /* the Server header's value (server_len bytes, cut) */
  size_t server_len;
  bool headers_done; /* the final answer's headers ended (its blank line came) */
} dk__resp;

/* An empty answer for req (its body capped by req->resp_max). */
void dk__resp_init(dk__resp *resp, const dk__req *req);
void dk__resp_free(dk__resp *resp);

/* Performs one request with the client's current version in the path (or
 * none when req->unversioned): no negotiation here, see dk__do. Returns 0
 * on a 2xx answer; otherwise a mapped code with the engine's "message" as
 * the last error. An error returned by on_data aborts the transfer and is
 * returned as is. resp is always initialised; the caller frees it with
 * dk__resp_free(). */
int dk__exchange(dk_client *c, const dk__req *req, dk__resp *resp);

/* Waits on multi (and nfds extra fds) for at most a second, less when the
 * call's deadline is nearer; the call's token wakes it. DK_ECANCELED or
 * DK_ETIMEDOUT (what names the call in the message) when the call must
 * stop; the caller retries its I/O after a 0 whatever woke it. */
int dk__call_poll(CURLM *multi, struct curl_waitfd *fds, unsigned nfds, const dk_call *call,
                  const char *what);

/* The options every easy handle of this client needs: url, the error
 * buffer (errbuf, CURL_ERROR_SIZE bytes, must outlive the transfer), no
 * signals, the connect timeout, never a proxy, the unix socket, TLS. */
void dk__easy_setup(CURL *e, const dk_client *c, const char *url, long connect_timeout_ms,
                    char *errbuf);

/* THE table from a failed libcurl transfer to a dk code. tls: the client
 * speaks TLS; http_status: the answer's status, 0 when none came. */
int dk__code_for_curl(CURLcode cc, bool tls, long http_status);
/* The same for a transfer that only connected (CURLOPT_CONNECT_ONLY, as
 * attach does): what the table calls a protocol or I/O failure is a failed
 * connection there. */
int dk__code_for_curl_connect(CURLcode cc, bool tls);
/* Sets the last error of a failed transfer (code from dk__code_for_curl,
 * detail = libcurl's error buffer, may be empty) and returns the code. */
int dk__curl_error(const dk_client *c, CURLcode cc, const char *detail, long http_status);
/* Sets the last error of a non-2xx answer: the engine's "message" from a
 * JSON body, else the body's head (what names the call), and returns the
 * code of the status. body is NUL-terminated (len may be 0). */
int dk__status_error(long status, const char *body, size_t len, const char *what);

#endif
