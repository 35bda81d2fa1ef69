/* Every create's Ulimits and Podman's forms of the rest (see
 * create_compat.h). */
#include "match/create_compat.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "match/seccomp.h"

const dk_ulimit jd_create_ulimits[JD_CREATE_NULIMITS] = {
    {"core", 0, 0}, /* a crashing program's core would land in its cwd or fill /tmp */
    {"nofile", JD_ULIMIT_NOFILE, JD_ULIMIT_NOFILE},
    {"nproc", JD_ULIMIT_NPROC, JD_ULIMIT_NPROC},
};

/* Appends s (len bytes) with a comma before it unless first. */
static int opts_put(char *out, size_t n, size_t *at, const char *s, size_t len) {
  size_t need = (*at ? 1 : 0) + len;
  if (*at + need + 1 > n) {
    errno = ENAMETOOLONG;
    return -1;
  }
  if (*at)
    out[(*at)++] = ',';
  memcpy(out + *at, s, len);
  *at += len;
  out[*at] = '\0';
  return 0;
}

int jd_compat_tmpfs_opts(char *out, size_t n, const jd_engine *e, const char *opts) {
  if (e->tmpfs_nr_inodes) {
    if (strlen(opts) + 1 > n) {
      errno = ENAMETOOLONG;
      return -1;
    }
    memcpy(out, opts, strlen(opts) + 1);
    return 0;
  }
  size_t at = 0;
  bool owner = false;
  if (n)
    out[0] = '\0';
  for (const char *p = opts; *p;) {
    size_t len = strcspn(p, ",");
    bool id = (len > 4 && !strncmp(p, "uid=", 4)) || (len > 4 && !strncmp(p, "gid=", 4));
    bool inodes = len >= 10 && !strncmp(p, "nr_inodes=", 10);
    /* Podman's "U": the mount belongs to the container's user, which is
     * what the judger's uid=/gid= name (the build user). */
    if (id && !owner && opts_put(out, n, &at, "U", 1))
      return -1;
    owner = owner || id;
    if (!id && !inodes && len && opts_put(out, n, &at, p, len))
      return -1;
    p += len + (p[len] == ',');
  }
  return 0;
}

/* The profile's file name: content-addressed, so a judger with another
 * profile never reads this one's. */
static void profile_name(char *out, size_t n, const char *json, size_t len) {
  char sha[65];
  jd_sha256_hex(sha, json, len);
  snprintf(out, n, "seccomp-%.16s.json", sha);
}

/* Whether dir holds name as the judger's own copy of json: a regular file
 * of ours, writable by no one else, with exactly those bytes. */
static bool profile_present(int dir, const char *name, const char *json, size_t len) {
  int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return false;
  struct stat st;
  bool ok = !fstat(fd, &st) && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
            !(st.st_mode & 022) && (size_t)st.st_size == len;
  char *buf = ok ? malloc(len + 1) : NULL;
  ok = ok && buf;
  if (ok) {
    /* one byte more than expected: a file that grew is not ours */
    ssize_t got = pread(fd, buf, len + 1, 0);
    ok = got == (ssize_t)len && !memcmp(buf, json, len);
  }
  free(buf);
  close(fd);
  return ok;
}

/* Writes json to dir/name through a temporary file (O_EXCL, 0644) renamed
 * over it: a reader never sees half a profile. 0, or -1 with errno. */
static int profile_write(int dir, const char *name, const char *json, size_t len) {
  char tmp[64], rnd[17];
  if (jd_random_hex(rnd, 8) != 0)
    return -1;
  snprintf(tmp, sizeof tmp, ".seccomp-%s.tmp", rnd);
  int fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0)
    return -1;
  int rc = fchmod(fd, 0644); /* whatever the umask: the engine reads it */
  if (!rc)
    rc = jd_write_all(fd, json, len);
  if (!rc)
    rc = fsync(fd);
  int e = errno; /* the write's or fsync's, kept across close */
  close(fd);
  if (!rc) {
    rc = renameat(dir, tmp, dir, name);
    e = errno;
  }
  if (rc) {
    unlinkat(dir, tmp, 0);
    errno = e;
  }
  return rc;
}

