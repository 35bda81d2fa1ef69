/* One HTTP exchange with the engine (libcurl): versioned paths, status
 * mapping, streamed answers, deadlines and cancellation, on a connection
 * of the client's pool. Negotiation is not done here (negotiate.c asks
 * /_ping through this file; request.c negotiates, then calls it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cancel_internal.h"
#include "client_internal.h"
#include "dockerapi/system.h"
#include "error_internal.h"
#include "http.h"
#include "json.h"
#include "pool.h"

typedef struct xfer {
  dk_client *c;
  const dk__req *req;
  dk__resp *resp;
  CURL *easy;
  int abort_rc; /* set when on_data stopped the transfer */
  int too_big;
} xfer;

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *ud) {
  xfer *x = ud;
  size_t n = size * nmemb;
  long status = 0;
  curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && status < 300 && x->req->on_data) {
    int rc = x->req->on_data(x->req->data_ud, ptr, n);
    if (rc) {
      x->abort_rc = rc;
      return CURL_WRITEFUNC_ERROR;
    }
    return n;
  }
  if (dk_buf_append(&x->resp->body, ptr, n) == DK_ETOOBIG) {
    if (status >= 200 && status < 300) {
      x->too_big = 1;
      return CURL_WRITEFUNC_ERROR;
    }
    /* an error body past the cap: its head is enough for the message */
  } else if (!x->resp->body.data && n) {
    x->abort_rc = DK_ENOMEM;
    return CURL_WRITEFUNC_ERROR;
  }
  return n;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *ud) {
  xfer *x = ud;
  return x->req->upload(buf, size * nitems, x->req->upload_ud);
}

/* Whether the header line buf (n bytes) is `name` (lower case, with its
 * colon); *v and *vl get its value, trimmed. */
static bool header_is(const char *buf, size_t n, const char *name, const char **v, size_t *vl) {
  size_t nl = strlen(name);
  if (n <= nl || strncasecmp(buf, name, nl) != 0)
    return false;
  *v = buf + nl;
  *vl = n - nl;
  while (*vl && (**v == ' ' || **v == '\t')) {
    (*v)++;
    (*vl)--;
  }
  while (*vl && ((*v)[*vl - 1] == '\r' || (*v)[*vl - 1] == '\n' || (*v)[*vl - 1] == ' '))
    (*vl)--;
  return true;
}

/* Whether two answers name the same engine: the same product, and the
 * same Server value when both sent one (an answer without it says nothing
 * of the version). */
static bool ident_same(const dk__ident *a, const dk__ident *b) {
  if (a->engine != b->engine)
    return false;
  if (!a->server_len || !b->server_len)
    return true;
  return a->server_len == b->server_len && !memcmp(a->server, b->server, a->server_len);
}

/* Sets *slot to id once, under mu, then its flag (the readers take the
 * flag first and read the slot without the lock). True when this call set
 * it. */
static bool ident_set_once(dk_client *c, atomic_bool *flag, dk__ident *slot, const dk__ident *id) {
  bool set = false;
  pthread_mutex_lock(&c->mu);
  if (!atomic_load_explicit(flag, memory_order_relaxed)) {
    *slot = *id;
    atomic_store_explicit(flag, true, memory_order_release);
    set = true;
  }
  pthread_mutex_unlock(&c->mu);
  return set;
}

/* The answer's headers have ended: who it says answers, against the first
 * answer that said (dk_client_engine_changed). An answer that does not
 * name a product is not compared. */
static void watch_identity(dk_client *c, const dk__resp *resp) {
  if (resp->engine == DK_ENGINE_UNKNOWN)
    return;
  dk__ident id = {.engine = resp->engine, .server_len = resp->server_len};
  memcpy(id.server, resp->server, resp->server_len);
  if (!atomic_load_explicit(&c->ident_known, memory_order_acquire) &&
      ident_set_once(c, &c->ident_known, &c->ident_first, &id))
    return;
  if (atomic_load_explicit(&c->ident_changed, memory_order_acquire) ||
      ident_same(&c->ident_first, &id))
    return;
  ident_set_once(c, &c->ident_changed, &c->ident_other, &id);
}

