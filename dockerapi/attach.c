/* Attaching to a container: stdin up, multiplexed stdout/stderr down.
 *
 * The engine answers attach by taking the connection over ("hijacking"): a
 * 101 answer, then stdin flows up and the output down on the same socket,
 * and closing our write half is how stdin's end is signalled. libcurl's HTTP
 * engine cannot do that, so libcurl only connects (CONNECT_ONLY: unix socket,
 * tcp or TLS alike) and the HTTP exchange is written here over
 * curl_easy_send/recv. A multi handle serves only its wakeup, so that
 * dk_cancel_fire interrupts the wait like every other call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cancel_internal.h"
#include "client_internal.h"
#include "dockerapi/containers.h"
#include "internal.h"
#include "negotiate.h"

#define ATTACH_HEAD_MAX ((size_t)64 * 1024)
#define WHAT "container attach"

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
  struct curl_waitfd wfd = {.fd = h->fd, .events = events};
  return dk__call_poll(h->multi, &wfd, 1, h->call, WHAT);
}

static int hj_open(hijack *h, dk_client *c, const dk_call *call) {
  h->call = call;
  h->easy = curl_easy_init();
  h->multi = curl_multi_init();
  if (!h->easy || !h->multi)
    return dk__err(DK_ENOMEM, 0, NULL);
  long connect_ms = dk__call_wait_ms(call, c->connect_timeout_ms);
  if (connect_ms == 0)
    return dk__err(DK_ETIMEDOUT, 0, "deadline passed before " WHAT);
  char errbuf[CURL_ERROR_SIZE] = "";
  CURL *e = h->easy;
  dk__easy_setup(e, c, c->base, connect_ms, errbuf);
  curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
  CURLcode cc = curl_easy_perform(e);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
  if (cc == CURLE_OPERATION_TIMEDOUT && call && call->deadline_ms)
    return dk__err(DK_ETIMEDOUT, 0, "deadline passed while connecting to %s", c->host);
  if (cc != CURLE_OK)
    return dk__err(dk__code_for_curl_connect(cc, c->tls), 0,
                   "cannot connect to the Docker engine at %s: %s", c->host,
                   errbuf[0] ? errbuf : curl_easy_strerror(cc));
  if (curl_easy_getinfo(e, CURLINFO_ACTIVESOCKET, &h->fd) != CURLE_OK || h->fd == CURL_SOCKET_BAD)
    return dk__err(DK_EIO, 0, WHAT ": no socket from libcurl");
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
      return dk__err(DK_EPROTO, 0, WHAT ": sending failed: %s", curl_easy_strerror(cc));
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
    return dk__err(DK_EPROTO, 0, WHAT ": the engine dropped the connection (%s)",
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
      return dk__err(DK_EPROTO, 0, WHAT ": connection closed before an answer");
    if (n == 0) {
      rc = hj_wait(h, CURL_WAIT_POLLIN);
      if (rc)
        return rc;
      continue;
    }
    if (dk_buf_append(head, chunk, n) != DK_OK)
      return dk__err(DK_EPROTO, 0, WHAT ": answer head too large");
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
  return dk__status_error(status, head->data + head_len, head->len - head_len, WHAT);
}

/* The request that asks for the hijack; NULL when out of memory. */
static char *attach_request(const dk_client *c, const char *id, bool with_stdin) {
  char *path = dk__object_path("containers", id,
                               with_stdin ? "/attach?stream=1&stdout=1&stderr=1&stdin=1"
                                          : "/attach?stream=1&stdout=1&stderr=1",
                               NULL);
  if (!path)
    return NULL;
  char host[300];
  if (strcmp(c->url.scheme, "unix") == 0)
    snprintf(host, sizeof host, "localhost");
  else
    snprintf(host, sizeof host, "%s:%d", c->url.host, c->url.port);
  char *req = NULL;
  if (asprintf(&req,
               "POST /v%s%s HTTP/1.1\r\n"
               "Host: %s\r\nUser-Agent: libdockerapi\r\nContent-Type: text/plain\r\n"
               "Content-Length: 0\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
               c->version, path, host) < 0)
    req = NULL;
  free(path);
  return req;
}

