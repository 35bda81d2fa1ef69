/* Containers' output streams: logs (follow or not) and attach. Both carry
 * the multiplexed stdout/stderr format (raw for TTY containers), decoded by
 * dk_demux as libcurl hands the bytes over. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "client_internal.h"
#include "dockerapi/containers.h"
#include "internal.h"

static int demux_on_data(void *ud, const char *data, size_t len) {
  return dk_demux_feed(ud, data, len);
}

static int logs_query(dk_buf *q, const dk_logs_opts *o) {
  bool both = !o->stdout_ && !o->stderr_;
  int rc = dk__query_bool(q, "stdout", both || o->stdout_);
  if (!rc)
    rc = dk__query_bool(q, "stderr", both || o->stderr_);
  if (!rc && o->follow)
    rc = dk__query_bool(q, "follow", 1);
  if (!rc && o->since)
    rc = dk__query_int(q, "since", o->since);
  if (!rc && o->until)
    rc = dk__query_int(q, "until", o->until);
  if (!rc && o->tail > 0)
    rc = dk__query_int(q, "tail", o->tail);
  if (!rc && o->timestamps)
    rc = dk__query_bool(q, "timestamps", 1);
  return rc;
}

int dk_container_logs(dk_client *c, const char *id, const dk_logs_opts *opts, dk_frame_cb cb,
                      void *ud, const dk_call *call) {
  if (!id || !cb)
    return dk__err(DK_EINVAL, 0, "container logs: id and callback are needed");
  static const dk_logs_opts defaults = {0};
  const dk_logs_opts *o = opts ? opts : &defaults;
  dk_buf q = DK_BUF_INIT(1024);
  char *esc = dk__esc(id);
  int rc = logs_query(&q, o);
  char *path = !rc && esc ? dk__path("/containers/%s/logs%s", esc, q.data) : NULL;
  free(esc);
  dk_buf_free(&q);
  if (!path)
    return dk__err(rc ? rc : DK_ENOMEM, 0, NULL);
  dk_demux d;
  dk_demux_init(&d, o->tty, cb, ud);
  dk__req req = {
      .method = "GET", .path = path, .on_data = demux_on_data, .data_ud = &d, .call = call};
  dk__resp resp;
  rc = dk__do(c, &req, &resp);
  if (!rc)
    rc = dk_demux_finish(&d);
  dk__resp_free(&resp);
  dk_demux_free(&d);
  free(path);
  return rc;
}

/* Private "stop reading" value of the collecting callback: positive, so it
 * can never be mistaken for a dk_error_code. */
#define COLLECT_FULL 1

typedef struct collect {
  dk_buf *out, *err;
  bool want_out, want_err;
} collect;

static int collect_cb(void *ud, int stream, const char *data, size_t len) {
  collect *k = ud;
  dk_buf *b = stream == DK_STREAM_STDERR ? k->err : k->out;
  if (!b)
    return 0;
  int rc = dk_buf_append(b, data, len);
  if (rc == DK_ENOMEM)
    return dk__err(DK_ENOMEM, 0, NULL);
  /* Once every wanted buffer is full, reading on only costs time: a
   * flooding container can write gigabytes. */
  if ((!k->want_out || k->out->truncated) && (!k->want_err || k->err->truncated))
    return COLLECT_FULL;
  return 0;
}

int dk_container_logs_collect(dk_client *c, const char *id, const dk_logs_opts *opts, dk_buf *out,
                              dk_buf *err, const dk_call *call) {
  static const dk_logs_opts defaults = {0};
  const dk_logs_opts *o = opts ? opts : &defaults;
  bool both = !o->stdout_ && !o->stderr_;
  collect k = {.out = out,
               .err = err,
               .want_out = out && (both || o->stdout_),
               .want_err = err && (both || o->stderr_)};
  if (!k.want_out && !k.want_err)
    return DK_OK; /* nothing would be kept */
  /* Only ask for the streams that have a buffer. */
  dk_logs_opts eff = *o;
  eff.stdout_ = k.want_out;
  eff.stderr_ = k.want_err;
  int rc = dk_container_logs(c, id, &eff, collect_cb, &k, call);
  return rc == COLLECT_FULL ? DK_OK : rc;
}