/* Each header line: the API version, and the product (a Libpod header
 * wins over what came before it: Podman sends Api-Version too). A status
 * line starts an answer afresh (an interim 1xx one says nothing); the
 * blank line ends the headers, and what they said is compared then, before
 * any body (a stream's too); lines after it (trailers) are not read. */
static size_t on_header(char *buf, size_t size, size_t nitems, void *ud) {
  xfer *x = ud;
  size_t n = size * nitems;
  const char *v;
  size_t vl;
  if (n >= 5 && !strncmp(buf, "HTTP/", 5)) {
    x->resp->engine = DK_ENGINE_UNKNOWN;
    x->resp->server_len = 0;
    x->resp->headers_done = false;
  } else if (x->resp->headers_done) {
    return n;
  } else if (n <= 2 && (n == 0 || buf[0] == '\r' || buf[0] == '\n')) {
    x->resp->headers_done = true;
    watch_identity(x->c, x->resp);
  } else if (header_is(buf, n, "api-version:", &v, &vl)) {
    if (vl < sizeof x->resp->api_version) {
      memcpy(x->resp->api_version, v, vl);
      x->resp->api_version[vl] = '\0';
    }
    if (x->resp->engine == DK_ENGINE_UNKNOWN)
      x->resp->engine = DK_ENGINE_DOCKER;
  } else if (header_is(buf, n, "libpod-api-version:", &v, &vl)) {
    x->resp->engine = DK_ENGINE_PODMAN;
  } else if (header_is(buf, n, "server:", &v, &vl)) {
    x->resp->server_len = vl < DK__SERVER_MAX - 1 ? vl : DK__SERVER_MAX - 1;
    memcpy(x->resp->server, v, x->resp->server_len);
    if (vl >= 7 && strncasecmp(v, "Libpod/", 7) == 0)
      x->resp->engine = DK_ENGINE_PODMAN;
    else if (vl >= 7 && strncasecmp(v, "Docker/", 7) == 0 && x->resp->engine == DK_ENGINE_UNKNOWN)
      x->resp->engine = DK_ENGINE_DOCKER;
  }
  return n;
}

void dk__easy_setup(CURL *e, const dk_client *c, const char *url, long connect_timeout_ms,
                    char *errbuf) {
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms);
  curl_easy_setopt(e, CURLOPT_PROXY, ""); /* never through an http_proxy */
  curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
  if (strcmp(c->url.scheme, "unix") == 0)
    curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, c->url.path);
  if (!c->tls)
    return;
  /* A file missing from the cert path is not set: a NULL CAINFO would also
   * drop the system's CA bundle. */
  if (c->ca)
    curl_easy_setopt(e, CURLOPT_CAINFO, c->ca);
  if (c->cert) {
    curl_easy_setopt(e, CURLOPT_SSLCERT, c->cert);
    curl_easy_setopt(e, CURLOPT_SSLKEY, c->key);
  }
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
}

int dk__code_for_curl(CURLcode cc, bool tls, long http_status) {
  switch (cc) {
  case CURLE_COULDNT_CONNECT:
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
    return DK_ECONNECT;
  case CURLE_OPERATION_TIMEDOUT:
    return DK_ETIMEDOUT;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_USE_SSL_FAILED:
    return DK_ETLS;
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
    /* A --tlsverify daemon refusing our certificate (or its absence) sends
     * an alert and closes right after the handshake (TLS 1.3): depending on
     * timing curl sees it on send or on receive, before any HTTP answer. */
    return tls && http_status == 0 ? DK_ETLS : DK_EPROTO;
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
  case CURLE_WEIRD_SERVER_REPLY:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
    return DK_EPROTO;
  case CURLE_OUT_OF_MEMORY:
    return DK_ENOMEM;
  default:
    return DK_EIO;
  }
}

