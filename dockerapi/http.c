/* The HTTP exchange with the engine (libcurl), shared by every resource
 * module: versioned paths, status mapping, streamed answers, deadlines and
 * cancellation, and a small pool of reusable connections. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client_internal.h"
#include "internal.h"

#define POOL_MAX 8

static dk__conn *conn_get(dk_client *c) {
  pthread_mutex_lock(&c->mu);
  dk__conn *k = c->pool;
  if (k) {
    c->pool = k->next;
    c->pool_size--;
  }
  pthread_mutex_unlock(&c->mu);
  if (k) {
    curl_easy_reset(k->easy);
    return k;
  }
  k = calloc(1, sizeof *k);
  if (!k)
    return NULL;
  k->multi = curl_multi_init();
  k->easy = curl_easy_init();
  if (!k->multi || !k->easy) {
    if (k->multi)
      curl_multi_cleanup(k->multi);
    if (k->easy)
      curl_easy_cleanup(k->easy);
    free(k);
    return NULL;
  }
  return k;
}

static void conn_destroy(dk__conn *k) {
  curl_easy_cleanup(k->easy);
  curl_multi_cleanup(k->multi);
  free(k);
}

/* A connection whose transfer was aborted mid-stream is not reused: its
 * state on the wire is unknown. */
static void conn_put(dk_client *c, dk__conn *k, int reusable) {
  if (!reusable) {
    conn_destroy(k);
    return;
  }
  pthread_mutex_lock(&c->mu);
  if (c->pool_size < POOL_MAX) {
    k->next = c->pool;
    c->pool = k;
    c->pool_size++;
    k = NULL;
  }
  pthread_mutex_unlock(&c->mu);
  if (k)
    conn_destroy(k);
}

void dk__conn_pool_free(dk_client *c) {
  while (c->pool) {
    dk__conn *k = c->pool;
    c->pool = k->next;
    conn_destroy(k);
  }
  c->pool_size = 0;
}

typedef struct xfer {
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

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud) {
  xfer *x = ud;
  size_t n = size * nitems;
  static const char name[] = "api-version:";
  if (n > sizeof name - 1 && strncasecmp(buf, name, sizeof name - 1) == 0) {
    const char *v = buf + sizeof name - 1;
    size_t vl = n - (sizeof name - 1);
    while (vl && (*v == ' ' || *v == '\t')) {
      v++;
      vl--;
    }
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
      vl--;
    if (vl < sizeof x->resp->api_version) {
      memcpy(x->resp->api_version, v, vl);
      x->resp->api_version[vl] = '\0';
    }
  }
  return n;
}

