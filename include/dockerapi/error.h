/* libdockerapi — error codes.
 *
 * One table generates the enum, the names and the messages, so no code can
 * lack its message (the habit of libuv's UV_ERRNO_MAP). Every function that
 * can fail returns 0 or one of these negative codes; the details of the last
 * failure on the calling thread are kept in dk_error_last().
 *
 * A code says what Docker's status for the same state says, on Podman too:
 * where Podman answers 500 (a name taken, a container in the wrong state,
 * a network in use, a subnet overlap, a missing network at create), its
 * answer's "cause" gives the code Docker's 409/403/404 would
 * (docs/engines.md); dk_error.http_status stays the status that came.
 */
#ifndef DOCKERAPI_ERROR_H
#define DOCKERAPI_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

#define DK_ERROR_MAP(XX)                                                                           \
  XX(EINVAL, -1, "invalid argument")                                                               \
  XX(ENOMEM, -2, "out of memory")                                                                  \
  XX(ENOTFOUND, -3, "no such object (404)")                                                        \
  XX(ECONFLICT, -4, "conflict with the object's current state (409)")                              \
  XX(EBADREQ, -5, "request refused by the engine (400)")                                           \
  XX(EHTTP, -6, "engine answered with an unexpected status")                                       \
  XX(ESERVER, -7, "engine failed internally (5xx)")                                                \
  XX(ECONNECT, -8, "cannot connect to the Docker engine")                                          \
  XX(ETIMEDOUT, -9, "deadline passed")                                                             \
  XX(ECANCELED, -10, "canceled")                                                                   \
  XX(EPROTO, -11, "protocol error in the engine's answer")                                         \
  XX(ETOOBIG, -12, "answer larger than its cap")                                                   \
  XX(ETLS, -13, "TLS error")                                                                       \
  XX(EIO, -14, "input/output error")                                                               \
  XX(EJSON, -15, "malformed JSON")                                                                 \
  XX(EBUILD, -16, "image build failed")                                                            \
  XX(ESTREAM, -17, "engine reported an error inside the stream")                                   \
  XX(ENOTMODIFIED, -18, "object already in the requested state (304)")                             \
  XX(EVERSION, -19, "engine API version not supported")                                            \
  XX(EFORBIDDEN, -20, "operation forbidden (403)")                                                 \
  XX(EINTERNAL, -21, "internal error in libdockerapi")

typedef enum dk_error_code {
  DK_OK = 0,
#define DK_XX_ENUM(name, value, msg) DK_##name = value,
  DK_ERROR_MAP(DK_XX_ENUM)
#undef DK_XX_ENUM
} dk_error_code;

/* Details of the last error on this thread. */
typedef struct dk_error {
  int code;            /* a dk_error_code */
  long http_status;    /* 0 when no HTTP answer was read */
  const char *message; /* the engine's "message" when it sent one, else ours */
} dk_error;

/* Static name ("DK_ENOTFOUND") and message of a code; never NULL. */
const char *dk_error_name(int code);
const char *dk_strerror(int code);

/* The last error raised on the calling thread, or NULL if none. Valid until
 * the next libdockerapi call on this thread. */
const dk_error *dk_error_last(void);
void dk_error_clear(void);

#ifdef __cplusplus
}
#endif
#endif