/* ---- attach ----------------------------------------------------------------
 * The engine answers attach by taking the connection over ("hijacking"): a
 * 101 answer, then stdin flows up and the output down on the same socket,
 * and closing our write half is how stdin's end is signalled. libcurl's HTTP
 * engine cannot do that, so libcurl only connects (CONNECT_ONLY: unix socket,
 * tcp or TLS alike) and the HTTP exchange is written here over
 * curl_easy_send/recv. A multi handle serves only its wakeup, so that
 * dk_cancel_fire interrupts the wait like every other call. */

#define ATTACH_HEAD_MAX ((size_t)64 * 1024)

typedef struct hijack {
  CURL *easy;
  CURLM *multi;
  curl_socket_t fd;
  const dk_call *call;
  dk__waiter w;
  int watching;
} hijack;

/* Waits for the socket (events: CURL_WAIT_POLLIN/POLLOUT), the deadline or a
 * cancel. The caller retries its I/O afterwards whatever woke it. */
static int hj_wait(hijack *h, short events) {
  if (h->call && h->call->cancel && dk_cancel_fired(h->call->cancel))
    return dk__err(DK_ECANCELED, 0, "container attach canceled");
  int wait_ms = 1000;
  if (h->call && h->call->deadline_ms) {
    int64_t left = h->call->deadline_ms - dk_now_ms();
    if (left <= 0)
      return dk__err(DK_ETIMEDOUT, 0, "deadline passed during container attach");
    if (left < wait_ms)
      wait_ms = (int)left;
  }
  struct curl_waitfd wfd = {.fd = h->fd, .events = events};
  CURLMcode mc = curl_multi_poll(h->multi, &wfd, 1, wait_ms, NULL);
  if (mc != CURLM_OK)
    return dk__err(DK_EIO, 0, "libcurl: %s", curl_multi_strerror(mc));
  return DK_OK;
}

static int connect_error_code(CURLcode cc) {
  switch (cc) {
  case CURLE_OPERATION_TIMEDOUT:
    return DK_ETIMEDOUT;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
    return DK_ETLS;
  case CURLE_OUT_OF_MEMORY:
    return DK_ENOMEM;
  default:
    return DK_ECONNECT;
  }
}

static int hj_open(hijack *h, dk_client *c, const dk_call *call) {
  h->call = call;
  h->easy = curl_easy_init();
  h->multi = curl_multi_init();
  if (!h->easy || !h->multi)
    return dk__err(DK_ENOMEM, 0, NULL);
  long connect_ms = c->connect_timeout_ms;
  if (call && call->deadline_ms) {
    int64_t left = call->deadline_ms - dk_now_ms();
    if (left <= 0)
      return dk__err(DK_ETIMEDOUT, 0, "deadline passed before container attach");
    if (left < connect_ms)
      connect_ms = (long)left;
  }
  char errbuf[CURL_ERROR_SIZE] = "";
  CURL *e = h->easy;
  curl_easy_setopt(e, CURLOPT_URL, c->base);
  curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(e, CURLOPT_PROXY, "");
  curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
  if (strcmp(c->url.scheme, "unix") == 0)
    curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, c->url.path);
  dk__set_tls(e, c);
  CURLcode cc = curl_easy_perform(e);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
  if (cc == CURLE_OPERATION_TIMEDOUT && call && call->deadline_ms)
    return dk__err(DK_ETIMEDOUT, 0, "deadline passed while connecting to %s", c->host);
  if (cc != CURLE_OK)
    return dk__err(connect_error_code(cc), 0, "cannot connect to the Docker engine at %s: %s",
                   c->host, errbuf[0] ? errbuf : curl_easy_strerror(cc));
  if (curl_easy_getinfo(e, CURLINFO_ACTIVESOCKET, &h->fd) != CURLE_OK || h->fd == CURL_SOCKET_BAD)
    return dk__err(DK_EIO, 0, "container attach: no socket from libcurl");
  if (call && call->cancel) {
    h->w.multi = h->multi;
    dk__cancel_watch(call->cancel, &h->w);
    h->watching = 1;
  }
  return DK_OK;
}

