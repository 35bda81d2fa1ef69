/* Cores of the host's pool leased to one match (see cpu_pool.h).
 *
 * Theory of operation:
 *   - The pool is numbers until a container runs: ctx->cpu_pool parsed, or
 *     0..NCPU-1 from the engine's /info (asked once per client).
 *   - A core is leased by a non-blocking flock on <state_dir>/locks/cpu-<n>
 *     (the locks directory net_stock.c uses), the directory and the file
 *     opened without following a link, the file made when missing (0600)
 *     and never unlinked: its name is its lock for good, so no holder can
 *     lose it to a new file of the same name. flock belongs to the open
 *     file, so two matches of one process (the daemon's slots) are kept
 *     apart as two processes are, and the kernel frees a dead holder's.
 *   - A match asks 1 + nais cores and takes the free ones in pool order, up
 *     to that many: a busy host gives fewer (shared, jd_cpu_assign) or none
 *     (the whole pool, shared). Taking is never waiting.
 */
#include "match/cpu_pool.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fs.h"
#include "dockerapi/system.h"

/* A cpu_pool setting longer than this is refused unread. */
#define POOL_TEXT_MAX 1024

struct jd_cpu_lease {
  size_t nais;
  size_t nheld;
  unsigned short *cpu; /* the leased cores, in pool order */
  int *fd;             /* their locks */
  char pool[JD_CPUSET_MAX];
};

/* ---- the pool's text ----------------------------------------------------- */

/* One number at *p (digits, no leading zero, below JD_CPU_POOL_MAX). */
static int parse_num(unsigned *out, const char **p) {
  const char *s = *p;
  if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] >= '0' && s[1] <= '9'))
    return -1;
  unsigned v = 0;
  while (*s >= '0' && *s <= '9') {
    v = v * 10 + (unsigned)(*s++ - '0');
    if (v >= JD_CPU_POOL_MAX)
      return -1;
  }
  *out = v;
  *p = s;
  return 0;
}

/* The items of s into the bitmap in (one bool per CPU). */
static int parse_items(bool in[JD_CPU_POOL_MAX], const char *s) {
  const char *p = s;
  for (;;) {
    unsigned lo, hi;
    if (parse_num(&lo, &p))
      return -1;
    hi = lo;
    if (*p == '-') {
      p++;
      if (parse_num(&hi, &p) || hi < lo)
        return -1;
    }
    for (unsigned c = lo; c <= hi; c++)
      in[c] = true;
    if (!*p)
      return 0;
    if (*p++ != ',')
      return -1;
  }
}

int jd_cpu_list_parse(jd_cpu_list *out, const char *s, char *err, size_t errlen) {
  out->n = 0;
  if (!s || !*s || strnlen(s, POOL_TEXT_MAX + 1) > POOL_TEXT_MAX)
    return jd_fail(err, errlen, "cpu_pool: expected a list like 0-7 or 0,2,4-6 (at most %d chars)",
                   POOL_TEXT_MAX);
  bool in[JD_CPU_POOL_MAX] = {0};
  if (parse_items(in, s))
    return jd_fail(err, errlen,
                   "cpu_pool: '%.64s': expected a list like 0-7 or 0,2,4-6 of CPUs from 0 to %d", s,
                   JD_CPU_POOL_MAX - 1);
  for (unsigned c = 0; c < JD_CPU_POOL_MAX; c++)
    if (in[c])
      out->cpu[out->n++] = (unsigned short)c;
  char canon[JD_CPUSET_MAX];
  if (jd_cpu_list_format(canon, sizeof canon, out->cpu, out->n)) {
    out->n = 0;
    return jd_fail(err, errlen, "cpu_pool: '%.64s': more than %d chars as ranges", s,
                   JD_CPUSET_MAX - 1);
  }
  return 0;
}

int jd_cpu_list_format(char *buf, size_t buflen, const unsigned short *cpu, size_t n) {
  if (!buflen)
    return -1;
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && cpu[j + 1] == cpu[j] + 1)
      j++;
    int w = j == i ? snprintf(buf + used, buflen - used, "%s%u", i ? "," : "", cpu[i])
                   : snprintf(buf + used, buflen - used, "%s%u-%u", i ? "," : "", cpu[i], cpu[j]);
    if (w < 0 || (size_t)w >= buflen - used) {
      buf[0] = '\0';
      return -1;
    }
    used += (size_t)w;
    i = j + 1;
  }
  return 0;
}

/* ---- the assignment ------------------------------------------------------ */

size_t jd_cpu_assign(size_t nheld, size_t nais, int ai, bool *shared) {
  *shared = true;
  if (!nheld || ai < -1 || (ai >= 0 && (size_t)ai >= nais))
    return JD_CPU_WHOLE_POOL;
  bool gl_own = nheld > nais;
  if (ai < 0) {
    *shared = !gl_own;
    return gl_own ? nais : nheld - 1;
  }
  size_t a = (size_t)ai;
  if (a >= nheld)
    return a % nheld; /* AI a - nheld has it too */
  /* Another AI on it: a + nheld, the first to come round to it. The game
   * logic on it: the last core when it has none of its own. */
  *shared = a + nheld < nais || (!gl_own && a == nheld - 1);
  return a;
}

/* ---- the leases ---------------------------------------------------------- */

/* The lock of core c without waiting: 0 with *fd, or -1 (held by another,
 * or a lock file that is not a regular file of one name: left alone). */