void dk__set_tls(CURL *e, const dk_client *c) {
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

static int map_curl_error(dk_client *c, CURLcode cc, const char *detail, long status) {
  switch (cc) {
  case CURLE_COULDNT_CONNECT:
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
    return dk__err(DK_ECONNECT, 0, "cannot connect to the Docker engine at %s (is dockerd running?)",
                   c->host);
  case CURLE_OPERATION_TIMEDOUT:
    return dk__err(DK_ETIMEDOUT, 0, "no answer from the Docker engine at %s in time", c->host);
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_USE_SSL_FAILED:
    return dk__err(DK_ETLS, 0, "TLS with the Docker engine at %s failed: %s", c->host,
                   detail && *detail ? detail : curl_easy_strerror(cc));
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
    /* A --tlsverify daemon refusing our certificate (or its absence) sends
     * an alert and closes right after the handshake (TLS 1.3): depending on
     * timing curl sees it on send or on receive, before any HTTP answer. */
    if (c->tls && status == 0)
      return dk__err(DK_ETLS, 0,
                     "TLS with the Docker engine at %s failed: the engine closed the connection "
                     "(is the client certificate accepted?): %s",
                     c->host, detail && *detail ? detail : curl_easy_strerror(cc));
    return dk__err(DK_EPROTO, 0, "the Docker engine at %s dropped the connection or answered badly",
                   c->host);
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
  case CURLE_WEIRD_SERVER_REPLY:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
    return dk__err(DK_EPROTO, 0, "the Docker engine at %s dropped the connection or answered badly",
                   c->host);
  case CURLE_OUT_OF_MEMORY:
    return dk__err(DK_ENOMEM, 0, NULL);
  default:
    return dk__err(DK_EIO, 0, "talking to the Docker engine at %s: %s", c->host,
                   detail && *detail ? detail : curl_easy_strerror(cc));
  }
}

/* Takes "message" out of an error body, or the body's first line. */
static int status_error(long status, const dk_buf *body, const char *method, const char *path) {
  int code = dk__code_for_status(status);
  const char *msg = NULL;
  json_object *o = NULL;
  if (body->len)
    o = json_tokener_parse(body->data);
  if (o)
    msg = dk__json_str(o, "message");
  if (msg)
    dk__err(code, status, "%s", msg);
  else if (body->len)
    dk__err(code, status, "%s %s: HTTP %ld: %.200s", method, path, status, body->data);
  else
    dk__err(code, status, "%s %s: HTTP %ld with no message", method, path, status);
  json_object_put(o);
  return code;
}

void dk__resp_free(dk__resp *resp) { dk_buf_free(&resp->body); }

int dk__do(dk_client *c, const dk__req *req, dk__resp *resp) {
  memset(resp, 0, sizeof *resp);
  dk_buf_init(&resp->body, req->resp_max ? req->resp_max : DK_RESP_MAX);
  int rc;
  if (!req->unversioned) {
    rc = dk__negotiate(c);
    if (rc)
      return rc;
  }
  const dk_call *call = req->call;
  if (call && call->cancel && dk_cancel_fired(call->cancel))
    return dk__err(DK_ECANCELED, 0, NULL);
  if (call && call->deadline_ms && dk_now_ms() >= call->deadline_ms)
    return dk__err(DK_ETIMEDOUT, 0, "deadline passed before %s %s", req->method, req->path);

  char *url = NULL;
  if (req->unversioned)
    rc = asprintf(&url, "%s%s", c->base, req->path);
  else
    rc = asprintf(&url, "%s/v%s%s", c->base, c->version, req->path);
  if (rc < 0)
    return dk__err(DK_ENOMEM, 0, NULL);

  dk__conn *k = conn_get(c);
  if (!k) {
    free(url);
    return dk__err(DK_ENOMEM, 0, NULL);
  }
  CURL *e = k->easy;
  xfer x = {.req = req, .resp = resp, .easy = e};
  char errbuf[CURL_ERROR_SIZE] = "";
  struct curl_slist *hdrs = NULL;

  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &x);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &x);
  curl_easy_setopt(e, CURLOPT_PROXY, ""); /* never through an http_proxy */
  curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
  if (strcmp(c->url.scheme, "unix") == 0)
    curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, c->url.path);
  dk__set_tls(e, c);
  if (strcmp(req->method, "HEAD") == 0) {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (req->upload) {
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(e, CURLOPT_READDATA, &x);
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

  dk__waiter w = {.multi = k->multi};
  dk_cancel *cancel = call ? call->cancel : NULL;
  dk__cancel_watch(cancel, &w);
  curl_multi_add_handle(k->multi, e);

  CURLcode result = CURLE_OK;
  int finished = 0;
  rc = DK_OK;
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
        result = msg->data.result;
        finished = 1;
      }
    }
    if (finished || !running)
      break;
    if (cancel && dk_cancel_fired(cancel)) {
      rc = dk__err(DK_ECANCELED, 0, "%s %s canceled", req->method, req->path);
      break;
    }
    int wait_ms = 1000;
    if (call && call->deadline_ms) {
      int64_t left_ms = call->deadline_ms - dk_now_ms();
      if (left_ms <= 0) {
        rc = dk__err(DK_ETIMEDOUT, 0, "deadline passed during %s %s", req->method, req->path);
        break;
      }
      if (left_ms < wait_ms)
        wait_ms = (int)left_ms;
    }
    curl_multi_poll(k->multi, NULL, 0, wait_ms, NULL);
  }
  curl_multi_remove_handle(k->multi, e);
  dk__cancel_unwatch(cancel, &w);
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &resp->status);

  if (!rc && finished) {
    if (result == CURLE_WRITE_ERROR && x.abort_rc)
      rc = x.abort_rc;
    else if (result == CURLE_WRITE_ERROR && x.too_big)
      rc = dk__err(DK_ETOOBIG, resp->status, "answer to %s %s is larger than its cap (%zu bytes)",
                   req->method, req->path, resp->body.max);
    else if (result != CURLE_OK)
      rc = map_curl_error(c, result, errbuf, resp->status);
    else if (resp->status < 200 || resp->status >= 300)
      rc = status_error(resp->status, &resp->body, req->method, req->path);
  } else if (!rc) {
    rc = dk__err(DK_EIO, 0, "%s %s: transfer ended without a result", req->method, req->path);
  }
  /* The easy handle points at our stack; clear before it is pooled. */
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
  conn_put(c, k, finished && (rc == DK_OK || resp->status >= 300));
  curl_slist_free_all(hdrs);
  free(url);
  return rc;
}

/* ---- JSON conveniences -------------------------------------------------- */

int dk__parse_json(json_object **out, const char *text, size_t len) {
  *out = NULL;
  json_tokener *tok = json_tokener_new();
  if (!tok)
    return dk__err(DK_ENOMEM, 0, NULL);
  json_object *o = json_tokener_parse_ex(tok, text ? text : "", (int)len);
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  json_tokener_free(tok);
  if (!o || jerr != json_tokener_success) {
    json_object_put(o);
    return dk__err(DK_EJSON, 0, "engine sent malformed JSON: %.80s", text ? text : "");
  }
  *out = o;
  return DK_OK;
}

int dk__get_json(dk_client *c, const char *path, json_object **out, const dk_call *call) {
  return dk__send_json(c, "GET", path, NULL, out, call);
}