int dk__code_for_curl_connect(CURLcode cc, bool tls) {
  int code = dk__code_for_curl(cc, tls, 0);
  return code == DK_EPROTO || code == DK_EIO ? DK_ECONNECT : code;
}

int dk__curl_error(const dk_client *c, CURLcode cc, const char *detail, long http_status) {
  int code = dk__code_for_curl(cc, c->tls, http_status);
  const char *why = detail && *detail ? detail : curl_easy_strerror(cc);
  switch (code) {
  case DK_ECONNECT:
    return dk__err(code, 0, "cannot connect to the Docker engine at %s (is dockerd running?)",
                   c->host);
  case DK_ETIMEDOUT:
    return dk__err(code, 0, "no answer from the Docker engine at %s in time", c->host);
  case DK_ETLS:
    if (cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR)
      return dk__err(code, 0,
                     "TLS with the Docker engine at %s failed: the engine closed the connection "
                     "(is the client certificate accepted?): %s",
                     c->host, why);
    return dk__err(code, 0, "TLS with the Docker engine at %s failed: %s", c->host, why);
  case DK_EPROTO:
    return dk__err(code, 0, "the Docker engine at %s dropped the connection or answered badly",
                   c->host);
  case DK_ENOMEM:
    return dk__err(code, 0, NULL);
  default:
    return dk__err(code, 0, "talking to the Docker engine at %s: %s", c->host, why);
  }
}

/* Podman's compat API answers 500 where Docker answers 4xx for the same
 * state (measured on 4.3.1 against Docker 20.10); its error body names the
 * Go error it wrapped in "cause", so the status Docker gives is known. */
static const struct {
  const char *cause;
  long status;
} podman_causes[] = {
    {"container state improper", 409},     /* kill of a stopped, remove of a running one */
    {"that name is already in use", 409},  /* container name taken */
    {"network already exists", 409},       /* network name taken */
    {"network is being used", 403},        /* network remove with endpoints */
    {"network is already connected", 403}, /* connect twice */
    {"network not found", 404},            /* container create on a missing network */
};

/* The status Docker gives for a Podman-shaped error answer (its "cause"
 * and "response" members), else status itself. */
static long docker_status(long status, json_object *o) {
  const char *cause = dk__json_str(o, "cause");
  if (status != 500 || !cause || !dk__json_get(o, "response"))
    return status;
  for (size_t i = 0; i < sizeof podman_causes / sizeof *podman_causes; i++)
    if (!strcmp(cause, podman_causes[i].cause))
      return podman_causes[i].status;
  /* a subnet overlap: Docker's "Pool overlaps with other one" */
  if (strstr(cause, "is already used on the host or by another config"))
    return 403;
  return status;
}

int dk__status_error(long status, const char *body, size_t len, const char *what) {
  json_object *o = len ? json_tokener_parse(body) : NULL;
  int code = dk__code_for_status(docker_status(status, o));
  const char *msg = dk__json_str(o, "message");
  if (msg)
    dk__err(code, status, "%s", msg);
  else if (len)
    dk__err(code, status, "%s: HTTP %ld: %.200s", what, status, body);
  else
    dk__err(code, status, "%s: HTTP %ld with no message", what, status);
  json_object_put(o);
  return code;
}

void dk__resp_init(dk__resp *resp, const dk__req *req) {
  memset(resp, 0, sizeof *resp);
  dk_buf_init(&resp->body, req->resp_max ? req->resp_max : DK_RESP_MAX);
}

void dk__resp_free(dk__resp *resp) { dk_buf_free(&resp->body); }

/* Sets req's method, body and headers on e. Returns the header list, which
 * the caller frees after the transfer. */
