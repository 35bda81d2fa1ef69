/* Declared volumes covered by tmpfs (see volumes.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dockerapi/images.h"

#include "common/error.h"
#include "common/utf8.h"
#include "common/volumes.h"

/* Shown in a message: a program's bytes, cleaned and cut short. */
static void shown(char *dst, size_t cap, const char *path) {
  size_t len = strnlen(path, 120);
  size_t n = jd_utf8_clean(dst, cap, path, len, JD_UTF8_ESCAPE_CONTROLS);
  if (path[len] && n + 4 < cap)
    memcpy(dst + n, "...", 4);
}

/* The runtime's own filesystems: covering them would hide or replace what
 * the container needs (and the engine refuses some of them late). */
static const char *const kernel_dirs[] = {"proc", "sys", "dev"};

int jd_volume_path_clean(char *clean, size_t cleanlen, const char *path, char *err, size_t errlen) {
  char show[160];
  if (cleanlen)
    clean[0] = '\0';
  if (!path || !*path)
    return jd_fail(err, errlen, "VOLUME with an empty path");
  shown(show, sizeof show, path);
  size_t len = strlen(path);
  if (!jd_utf8_valid(path, len))
    return jd_fail(err, errlen, "VOLUME %s: not UTF-8", show);
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f)
      return jd_fail(err, errlen, "VOLUME %s: a control character in the path", show);
  if (path[0] != '/')
    return jd_fail(err, errlen, "VOLUME %s: not an absolute path", show);
  /* One component at a time, without the repeated and trailing slashes
   * (the engine's filepath.Clean; "." and ".." are refused, not resolved). */
  size_t out = 0;
  const char *p = path;
  while (*p) {
    while (*p == '/')
      p++;
    if (!*p)
      break;
    size_t n = strcspn(p, "/");
    if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
      return jd_fail(err, errlen, "VOLUME %s: a \".\" or \"..\" component", show);
    if (out + 1 + n > JD_VOLUME_PATH_MAX || out + 1 + n >= cleanlen)
      return jd_fail(err, errlen, "VOLUME %s: longer than %d bytes", show, JD_VOLUME_PATH_MAX);
    clean[out++] = '/';
    memcpy(clean + out, p, n);
    out += n;
    clean[out] = '\0';
    p += n;
  }
  if (out == 0)
    return jd_fail(err, errlen, "VOLUME %s: the root itself", show);
  for (size_t k = 0; k < sizeof kernel_dirs / sizeof *kernel_dirs; k++) {
    size_t n = strlen(kernel_dirs[k]);
    if (!strncmp(clean + 1, kernel_dirs[k], n) && (clean[1 + n] == '/' || !clean[1 + n]))
      return jd_fail(err, errlen, "VOLUME %s: under /%s, the runtime's own filesystem", show,
                     kernel_dirs[k]);
  }
  return 0;
}

/* Where a path is with respect to a directory. */
typedef enum path_relation {
  PATH_APART,  /* neither */
  PATH_SAME,   /* the directory itself */
  PATH_INSIDE, /* strictly inside it */
} path_relation;

static path_relation relation(const char *path, const char *dir, size_t dirlen) {
  while (dirlen > 1 && dir[dirlen - 1] == '/')
    dirlen--;
  if (strncmp(path, dir, dirlen))
    return PATH_APART;
  if (!path[dirlen])
    return PATH_SAME;
  return path[dirlen] == '/' ? PATH_INSIDE : PATH_APART;
}

/* The container path of a bind "host:ctr[:opts]": the last field that
 * starts with '/'. */
static const char *bind_dest(const char *bind, size_t *len) {
  const char *end = bind + strlen(bind);
  for (;;) {
    const char *colon = end;
    while (colon > bind && colon[-1] != ':')
      colon--;
    if (colon == bind)
      break;
    if (*colon == '/') {
      *len = (size_t)(end - colon);
      return colon;
    }
    end = colon - 1; /* an option field: look before it */
  }
  *len = 0;
  return NULL;
}

/* Marks v refused (the tmpfs list back to the caller's entries); 0. */
__attribute__((format(printf, 3, 4))) static int refuse(jd_volumes *v, size_t nbase,
                                                        const char *fmt, ...) {
  v->refused = true;
  v->ntmpfs = nbase;
  v->ncovered = 0;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(v->why, sizeof v->why, fmt, ap);
  va_end(ap);
  return 0;
}

int jd_volumes_cover(jd_volumes *v, const char *const *volumes, bool truncated, const dk_kv *base,
                     size_t nbase, const char *const *binds, int64_t size, char *err,
                     size_t errlen) {
  memset(v, 0, sizeof *v);
  if (nbase > JD_VOLUMES_BASE_MAX || size <= 0)
    return jd_fail(err, errlen, "volumes: %zu tmpfs entries of the judger's, size %lld", nbase,
                   (long long)size);
  for (size_t i = 0; i < nbase; i++)
    v->tmpfs[i] = base[i];
  v->ntmpfs = nbase;
  snprintf(v->opts, sizeof v->opts, "rw,nosuid,nodev,size=%lld,mode=1777", (long long)size);
  if (truncated)
    return refuse(v, nbase, "the image declares more than %d volumes", DK_IMAGE_VOLUMES_MAX);
  char clean[JD_VOLUME_PATH_MAX + 1], show[160];
  for (size_t i = 0; volumes && volumes[i]; i++) {
    if (jd_volume_path_clean(clean, sizeof clean, volumes[i], v->why, sizeof v->why)) {
      v->refused = true;
      v->ntmpfs = nbase;
      v->ncovered = 0;
      return 0;
    }
    shown(show, sizeof show, volumes[i]);
    /* Where the judger mounts something already: that mount covers it;
     * inside one: refused (a nested mount would be a second, uncounted
     * place in the judger's own: /judger/out's cap, /app's files). */
    bool covered = false;
    for (size_t k = 0; k < nbase && !covered; k++) {
      path_relation r = relation(clean, base[k].key, strlen(base[k].key));
      if (r == PATH_INSIDE)
        return refuse(v, nbase, "VOLUME %s: inside %s, which the judger mounts", show, base[k].key);
      covered = r == PATH_SAME;
    }
    for (size_t k = 0; binds && binds[k] && !covered; k++) {
      size_t dlen = 0;
      const char *dest = bind_dest(binds[k], &dlen);
      if (!dest)
        continue;
      path_relation r = relation(clean, dest, dlen);
      if (r == PATH_INSIDE) {
        char d[JD_VOLUME_PATH_MAX + 1];
        snprintf(d, sizeof d, "%.*s", (int)dlen, dest);
        return refuse(v, nbase, "VOLUME %s: inside %s, which the judger mounts", show, d);
      }
      covered = r == PATH_SAME;
    }
    for (size_t k = 0; k < v->ncovered && !covered; k++)
      covered = !strcmp(v->paths[k], clean);
    if (covered)
      continue;
    if (v->ncovered == JD_VOLUMES_MAX)
      return refuse(v, nbase, "the image declares more than %d volumes", JD_VOLUMES_MAX);
    memcpy(v->paths[v->ncovered], clean, strlen(clean) + 1);
    v->tmpfs[v->ntmpfs++] = (dk_kv){v->paths[v->ncovered], v->opts};
    v->ncovered++;
  }
  return 0;
}