static int core_lock(int *fd, int dir, unsigned c) {
  char name[32];
  snprintf(name, sizeof name, "cpu-%u", c);
  int f = openat(dir, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
  if (f < 0)
    return -1;
  struct stat st;
  if (fstat(f, &st) || !S_ISREG(st.st_mode) || st.st_nlink != 1 || flock(f, LOCK_EX | LOCK_NB)) {
    close(f);
    return -1;
  }
  *fd = f;
  return 0;
}

/* The engine's NCPU, asked once per client: /info costs ~15 ms here, a
 * lease from a set pool 0.06 ms. Kept for the last client asked (a
 * process has one engine; a client freed and another made at its address
 * for another engine would be served the first one's count: its cpuset
 * then fails at the container's start, an engine error, never a core
 * outside the engine's). */
static struct {
  pthread_mutex_t mu;
  const dk_client *dk;
  int ncpu;
} engine_cpus = {PTHREAD_MUTEX_INITIALIZER, NULL, 0};

static int engine_ncpu(int *ncpu, dk_client *dk) {
  pthread_mutex_lock(&engine_cpus.mu);
  *ncpu = engine_cpus.dk == dk ? engine_cpus.ncpu : 0;
  pthread_mutex_unlock(&engine_cpus.mu);
  if (*ncpu > 0)
    return 0;
  dk_info *info = NULL;
  if (!dk || dk_system_info(&info, dk) != 0)
    return -1;
  *ncpu = info->ncpu;
  dk_info_free(info);
  if (*ncpu > 0) {
    pthread_mutex_lock(&engine_cpus.mu);
    engine_cpus.dk = dk;
    engine_cpus.ncpu = *ncpu;
    pthread_mutex_unlock(&engine_cpus.mu);
  }
  return 0;
}

/* The pool of ctx into out: its setting, else the engine's CPUs. */
static int pool_of(jd_cpu_list *out, const jd_ctx *ctx, char *err, size_t errlen) {
  if (ctx->cpu_pool && *ctx->cpu_pool)
    return jd_cpu_list_parse(out, ctx->cpu_pool, err, errlen);
  int ncpu = 0;
  if (engine_ncpu(&ncpu, ctx->dk))
    return jd_fail(err, errlen, "cpu_pool: the engine's CPUs: /info failed");
  if (ncpu < 1)
    return jd_fail(err, errlen, "cpu_pool: the engine reports %d CPUs", ncpu);
  out->n = ncpu > JD_CPU_POOL_MAX ? JD_CPU_POOL_MAX : (size_t)ncpu;
  for (size_t i = 0; i < out->n; i++)
    out->cpu[i] = (unsigned short)i;
  return 0;
}

/* Takes the free cores of pool in order, up to want, into l. */
static void lease_cores(jd_cpu_lease *l, const jd_cpu_list *pool, size_t want, int dir) {
  for (size_t i = 0; i < pool->n && l->nheld < want; i++) {
    int fd;
    if (!core_lock(&fd, dir, pool->cpu[i])) {
      l->cpu[l->nheld] = pool->cpu[i];
      l->fd[l->nheld++] = fd;
    }
  }
}

int jd_cpu_lease_take(jd_cpu_lease **out, const jd_ctx *ctx, size_t nais, char *err,
                      size_t errlen) {
  *out = NULL;
  jd_cpu_list *pool = malloc(sizeof *pool);
  jd_cpu_lease *l = calloc(1, sizeof *l);
  int rc = -1, dir = -1;
  if (!pool || !l) {
    jd_fail(err, errlen, "out of memory");
    goto done;
  }
  if (pool_of(pool, ctx, err, errlen))
    goto done;
  jd_cpu_list_format(l->pool, sizeof l->pool, pool->cpu, pool->n);
  l->nais = nais;
  size_t want = nais < pool->n ? nais + 1 : pool->n;
  l->cpu = calloc(want, sizeof *l->cpu);
  l->fd = calloc(want, sizeof *l->fd);
  if (!l->cpu || !l->fd) {
    jd_fail(err, errlen, "out of memory");
    goto done;
  }
  if (jd_state_locks_open(&dir, ctx->state_dir)) {
    jd_fail(err, errlen, "cpu_pool: %s/locks: %s", ctx->state_dir ? ctx->state_dir : "",
            strerror(errno));
    goto done;
  }
  lease_cores(l, pool, want, dir);
  *out = l;
  l = NULL;
  rc = 0;
done:
  if (dir >= 0)
    close(dir);
  free(pool);
  jd_cpu_lease_free(l);
  return rc;
}

const char *jd_cpu_lease_for(const jd_cpu_lease *l, int ai, bool *shared, char *buf,
                             size_t buflen) {
  *shared = false;
  if (!buflen)
    return buf;
  buf[0] = '\0';
  if (!l)
    return buf;
  size_t i = jd_cpu_assign(l->nheld, l->nais, ai, shared);
  int w = i == JD_CPU_WHOLE_POOL ? snprintf(buf, buflen, "%s", l->pool)
                                 : snprintf(buf, buflen, "%u", l->cpu[i]);
  if (w < 0 || (size_t)w >= buflen)
    buf[0] = '\0'; /* cut short it would name other cores: none */
  return buf;
}

void jd_cpu_lease_free(jd_cpu_lease *l) {
  if (!l)
    return;
  for (size_t i = 0; i < l->nheld; i++)
    close(l->fd[i]);
  free(l->cpu);
  free(l->fd);
  free(l);
}