static struct curl_slist *set_request(CURL *e, const dk__req *req, xfer *x) {
  struct curl_slist *hdrs = NULL;
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
  if (strcmp(req->method, "HEAD") == 0) {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (req->upload) {
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(e, CURLOPT_READDATA, x);
    hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
    if (strcmp(req->method, "POST") != 0)
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
  } else if (req->body) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    if (strcmp(req->method, "POST") != 0)
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
  } else if (strcmp(req->method, "POST") == 0) {
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L);
  } else if (strcmp(req->method, "GET") != 0) {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
  }
  if (req->content_type) {
    char h[128];
    snprintf(h, sizeof h, "Content-Type: %s", req->content_type);
    hdrs = curl_slist_append(hdrs, h);
  }
  hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
  for (const char *const *h = req->headers; h && *h; h++)
    hdrs = curl_slist_append(hdrs, *h);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
  return hdrs;
}

int dk__call_poll(CURLM *multi, struct curl_waitfd *fds, unsigned nfds, const dk_call *call,
                  const char *what) {
  if (dk__call_canceled(call))
    return dk__err(DK_ECANCELED, 0, "%s canceled", what);
  long wait_ms = dk__call_wait_ms(call, 1000);
  if (wait_ms == 0)
    return dk__err(DK_ETIMEDOUT, 0, "deadline passed during %s", what);
  CURLMcode mc = curl_multi_poll(multi, fds, nfds, (int)wait_ms, NULL);
  if (mc != CURLM_OK)
    return dk__err(DK_EIO, 0, "libcurl: %s", curl_multi_strerror(mc));
  return DK_OK;
}

/* Drives k's transfer until it finishes (*finished, with its *result), is
 * canceled or meets the call's deadline. The handle is added and removed
 * here; the token wakes the poll while the transfer runs. */
static int run_transfer(CURLcode *result, int *finished, dk__conn *k, const dk_call *call,
                        const char *what) {
  dk__waiter w = {.multi = k->multi};
  dk_cancel *cancel = call ? call->cancel : NULL;
  dk__cancel_watch(cancel, &w);
  curl_multi_add_handle(k->multi, k->easy);
  *result = CURLE_OK;
  *finished = 0;
  int rc = DK_OK;
  for (;;) {
    int running = 0;
    CURLMcode mc = curl_multi_perform(k->multi, &running);
    if (mc != CURLM_OK) {
      rc = dk__err(DK_EIO, 0, "libcurl: %s", curl_multi_strerror(mc));
      break;
    }
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(k->multi, &left))) {
      if (msg->msg == CURLMSG_DONE) {
        *result = msg->data.result;
        *finished = 1;
      }
    }
    if (*finished || !running)
      break;
    rc = dk__call_poll(k->multi, NULL, 0, call, what);
    if (rc)
      break;
  }
  curl_multi_remove_handle(k->multi, k->easy);
  dk__cancel_unwatch(cancel, &w);
  return rc;
}

/* The outcome of a transfer that finished with `result`. */
static int transfer_outcome(const dk_client *c, CURLcode result, const xfer *x, const char *errbuf,
                            const char *what) {
  dk__resp *resp = x->resp;
  if (result == CURLE_WRITE_ERROR && x->abort_rc)
    return x->abort_rc;
  if (result == CURLE_WRITE_ERROR && x->too_big)
    return dk__err(DK_ETOOBIG, resp->status, "answer to %s is larger than its cap (%zu bytes)",
                   what, resp->body.max);
  if (result != CURLE_OK)
    return dk__curl_error(c, result, errbuf, resp->status);
  if (resp->status < 200 || resp->status >= 300)
    return dk__status_error(resp->status, resp->body.data, resp->body.len, what);
  return DK_OK;
}

/* The failures the error observer hears of (see client.h). A 500 saying
 * the container "is marked for removal" is not one: the caller raced its
 * own removal of the container (Docker 20.10's network connect and
 * disconnect answer 500 where its container removal answers 409 for the
 * same state). */