/* <state_dir>/engine, made 0755 when missing, opened without following a
 * link; refused unless it is ours and writable by no one else (the file
 * in it is what the engine applies). fd, or -1 with errno. */
static int engine_dir_open(const char *state_dir) {
  int sd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (sd < 0)
    return -1;
  if (mkdirat(sd, "engine", 0755) && errno != EEXIST) {
    int e = errno;
    close(sd);
    errno = e;
    return -1;
  }
  int fd = openat(sd, "engine", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int e = errno;
  close(sd);
  struct stat st;
  if (fd >= 0 && (fstat(fd, &st) || st.st_uid != geteuid() || (st.st_mode & 022))) {
    close(fd);
    e = EPERM;
    fd = -1;
  }
  errno = e;
  return fd;
}

int jd_seccomp_file_opt(char *out, size_t n, const char *state_dir, char *err, size_t errlen) {
  if (!state_dir || state_dir[0] != '/')
    return jd_fail(err, errlen, "seccomp profile: the state directory is not an absolute path");
  const char *json = jd_seccomp_security_opt() + strlen("seccomp=");
  size_t len = strlen(json);
  char name[64];
  profile_name(name, sizeof name, json, len);
  int ret = snprintf(out, n, "seccomp=%s/engine/%s", state_dir, name);
  if (ret < 0 || (size_t)ret >= n)
    return jd_fail(err, errlen, "seccomp profile: path too long under %s", state_dir);
  int dir = engine_dir_open(state_dir);
  if (dir < 0)
    return jd_fail(err, errlen, "seccomp profile: cannot open %s/engine: %s", state_dir,
                   strerror(errno));
  int rc = 0;
  if (!profile_present(dir, name, json, len) && profile_write(dir, name, json, len))
    rc = jd_fail(err, errlen, "seccomp profile: cannot write %s/engine/%s: %s", state_dir, name,
                 strerror(errno));
  close(dir);
  return rc;
}

/* SecurityOpt with its "seccomp=" entry replaced by path_opt. */
static int apply_seccomp(dk_host_config *hc, jd_compat_store *st, const char *path_opt, char *err,
                         size_t errlen) {
  if (!hc->security_opt)
    return 0;
  size_t i = 0;
  for (; hc->security_opt[i]; i++) {
    if (i == JD_COMPAT_SECOPT_MAX)
      return jd_fail(err, errlen, "more than %d security options", JD_COMPAT_SECOPT_MAX);
    bool profile = !strncmp(hc->security_opt[i], "seccomp=", 8) &&
                   strcmp(hc->security_opt[i], "seccomp=unconfined") != 0;
    if (profile && !path_opt)
      return jd_fail(err, errlen, "the engine reads seccomp profiles as paths, and none was given");
    st->secopt[i] = profile ? path_opt : hc->security_opt[i];
  }
  st->secopt[i] = NULL;
  hc->security_opt = st->secopt;
  return 0;
}

/* Whether hc mounts something at exactly path: a tmpfs of its own or a
 * bind ("src:dst[:opts]"). */
static bool mounts_at(const dk_host_config *hc, const char *path) {
  size_t n = strlen(path);
  for (size_t i = 0; i < hc->ntmpfs; i++)
    if (hc->tmpfs[i].key && !strcmp(hc->tmpfs[i].key, path))
      return true;
  for (size_t i = 0; hc->binds && hc->binds[i]; i++) {
    const char *dst = strchr(hc->binds[i], ':');
    if (dst && !strncmp(dst + 1, path, n) && (dst[1 + n] == '\0' || dst[1 + n] == ':'))
      return true;
  }
  return false;
}

/* hc's tmpfs for e: each entry's options in e's form, then, on an engine
 * that mounts its own writable tmpfs in a read-only container, a shut one
 * (JD_COMPAT_SHUT_TMPFS) at each of those paths hc leaves free. hc is left
 * as it is when nothing changes (Docker: byte-identical creates). */
static int apply_tmpfs(dk_host_config *hc, jd_compat_store *st, const jd_engine *e, char *err,
                       size_t errlen) {
  static const char *const engine_paths[JD_COMPAT_SHUT_MAX] = {"/run", "/var/tmp", "/tmp"};
  const char *shut[JD_COMPAT_SHUT_MAX];
  size_t nshut = 0;
  for (size_t i = 0; e->tmpfs_over_run && hc->readonly_rootfs && i < JD_COMPAT_SHUT_MAX; i++)
    if (!mounts_at(hc, engine_paths[i]))
      shut[nshut++] = engine_paths[i];
  if (!nshut && (e->tmpfs_nr_inodes || !hc->ntmpfs))
    return 0;
  if (hc->ntmpfs > JD_COMPAT_TMPFS_MAX - JD_COMPAT_SHUT_MAX)
    return jd_fail(err, errlen, "more than %d tmpfs mounts",
                   JD_COMPAT_TMPFS_MAX - JD_COMPAT_SHUT_MAX);
  for (size_t i = 0; i < hc->ntmpfs; i++) {
    st->tmpfs[i].key = hc->tmpfs[i].key;
    st->tmpfs[i].value = st->opts[i];
    if (jd_compat_tmpfs_opts(st->opts[i], sizeof st->opts[i], e,
                             hc->tmpfs[i].value ? hc->tmpfs[i].value : ""))
      return jd_fail(err, errlen, "tmpfs options of %s too long", hc->tmpfs[i].key);
  }
  for (size_t i = 0; i < nshut; i++)
    st->tmpfs[hc->ntmpfs + i] = (dk_kv){shut[i], JD_COMPAT_SHUT_TMPFS};
  hc->tmpfs = st->tmpfs;
  hc->ntmpfs += nshut;
  return 0;
}

int jd_compat_apply(dk_host_config *hc, jd_compat_store *st, const jd_engine *e,
                    const char *seccomp_path_opt, char *err, size_t errlen) {
  /* Docker: core 0 only, nofile and nproc stay the engine's (as before
   * Podman support: RLIMIT_NPROC counts uid 65534's processes across every
   * match, so a lower explicit value would let one contestant's forks starve
   * the others). Podman: all three, as it would otherwise ask runc for
   * 1048576, which fails under a lower hard limit. */
  hc->ulimits = jd_create_ulimits;
  hc->nulimits = e->kind == DK_ENGINE_PODMAN ? JD_CREATE_NULIMITS : 1;
  if (e->seccomp_by_path && apply_seccomp(hc, st, seccomp_path_opt, err, errlen))
    return -1;
  return apply_tmpfs(hc, st, e, err, errlen);
}

/* Whether SecurityOpt names a seccomp profile of the judger's. */
static bool names_profile(const dk_host_config *hc) {
  for (size_t i = 0; hc->security_opt && hc->security_opt[i]; i++)
    if (!strncmp(hc->security_opt[i], "seccomp={", 9))
      return true;
  return false;
}

int jd_create_compat(dk_host_config *hc, jd_compat_store *st, jd_ctx *ctx, char *err,
                     size_t errlen) {
  const jd_engine *e = jd_ctx_engine(ctx, err, errlen);
  if (!e)
    return -1;
  const char *path_opt = NULL;
  if (e->seccomp_by_path && names_profile(hc)) {
    if (jd_seccomp_file_opt(st->seccomp, sizeof st->seccomp, ctx->state_dir, err, errlen))
      return -1;
    path_opt = st->seccomp;
  }
  return jd_compat_apply(hc, st, e, path_opt, err, errlen);
}