static void hj_close(hijack *h) {
  if (h->watching)
    dk__cancel_unwatch(h->call->cancel, &h->w);
  if (h->easy)
    curl_easy_cleanup(h->easy);
  if (h->multi)
    curl_multi_cleanup(h->multi);
}

/* Sends what it can without blocking; *off advances. */
static int hj_send_some(hijack *h, const char *data, size_t len, size_t *off) {
  while (*off < len) {
    size_t n = 0;
    CURLcode cc = curl_easy_send(h->easy, data + *off, len - *off, &n);
    if (cc == CURLE_AGAIN)
      return DK_OK;
    if (cc != CURLE_OK)
      return dk__err(DK_EPROTO, 0, "container attach: sending failed: %s", curl_easy_strerror(cc));
    *off += n;
  }
  return DK_OK;
}

static int hj_send_all(hijack *h, const char *data, size_t len) {
  size_t off = 0;
  for (;;) {
    int rc = hj_send_some(h, data, len, &off);
    if (rc || off == len)
      return rc;
    rc = hj_wait(h, CURL_WAIT_POLLOUT);
    if (rc)
      return rc;
  }
}

/* Reads what is available: *n = 0 with *eof at the end of the stream;
 * *n = 0 without eof when nothing is ready. */
static int hj_recv(hijack *h, char *buf, size_t cap, size_t *n, int *eof) {
  *n = 0;
  CURLcode cc = curl_easy_recv(h->easy, buf, cap, n);
  if (cc == CURLE_AGAIN) {
    *n = 0;
    return DK_OK;
  }
  if (cc != CURLE_OK)
    return dk__err(DK_EPROTO, 0, "container attach: the engine dropped the connection (%s)",
                   curl_easy_strerror(cc));
  if (*n == 0)
    *eof = 1;
  return DK_OK;
}

/* Reads until the end of the answer's head; what came after it stays in
 * head after *head_len. */
static int hj_read_head(hijack *h, dk_buf *head, size_t *head_len) {
  char chunk[4096];
  for (;;) {
    char *end = head->data ? strstr(head->data, "\r\n\r\n") : NULL;
    if (end) {
      *head_len = (size_t)(end - head->data) + 4;
      return DK_OK;
    }
    size_t n = 0;
    int eof = 0;
    int rc = hj_recv(h, chunk, sizeof chunk, &n, &eof);
    if (rc)
      return rc;
    if (eof)
      return dk__err(DK_EPROTO, 0, "container attach: connection closed before an answer");
    if (n == 0) {
      rc = hj_wait(h, CURL_WAIT_POLLIN);
      if (rc)
        return rc;
      continue;
    }
    if (dk_buf_append(head, chunk, n) != DK_OK)
      return dk__err(DK_EPROTO, 0, "container attach: answer head too large");
  }
}

/* A refused attach (404, 409...): reads the body (to its Content-Length or
 * the end, capped) and maps the status with the engine's message. */
static int hj_refused(hijack *h, long status, dk_buf *head, size_t head_len) {
  const char *cl = strcasestr(head->data, "\r\ncontent-length:");
  size_t want = cl && cl < head->data + head_len ? strtoul(cl + 17, NULL, 10) : ATTACH_HEAD_MAX;
  char chunk[4096];
  while (head->len - head_len < want && !head->truncated) {
    size_t n = 0;
    int eof = 0;
    if (hj_recv(h, chunk, sizeof chunk, &n, &eof) || eof)
      break;
    if (n == 0) {
      if (hj_wait(h, CURL_WAIT_POLLIN))
        break;
      continue;
    }
    (void)dk_buf_append(head, chunk, n); /* capped: the head of a message is enough */
  }
  const char *body = head->data + head_len;
  json_object *o = json_tokener_parse(body);
  const char *msg = dk__json_str(o, "message");
  int code = dk__code_for_status(status);
  if (msg)
    dk__err(code, status, "%s", msg);
  else
    dk__err(code, status, "container attach: HTTP %ld: %.200s", status, body);
  json_object_put(o);
  return code;
}