/* Connects, sends the request and reads the answer's head: 0 once the
 * engine took the connection over, with the first output bytes (if any)
 * already in head after *head_len; the mapped error otherwise. */
static int attach_handshake(hijack *h, dk_buf *head, size_t *head_len, dk_client *c,
                            const char *req, const dk_call *call) {
  int rc = hj_open(h, c, call);
  if (!rc) {
    dk__count(c, "POST", "/containers/x/attach");
    rc = hj_send_all(h, req, strlen(req));
  }
  if (!rc)
    rc = hj_read_head(h, head, head_len);
  if (rc)
    return rc;
  long status = 0;
  if (sscanf(head->data, "HTTP/%*s %ld", &status) != 1)
    return dk__err(DK_EPROTO, 0, WHAT ": not an HTTP answer: %.80s", head->data);
  if (status != 101 && status != 200)
    return hj_refused(h, status, head, *head_len);
  return DK_OK;
}

/* Sends stdin while the output comes down, until the engine closes: a
 * container that writes before reading all its input must not deadlock
 * against us. */
static int attach_pump(hijack *h, dk_demux *d, const char *in, size_t in_len) {
  size_t in_off = 0;
  int sending = in != NULL;
  char buf[16384];
  for (;;) {
    int progress = 0;
    if (sending) {
      size_t before = in_off;
      /* The container may exit (and the engine close) without reading all
       * of its input; like the docker CLI, its output still counts. */
      int send_failed = hj_send_some(h, in, in_len, &in_off) != DK_OK;
      progress |= in_off != before;
      if (send_failed) {
        dk_error_clear();
        sending = 0;
      } else if (in_off == in_len) {
        /* the end of stdin: the engine closes the container's stdin
         * (with StdinOnce) when our write half closes */
        shutdown(h->fd, SHUT_WR);
        sending = 0;
        progress = 1;
      }
    }
    size_t n = 0;
    int eof = 0;
    int rc = hj_recv(h, buf, sizeof buf, &n, &eof);
    if (rc)
      return rc;
    if (eof)
      return dk_demux_finish(d);
    if (n) {
      rc = dk_demux_feed(d, buf, n);
      if (rc)
        return rc;
      continue;
    }
    if (!progress) {
      rc = hj_wait(h, CURL_WAIT_POLLIN | (sending ? CURL_WAIT_POLLOUT : 0));
      if (rc)
        return rc;
    }
  }
}

int dk_container_attach(dk_client *c, const char *id, bool tty, const void *stdin_data,
                        size_t stdin_len, dk_frame_cb cb, void *ud, const dk_call *call) {
  if (!id || !cb)
    return dk__err(DK_EINVAL, 0, WHAT ": id and callback are needed");
  int rc = dk__negotiate(c);
  if (rc)
    return rc;
  hijack h = {.fd = CURL_SOCKET_BAD};
  dk_buf head = DK_BUF_INIT(ATTACH_HEAD_MAX);
  dk_demux d;
  dk_demux_init(&d, tty, cb, ud);
  size_t head_len = 0;
  char *req = attach_request(c, id, stdin_data != NULL);
  if (!req) {
    rc = dk__err(DK_ENOMEM, 0, NULL);
    goto cleanup;
  }
  rc = attach_handshake(&h, &head, &head_len, c, req, call);
  if (rc)
    goto cleanup;
  if (head.len > head_len) {
    rc = dk_demux_feed(&d, head.data + head_len, head.len - head_len);
    if (rc)
      goto cleanup;
  }
  rc = attach_pump(&h, &d, stdin_data, stdin_len);
cleanup:
  hj_close(&h);
  dk_demux_free(&d);
  dk_buf_free(&head);
  free(req);
  return rc;
}