static bool engine_side(int rc) {
  if (rc == DK_ESERVER && strstr(dk_error_last()->message, "is marked for removal"))
    return false;
  return rc == DK_ECONNECT || rc == DK_EIO || rc == DK_ETLS || rc == DK_ESERVER || rc == DK_EHTTP ||
         rc == DK_EPROTO;
}

int dk__exchange(dk_client *c, const dk__req *req, dk__resp *resp) {
  dk__resp_init(resp, req);
  const dk_call *call = req->call;
  if (dk__call_canceled(call))
    return dk__err(DK_ECANCELED, 0, NULL);
  if (dk__call_wait_ms(call, 1) == 0)
    return dk__err(DK_ETIMEDOUT, 0, "deadline passed before %s %s", req->method, req->path);
  /* "GET /path" names the call in messages; the message buffer holds no
   * more than this anyway. */
  char what[1024];
  snprintf(what, sizeof what, "%s %s", req->method, req->path);

  char *url = NULL;
  int rc;
  if (req->unversioned)
    rc = asprintf(&url, "%s%s", c->base, req->path);
  else
    rc = asprintf(&url, "%s/v%s%s", c->base, c->version, req->path);
  if (rc < 0)
    return dk__err(DK_ENOMEM, 0, NULL);
  dk__conn *k = dk__conn_get(c);
  if (!k) {
    free(url);
    return dk__err(DK_ENOMEM, 0, NULL);
  }
  xfer x = {.c = c, .req = req, .resp = resp, .easy = k->easy};
  char errbuf[CURL_ERROR_SIZE] = "";
  dk__easy_setup(k->easy, c, url, c->connect_timeout_ms, errbuf);
  struct curl_slist *hdrs = set_request(k->easy, req, &x);

  CURLcode result;
  int finished;
  dk__count(c, req->method, req->path);
  rc = run_transfer(&result, &finished, k, call, what);
  curl_easy_getinfo(k->easy, CURLINFO_RESPONSE_CODE, &resp->status);
  /* The product answering: set once, by the first answer that shows it
   * (the negotiating /_ping; any first answer when the version is pinned). */
  int unknown = DK_ENGINE_UNKNOWN;
  if (resp->engine != DK_ENGINE_UNKNOWN)
    atomic_compare_exchange_strong(&c->engine, &unknown, resp->engine);
  if (!rc && finished)
    rc = transfer_outcome(c, result, &x, errbuf, what);
  else if (!rc)
    rc = dk__err(DK_EIO, 0, "%s: transfer ended without a result", what);
  /* The easy handle points at our stack; clear before it is pooled. */
  curl_easy_setopt(k->easy, CURLOPT_ERRORBUFFER, NULL);
  curl_easy_setopt(k->easy, CURLOPT_HTTPHEADER, NULL);
  dk__conn_put(c, k, finished && (rc == DK_OK || resp->status >= 300));
  curl_slist_free_all(hdrs);
  free(url);
  if (c->on_error && engine_side(rc))
    c->on_error(c->on_error_ud, req->method, req->path, rc);
  return rc;
}

bool dk_client_engine_changed(const dk_client *c) {
  return atomic_load_explicit(&c->ident_changed, memory_order_acquire);
}

/* id's Server value into out (outlen > 0), bytes outside printable ASCII
 * as '?'; "" when not set. */
static void server_text(char *out, size_t outlen, const atomic_bool *set, const dk__ident *id) {
  size_t n = 0;
  if (atomic_load_explicit(set, memory_order_acquire))
    for (; n < id->server_len && n + 1 < outlen; n++)
      out[n] = id->server[n] >= 0x20 && id->server[n] < 0x7f ? id->server[n] : '?';
  out[n] = '\0';
}

void dk_client_engine_servers(char *first, size_t first_len, char *now, size_t now_len,
                              const dk_client *c) {
  if (first && first_len)
    server_text(first, first_len, &c->ident_known, &c->ident_first);
  if (now && now_len)
    server_text(now, now_len, &c->ident_changed, &c->ident_other);
}