int dk_container_attach(dk_client *c, const char *id, bool tty, const void *stdin_data,
                        size_t stdin_len, dk_frame_cb cb, void *ud, const dk_call *call) {
  if (!id || !cb)
    return dk__err(DK_EINVAL, 0, "container attach: id and callback are needed");
  int rc = dk__negotiate(c);
  if (rc)
    return rc;
  hijack h = {.fd = CURL_SOCKET_BAD};
  dk_buf head = DK_BUF_INIT(ATTACH_HEAD_MAX);
  dk_demux d;
  dk_demux_init(&d, tty, cb, ud);
  char *req = NULL;
  char *esc = dk__esc(id);
  char host[300];
  if (strcmp(c->url.scheme, "unix") == 0)
    snprintf(host, sizeof host, "localhost");
  else
    snprintf(host, sizeof host, "%s:%d", c->url.host, c->url.port);
  if (!esc || asprintf(&req,
                       "POST /v%s/containers/%s/attach?stream=1&stdout=1&stderr=1%s HTTP/1.1\r\n"
                       "Host: %s\r\nUser-Agent: libdockerapi\r\nContent-Type: text/plain\r\n"
                       "Content-Length: 0\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
                       c->version, esc, stdin_data ? "&stdin=1" : "", host) < 0) {
    req = NULL;
    rc = dk__err(DK_ENOMEM, 0, NULL);
    goto cleanup;
  }
  rc = hj_open(&h, c, call);
  if (!rc)
    rc = hj_send_all(&h, req, strlen(req));
  size_t head_len = 0;
  if (!rc)
    rc = hj_read_head(&h, &head, &head_len);
  if (rc)
    goto cleanup;
  long status = 0;
  if (sscanf(head.data, "HTTP/%*s %ld", &status) != 1) {
    rc = dk__err(DK_EPROTO, 0, "container attach: not an HTTP answer: %.80s", head.data);
    goto cleanup;
  }
  if (status != 101 && status != 200) {
    rc = hj_refused(&h, status, &head, head_len);
    goto cleanup;
  }
  if (head.len > head_len) {
    rc = dk_demux_feed(&d, head.data + head_len, head.len - head_len);
    if (rc)
      goto cleanup;
  }
  /* stdin goes up while output comes down: a container that writes before
   * reading all its input must not deadlock against us. */
  const char *in = stdin_data;
  size_t in_off = 0;
  int sending = stdin_data != NULL;
  char buf[16384];
  for (;;) {
    int progress = 0;
    if (sending) {
      size_t before = in_off;
      /* The container may exit (and the engine close) without reading all
       * of its input; like the docker CLI, its output still counts. */
      int send_failed = hj_send_some(&h, in, stdin_len, &in_off) != DK_OK;
      progress |= in_off != before;
      if (send_failed) {
        dk_error_clear();
        sending = 0;
      } else if (in_off == stdin_len) {
        /* the end of stdin: the engine closes the container's stdin
         * (with StdinOnce) when our write half closes */
        shutdown(h.fd, SHUT_WR);
        sending = 0;
        progress = 1;
      }
    }
    size_t n = 0;
    int eof = 0;
    rc = hj_recv(&h, buf, sizeof buf, &n, &eof);
    if (rc)
      goto cleanup;
    if (eof)
      break;
    if (n) {
      rc = dk_demux_feed(&d, buf, n);
      if (rc)
        goto cleanup;
      continue;
    }
    if (!progress) {
      rc = hj_wait(&h, CURL_WAIT_POLLIN | (sending ? CURL_WAIT_POLLOUT : 0));
      if (rc)
        goto cleanup;
    }
  }
  rc = dk_demux_finish(&d);
cleanup:
  hj_close(&h);
  dk_demux_free(&d);
  dk_buf_free(&head);
  free(req);
  free(esc);
  return rc;
}
