/* Containers' logs (follow or not, or collected into capped buffers). They
 * carry the multiplexed stdout/stderr format (raw for TTY containers),
 * decoded by dk_demux as libcurl hands the bytes over. attach is in
 * attach.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
  int rc = logs_query(&q, o);
  char *path = rc ? NULL : dk__object_path("containers", id, "/logs", &q);
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