int dk__send_json(dk_client *c, const char *method, const char *path, json_object *body,
                  json_object **out, const dk_call *call) {
  if (out)
    *out = NULL;
  dk__req req = {.method = method, .path = path, .call = call};
  if (body) {
    const char *text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
    req.body = text;
    req.body_len = strlen(text);
    req.content_type = "application/json";
  }
  dk__resp resp;
  int rc = dk__do(c, &req, &resp);
  if (!rc && out) {
    if (resp.body.len)
      rc = dk__parse_json(out, resp.body.data, resp.body.len);
    else
      *out = json_object_new_object();
  }
  dk__resp_free(&resp);
  return rc;
}

int dk__get_json_array(json_object **out, size_t *n, dk_client *c, const char *path,
                       const char *what) {
  *n = 0;
  int rc = dk__get_json(c, path, out, NULL);
  if (rc)
    return rc;
  if (!json_object_is_type(*out, json_type_array)) {
    json_object_put(*out);
    *out = NULL;
    return dk__err(DK_EPROTO, 200, "%s: answer is not an array", what);
  }
  *n = json_object_array_length(*out);
  return DK_OK;
}

int dk__send_empty(dk_client *c, const char *method, const char *path, const dk_call *call) {
  return dk__send_json(c, method, path, NULL, NULL, call);
}

json_object *dk__json_get(json_object *o, const char *key) {
  json_object *v = NULL;
  if (o)
    json_object_object_get_ex(o, key, &v);
  return v;
}

const char *dk__json_str(json_object *o, const char *key) {
  json_object *v = dk__json_get(o, key);
  return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

int64_t dk__json_int64(json_object *o, const char *key, int64_t dflt) {
  json_object *v = dk__json_get(o, key);
  return v ? json_object_get_int64(v) : dflt;
}

char *dk__json_strdup(json_object *o, const char *key) {
  const char *s = dk__json_str(o, key);
  return s ? strdup(s) : NULL;
}

char *dk__json_strdup_oom(json_object *o, const char *key, int *oom) {
  const char *s = dk__json_str(o, key);
  char *d = s ? strdup(s) : NULL;
  if (s && !d)
    *oom = 1;
  return d;
}

json_object *dk__json_strv(const char *const *v) {
  if (!v)
    return NULL;
  json_object *a = json_object_new_array();
  for (; *v; v++)
    json_object_array_add(a, json_object_new_string(*v));
  return a;
}

/* ---- URL building ------------------------------------------------------- */

char *dk__path(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  int n = vasprintf(&s, fmt, ap);
  va_end(ap);
  return n < 0 ? NULL : s;
}

char *dk__esc(const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  size_t n = strlen(s);
  char *o = malloc(n * 3 + 1);
  if (!o)
    return NULL;
  char *p = o;
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
        ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      *p++ = (char)ch;
    } else {
      *p++ = '%';
      *p++ = hex[ch >> 4];
      *p++ = hex[ch & 15];
    }
  }
  *p = '\0';
  return o;
}

int dk__query(dk_buf *q, const char *key, const char *value) {
  char *ev = dk__esc(value ? value : "");
  if (!ev)
    return DK_ENOMEM;
  int rc = dk_buf_appendf(q, "%c%s=%s", q->len ? '&' : '?', key, ev);
  free(ev);
  return rc;
}

int dk__query_bool(dk_buf *q, const char *key, int value) {
  return dk__query(q, key, value ? "1" : "0");
}

int dk__query_int(dk_buf *q, const char *key, long long value) {
  char v[32];
  snprintf(v, sizeof v, "%lld", value);
  return dk__query(q, key, v);
}

int dk__query_filters(dk_buf *q, json_object *f) {
  if (!f)
    return DK_ENOMEM;
  int rc = DK_OK;
  if (json_object_object_length(f) > 0)
    rc = dk__query(q, "filters", json_object_to_json_string_ext(f, JSON_C_TO_STRING_PLAIN));
  json_object_put(f);
  return rc;
}

int dk__query_label_filters(dk_buf *q, const char *const *labels) {
  if (!labels || !*labels)
    return DK_OK;
  json_object *f = json_object_new_object();
  if (f)
    json_object_object_add(f, "label", dk__json_strv(labels));
  return dk__query_filters(q, f);
}

int dk__prune_by_label(size_t *deleted, dk_client *c, const char *resource,
                       const char *const *labels, const char *deleted_key) {
  if (deleted)
    *deleted = 0;
  if (!labels || !*labels)
    return dk__err(DK_EINVAL, 0, "%s prune: at least one label filter is required", resource);
  dk_buf q = DK_BUF_INIT(8192);
  int rc = dk__query_label_filters(&q, labels);
  char *path = rc ? NULL : dk__path("/%s/prune%s", resource, q.data);
  dk_buf_free(&q);
  if (!path)
    return rc ? rc : dk__err(DK_ENOMEM, 0, NULL);
  json_object *o = NULL, *del = NULL;
  rc = dk__send_json(c, "POST", path, NULL, &o, NULL);
  if (!rc && deleted && json_object_object_get_ex(o, deleted_key, &del) &&
      json_object_is_type(del, json_type_array))
    *deleted = json_object_array_length(del);
  json_object_put(o);
  free(path);
  return rc;
}
