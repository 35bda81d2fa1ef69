/* A container's usage and its freezer (cgroup_meter.h).
 *
 * Finding the cgroup: the id is checked (64 lowercase hex digits) before
 * any name is made of it; then the layouts are tried in this order under
 * the cgroup root, each directory opened from its parent with O_NOFOLLOW
 * (a controller mounted under a link, "cpu" -> "cpu,cpuacct", is found by
 * the real directory's name instead):
 *   1. v1 cgroupfs  <ctrl>/docker/<id>
 *   2. v1 systemd   <ctrl>/system.slice/docker-<id>.scope
 *   3. v2 cgroupfs  docker/<id>
 *   4. v2 systemd   system.slice/docker-<id>.scope
 * The first layout whose directory is there is the container's: every file
 * the meter reads is opened then, once, and read with pread afterwards (the
 * turn clock reads the CPU every few ms: no path walk, no open per read).
 * Reads are bounded (METER_READ_MAX) and parsed strictly: a number is
 * digits and a newline, a keyed file "name value" lines, nothing else.
 *
 * Files: v1 cpuacct.usage (ns), cpu.stat (nr_throttled, throttled_time ns;
 * -1 without the cpu controller), memory.max_usage_in_bytes (-1 without
 * the memory controller), freezer.state (FROZEN / THAWED; reads FREEZING
 * until done). v2 cpu.stat (usage_usec; nr_throttled, throttled_usec
 * with the cpu controller, else -1), memory.peak (kernel >= 5.19, else -1),
 * cgroup.freeze (1 / 0) and cgroup.events ("frozen 1" once frozen).
 * When the container's processes exit the kernel removes the directory: a
 * read then fails with ENODEV (ENOENT), said as "gone" in err.
 *
 * The api backend asks the engine for one-shot stats and pauses/unpauses
 * it (the same freezer, through runc, which returns once frozen). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/error.h"
#include "match/cgroup_meter.h"

/* The longest file the meter reads (v2 cpu.stat is about 250 bytes). */
#define METER_READ_MAX 512
/* How long a freeze may take before it is given up (and thawed back). */
#define FREEZE_WAIT_NS 1000000000LL
/* Bounds on the engine's calls (a loaded engine can hold a stats or a
 * pause for long; a unit's kill waits for the meter it is using). */
#define API_STATS_MS 2000
#define API_PAUSE_MS 5000

static const char *const backend_names[] = {
#define JD_METER_BACKEND_NAME(code, name) name,
    JD_METER_BACKEND_MAP(JD_METER_BACKEND_NAME)
#undef JD_METER_BACKEND_NAME
};

const char *jd_meter_backend_name(jd_meter_backend b) {
  return (unsigned)b < JD_METER_BACKEND_COUNT ? backend_names[b] : "?";
}

struct jd_meter {
  jd_meter_backend backend;
  dk_client *dk; /* the api backend's; not owned */
  char id[65];
  int cpu_fd;    /* v1 cpuacct.usage; v2 cpu.stat */
  int thr_fd;    /* v1 cpu.stat; -1: none (v2: cpu_fd holds it) */
  int mem_fd;    /* v1 memory.max_usage_in_bytes; v2 memory.peak; -1: none */
  int freeze_fd; /* v1 freezer.state; v2 cgroup.freeze (read-write) */
  int events_fd; /* v2 cgroup.events; -1 on v1 */
};

static bool valid_id(const char *id) {
  if (!id)
    return false;
  size_t n = 0;
  for (; id[n]; n++)
    if (n >= 64 || !((id[n] >= '0' && id[n] <= '9') || (id[n] >= 'a' && id[n] <= 'f')))
      return false;
  return n == 64;
}

static int open_dir(int at, const char *name) {
  return openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* A regular file under dir (cgroup files are), or -1 with errno. */
static int open_file(int dir, const char *name, int flags) {
  int fd = openat(dir, name, flags | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
    close(fd);
    errno = EINVAL;
    return -1;
  }
  return fd;
}

/* root/<ctrl>/<sub>/<leaf> for the first of ctrls there; -1 with errno. */
static int open_v1_dir(int root, const char *const *ctrls, const char *sub, const char *leaf) {
  int saved = ENOENT;
  for (; *ctrls; ctrls++) {
    int c = open_dir(root, *ctrls);
    int s = c >= 0 ? open_dir(c, sub) : -1;
    int d = s >= 0 ? open_dir(s, leaf) : -1;
    saved = errno;
    if (s >= 0)
      close(s);
    if (c >= 0)
      close(c);
    if (d >= 0)
      return d;
  }
  errno = saved;
  return -1;
}

/* A file that may be missing (its controller not mounted, an old kernel):
 * *fd -1 then. dir -1: no directory, no file. */
static int open_optional(int *fd, int dir, const char *name) {
  *fd = dir >= 0 ? open_file(dir, name, O_RDONLY) : -1;
  return *fd >= 0 || dir < 0 || errno == ENOENT ? 0 : -1;
}

typedef struct layout {
  bool v2;
  const char *sub;  /* "docker" or "system.slice" */
  bool scope;       /* leaf "docker-<id>.scope" instead of "<id>" */
  const char *name; /* for messages */
} layout;

static const layout layouts[] = {
    {false, "docker", false, "v1 cgroupfs"},
    {false, "system.slice", true, "v1 systemd"},
    {true, "docker", false, "v2 cgroupfs"},
    {true, "system.slice", true, "v2 systemd"},
};

static const char *const ctrl_cpuacct[] = {"cpuacct", "cpu,cpuacct", "cpuacct,cpu", NULL};
static const char *const ctrl_cpu[] = {"cpu", "cpu,cpuacct", "cpuacct,cpu", NULL};
static const char *const ctrl_memory[] = {"memory", NULL};
static const char *const ctrl_freezer[] = {"freezer", NULL};

/* v1: the files from their controllers' directories. *found: the cpuacct
 * directory is there (the layout is the container's). */
static int open_v1(jd_meter *m, bool *found, int root, const layout *l, const char *leaf,
                   const char **what) {
  int acct = open_v1_dir(root, ctrl_cpuacct, l->sub, leaf);
  *found = acct >= 0;
  if (acct < 0)
    return -1;
  int cpu = open_v1_dir(root, ctrl_cpu, l->sub, leaf);
  int mem = open_v1_dir(root, ctrl_memory, l->sub, leaf);
  int frz = open_v1_dir(root, ctrl_freezer, l->sub, leaf);
  int rc = -1, saved;
  *what = "cpuacct.usage";
  m->cpu_fd = open_file(acct, *what, O_RDONLY);
  if (m->cpu_fd < 0)
    goto done;
  *what = "freezer.state";
  m->freeze_fd = frz >= 0 ? open_file(frz, *what, O_RDWR) : -1;
  if (m->freeze_fd < 0)
    goto done;
  *what = "cpu.stat";
  if (open_optional(&m->thr_fd, cpu, *what) != 0)
    goto done;
  *what = "memory.max_usage_in_bytes";
  rc = open_optional(&m->mem_fd, mem, *what);
done:
  saved = errno;
  int dirs[] = {acct, cpu, mem, frz};
  for (size_t i = 0; i < 4; i++)
    if (dirs[i] >= 0)
      close(dirs[i]);
  errno = saved;
  return rc;
}

/* v2: every file in the container's one directory. */
static int open_v2(jd_meter *m, bool *found, int root, const layout *l, const char *leaf,
                   const char **what) {
  int s = open_dir(root, l->sub);
  int d = s >= 0 ? open_dir(s, leaf) : -1;
  if (s >= 0)
    close(s);
  *found = d >= 0;
  if (d < 0)
    return -1;
  int rc = -1, saved;
  *what = "cpu.stat";
  if ((m->cpu_fd = open_file(d, *what, O_RDONLY)) < 0)
    goto done;
  *what = "cgroup.freeze";
  if ((m->freeze_fd = open_file(d, *what, O_RDWR)) < 0)
    goto done;
  *what = "cgroup.events";
  if ((m->events_fd = open_file(d, *what, O_RDONLY)) < 0)
    goto done;
  *what = "memory.peak";
  rc = open_optional(&m->mem_fd, d, *what);
done:
  saved = errno;
  close(d);
  errno = saved;
  return rc;
}

static void close_fds(jd_meter *m) {
  int *fds[] = {&m->cpu_fd, &m->thr_fd, &m->mem_fd, &m->freeze_fd, &m->events_fd};
  for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
    if (*fds[i] >= 0)
      close(*fds[i]);
    *fds[i] = -1;
  }
}

/* The first layout whose directory is there; its files opened. */
static int open_cgroup(jd_meter *m, const char *root_path, char *err, size_t errlen) {
  int root = open(root_path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (root < 0)
    return jd_fail(err, errlen, "cgroup root %s: %s", root_path, strerror(errno));
  char scope[96];
  snprintf(scope, sizeof scope, "docker-%s.scope", m->id);
  for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++) {
    const layout *l = &layouts[i];
    const char *leaf = l->scope ? scope : m->id;
    const char *what = NULL;
    bool found = false;
    int rc =
        l->v2 ? open_v2(m, &found, root, l, leaf, &what) : open_v1(m, &found, root, l, leaf, &what);
    if (rc == 0) {
      m->backend = l->v2 ? JD_METER_CGROUP_V2 : JD_METER_CGROUP_V1;
      close(root);
      return 0;
    }
    int saved = errno;
    close_fds(m);
    if (found) {
      close(root);
      return jd_fail(err, errlen, "cgroup of container %.12s (%s under %s): %s: %s", m->id, l->name,
                     root_path, what, strerror(saved));
    }
  }
  close(root);
  return jd_fail(err, errlen,
                 "no cgroup of container %.12s under %s (v1 and v2, cgroupfs and systemd)", m->id,
                 root_path);
}

int jd_meter_open(jd_meter **out, dk_client *c, const char *id, const char *cgroup_root,
                  jd_meter_mode mode, char *err, size_t errlen) {
  *out = NULL;
  if (!valid_id(id))
    return jd_fail(err, errlen, "meter: not a full container id (64 lowercase hex digits)");
  if (mode == JD_METER_ONLY_API && !c)
    return jd_fail(err, errlen, "meter: the api backend needs an engine client");
  jd_meter *m = calloc(1, sizeof *m);
  if (!m)
    return jd_fail(err, errlen, "out of memory");
  m->dk = c;
  memcpy(m->id, id, 65);
  m->cpu_fd = m->thr_fd = m->mem_fd = m->freeze_fd = m->events_fd = -1;
  m->backend = JD_METER_API;
  if (mode != JD_METER_ONLY_API) {
    char why[512];
    int rc = open_cgroup(m, cgroup_root ? cgroup_root : "/sys/fs/cgroup", why, sizeof why);
    if (rc != 0 && (mode == JD_METER_ONLY_CGROUP || !c)) {
      free(m);
      return jd_fail(err, errlen, "%s", why);
    }
  }
  *out = m;
  return 0;
}

jd_meter_backend jd_meter_backend_of(const jd_meter *m) { return m->backend; }

void jd_meter_close(jd_meter *m) {
  if (!m)
    return;
  close_fds(m);
  free(m);
}

/* ---- reading ---------------------------------------------------------- */

/* The whole of a cgroup file (pread at 0) into buf, NUL-terminated. */
static int read_file(char *buf, size_t cap, const jd_meter *m, int fd, const char *what, char *err,
                     size_t errlen) {
  ssize_t n = pread(fd, buf, cap, 0);
  if (n < 0 && (errno == ENODEV || errno == ENOENT))
    return jd_fail(err, errlen, "container %.12s's cgroup is gone (its processes exited): %s: %s",
                   m->id, what, strerror(errno));
  if (n < 0)
    return jd_fail(err, errlen, "container %.12s: %s: %s", m->id, what, strerror(errno));
  if ((size_t)n >= cap)
    return jd_fail(err, errlen, "container %.12s: %s is longer than %zu bytes", m->id, what,
                   cap - 1);
  buf[n] = '\0';
  return 0;
}

/* Digits (at most 19, at most INT64_MAX) from *p, which moves past them. */
static int parse_digits(int64_t *out, const char **p) {
  const char *s = *p;
  int64_t v = 0;
  size_t n = 0;
  for (; s[n] >= '0' && s[n] <= '9'; n++) {
    if (n >= 19 || v > (INT64_MAX - (s[n] - '0')) / 10)
      return -1;
    v = v * 10 + (s[n] - '0');
  }
  if (n == 0)
    return -1;
  *out = v;
  *p = s + n;
  return 0;
}

/* A file holding one number and a newline. */
static int parse_number(int64_t *out, const char *text) {
  const char *p = text;
  return parse_digits(out, &p) == 0 && strcmp(p, "\n") == 0 ? 0 : -1;
}

/* A keyed file ("name value\n" lines, names of [a-z0-9_.]): the values of
 * keys into vals (-1 for a key not there). -1 when a line is malformed. */
static int parse_keyed(int64_t *vals, const char *const *keys, size_t nkeys, const char *text) {
  for (size_t k = 0; k < nkeys; k++)
    vals[k] = -1;
  const char *p = text;
  while (*p) {
    size_t len = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_.");
    if (len == 0 || p[len] != ' ')
      return -1;
    const char *name = p;
    p += len + 1;
    int64_t v;
    if (parse_digits(&v, &p) != 0 || *p++ != '\n')
      return -1;
    for (size_t k = 0; k < nkeys; k++)
      if (strlen(keys[k]) == len && memcmp(keys[k], name, len) == 0)
        vals[k] = v;
  }
  return 0;
}

static int read_number(int64_t *out, const jd_meter *m, int fd, const char *what, char *err,
                       size_t errlen) {
  char buf[64];
  if (read_file(buf, sizeof buf, m, fd, what, err, errlen) != 0)
    return -1;
  if (parse_number(out, buf) != 0)
    return jd_fail(err, errlen, "container %.12s: %s is not a number", m->id, what);
  return 0;
}

static int read_keyed(int64_t *vals, const char *const *keys, size_t nkeys, const jd_meter *m,
                      int fd, const char *what, char *err, size_t errlen) {
  char buf[METER_READ_MAX];
  if (read_file(buf, sizeof buf, m, fd, what, err, errlen) != 0)
    return -1;
  if (parse_keyed(vals, keys, nkeys, buf) != 0)
    return jd_fail(err, errlen, "container %.12s: %s is malformed", m->id, what);
  return 0;
}

static const char *const v2_cpu_keys[] = {"usage_usec", "nr_throttled", "throttled_usec"};

/* v2 cpu.stat: usage, and throttling (-1 without the cpu controller). */
static int read_v2_cpu(jd_usage *u, const jd_meter *m, char *err, size_t errlen) {
  int64_t v[3];
  if (read_keyed(v, v2_cpu_keys, 3, m, m->cpu_fd, "cpu.stat", err, errlen) != 0)
    return -1;
  if (v[0] < 0 || v[0] > INT64_MAX / 1000 || v[2] > INT64_MAX / 1000)
    return jd_fail(err, errlen, "container %.12s: cpu.stat has no usable usage_usec", m->id);
  u->cpu_ns = v[0] * 1000;
  u->throttled_periods = v[1];
  u->throttled_ns = v[2] < 0 ? -1 : v[2] * 1000;
  return 0;
}

/* v1 cpu.stat: throttling (-1 without the cpu controller). */
static int read_v1_throttling(jd_usage *u, const jd_meter *m, char *err, size_t errlen) {
  static const char *const keys[] = {"nr_throttled", "throttled_time"};
  int64_t v[2] = {-1, -1};
  if (m->thr_fd >= 0 && read_keyed(v, keys, 2, m, m->thr_fd, "cpu.stat", err, errlen) != 0)
    return -1;
  u->throttled_periods = v[0];
  u->throttled_ns = v[1];
  return 0;
}

/* One-shot stats; a container the engine took no sample of is an error. */
static int api_stats(dk_container_stats **s, const jd_meter *m, char *err, size_t errlen) {
  dk_call call = {.deadline_ms = jd_mono_ms() + API_STATS_MS};
  int rc = dk_container_stats_get(s, m->dk, m->id, &call);
  if (rc) {
    const dk_error *e = dk_error_last();
    return jd_fail(err, errlen, "stats of container %.12s: %s", m->id,
                   e && e->code == rc ? e->message : dk_strerror(rc));
  }
  if (!(*s)->sampled) {
    dk_container_stats_free(*s);
    *s = NULL;
    return jd_fail(err, errlen, "container %.12s is not running: the engine has no stats of it",
                   m->id);
  }
  return 0;
}

int jd_meter_cpu(int64_t *cpu_ns, jd_meter *m, char *err, size_t errlen) {
  jd_usage u;
  switch (m->backend) {
  case JD_METER_CGROUP_V1:
    return read_number(cpu_ns, m, m->cpu_fd, "cpuacct.usage", err, errlen);
  case JD_METER_CGROUP_V2:
    if (read_v2_cpu(&u, m, err, errlen) != 0)
      return -1;
    *cpu_ns = u.cpu_ns;
    return 0;
  case JD_METER_API:
  case JD_METER_BACKEND_COUNT:
    break;
  }
  dk_container_stats *s = NULL;
  if (api_stats(&s, m, err, errlen) != 0)
    return -1;
  *cpu_ns = s->cpu_total_ns;
  dk_container_stats_free(s);
  return 0;
}

int jd_meter_read(jd_usage *out, jd_meter *m, char *err, size_t errlen) {
  jd_usage u = {-1, -1, -1, -1};
  int rc = 0;
  if (m->backend == JD_METER_API) {
    dk_container_stats *s = NULL;
    if (api_stats(&s, m, err, errlen) != 0)
      return -1;
    u = (jd_usage){s->cpu_total_ns, s->memory_max_usage, s->throttled_time_ns,
                   s->throttled_periods};
    dk_container_stats_free(s);
  } else if (m->backend == JD_METER_CGROUP_V1) {
    rc = read_number(&u.cpu_ns, m, m->cpu_fd, "cpuacct.usage", err, errlen);
    if (!rc)
      rc = read_v1_throttling(&u, m, err, errlen);
    if (!rc && m->mem_fd >= 0)
      rc = read_number(&u.memory_peak, m, m->mem_fd, "memory.max_usage_in_bytes", err, errlen);
  } else {
    rc = read_v2_cpu(&u, m, err, errlen);
    if (!rc && m->mem_fd >= 0)
      rc = read_number(&u.memory_peak, m, m->mem_fd, "memory.peak", err, errlen);
  }
  if (!rc)
    *out = u;
  return rc;
}

/* ---- freezing --------------------------------------------------------- */

static int write_file(const jd_meter *m, int fd, const char *what, const char *text, char *err,
                      size_t errlen) {
  size_t len = strlen(text);
  ssize_t n = pwrite(fd, text, len, 0);
  if (n == (ssize_t)len)
    return 0;
  if (n < 0 && (errno == ENODEV || errno == ENOENT))
    return jd_fail(err, errlen, "container %.12s's cgroup is gone (its processes exited): %s: %s",
                   m->id, what, strerror(errno));
  return jd_fail(err, errlen, "container %.12s: writing %s: %s", m->id, what,
                 n < 0 ? strerror(errno) : "short write");
}

/* Whether the kernel says frozen: v1 freezer.state FROZEN (FREEZING while
 * under way), v2 cgroup.events "frozen 1". */
static int is_frozen(bool *frozen, const jd_meter *m, char *err, size_t errlen) {
  if (m->backend == JD_METER_CGROUP_V2) {
    static const char *const keys[] = {"frozen"};
    int64_t v;
    if (read_keyed(&v, keys, 1, m, m->events_fd, "cgroup.events", err, errlen) != 0)
      return -1;
    *frozen = v == 1;
    return 0;
  }
  char buf[64];
  if (read_file(buf, sizeof buf, m, m->freeze_fd, "freezer.state", err, errlen) != 0)
    return -1;
  if (strcmp(buf, "FROZEN\n") && strcmp(buf, "FREEZING\n") && strcmp(buf, "THAWED\n"))
    return jd_fail(err, errlen, "container %.12s: freezer.state is malformed", m->id);
  *frozen = strcmp(buf, "FROZEN\n") == 0;
  return 0;
}

/* Polls until frozen, sleeping 20 µs, then twice as long each time up to
 * 1 ms (a freeze takes a fraction of a ms, tens of ms for a task waiting
 * out its CFS quota); -1 after FREEZE_WAIT_NS. v1: FROZEN is written
 * again at each poll, as runc does: each write asks every task of the
 * cgroup again, a task that missed the first request is caught by a
 * later one. */
static int wait_frozen(const jd_meter *m, char *err, size_t errlen) {
  int64_t start = jd_mono_ns();
  long pause_ns = 20000;
  for (;;) {
    bool frozen = false;
    if (is_frozen(&frozen, m, err, errlen) != 0)
      return -1;
    if (frozen)
      return 0;
    if (jd_mono_ns() - start > FREEZE_WAIT_NS)
      return jd_fail(err, errlen, "container %.12s did not freeze within %lld ms", m->id,
                     FREEZE_WAIT_NS / 1000000);
    nanosleep(&(struct timespec){0, pause_ns}, NULL);
    pause_ns = pause_ns < 500000 ? pause_ns * 2 : 1000000;
    if (m->backend == JD_METER_CGROUP_V1 &&
        write_file(m, m->freeze_fd, "freezer.state", "FROZEN", err, errlen) != 0)
      return -1;
  }
}

static int api_pause(const jd_meter *m, bool frozen) {
  dk_call call = {.deadline_ms = jd_mono_ms() + API_PAUSE_MS};
  return frozen ? dk_container_pause(m->dk, m->id, &call)
                : dk_container_unpause(m->dk, m->id, &call);
}

/* Pause / unpause; when refused (but for a container that is not there),
 * the opposite call, then the call again. The engine's paused flag can be
 * stale: it handles the runtime's paused / resumed events asynchronously,
 * and the event of an earlier pause arriving after an unpause flags a
 * running container paused ("already paused", 500 on 20.10 and 26.1), one
 * of an earlier unpause a frozen container not paused ("not paused",
 * 409): both seen in back-to-back rounds. The opposite call sets the flag
 * right (pausing a frozen container or unpausing a thawed one is harmless
 * to runc). It also retries a pause runc gave up ("unable to freeze": a
 * busy task under its CPU quota, now and then). */
static int api_freeze(const jd_meter *m, bool frozen, char *err, size_t errlen) {
  int rc = api_pause(m, frozen);
  if (rc && rc != DK_ENOTFOUND) {
    api_pause(m, !frozen);
    rc = api_pause(m, frozen);
  }
  if (rc) {
    const dk_error *e = dk_error_last();
    return jd_fail(err, errlen, "%s of container %.12s: %s", frozen ? "pause" : "unpause", m->id,
                   e && e->code == rc ? e->message : dk_strerror(rc));
  }
  return 0;
}

int jd_meter_freeze_start(jd_meter *m, bool *done, char *err, size_t errlen) {
  *done = false;
  if (m->backend == JD_METER_API) {
    if (api_freeze(m, true, err, errlen) != 0)
      return -1;
    *done = true;
    return 0;
  }
  bool v2 = m->backend == JD_METER_CGROUP_V2;
  if (write_file(m, m->freeze_fd, v2 ? "cgroup.freeze" : "freezer.state", v2 ? "1" : "FROZEN", err,
                 errlen) != 0)
    return -1;
  return is_frozen(done, m, err, errlen);
}

int jd_meter_freeze_poll(jd_meter *m, bool *done, char *err, size_t errlen) {
  *done = true;
  if (m->backend == JD_METER_API)
    return 0;
  if (is_frozen(done, m, err, errlen) != 0)
    return -1;
  if (!*done && m->backend == JD_METER_CGROUP_V1 &&
      write_file(m, m->freeze_fd, "freezer.state", "FROZEN", err, errlen) != 0)
    return -1;
  return 0;
}

int jd_meter_freeze(jd_meter *m, bool frozen, char *err, size_t errlen) {
  if (m->backend == JD_METER_API)
    return api_freeze(m, frozen, err, errlen);
  bool v2 = m->backend == JD_METER_CGROUP_V2;
  const char *what = v2 ? "cgroup.freeze" : "freezer.state";
  const char *text = v2 ? (frozen ? "1" : "0") : (frozen ? "FROZEN" : "THAWED");
  if (write_file(m, m->freeze_fd, what, text, err, errlen) != 0)
    return -1;
  if (!frozen || wait_frozen(m, err, errlen) == 0)
    return 0;
  /* Half frozen helps no one: thawed back, the caller decides. */
  write_file(m, m->freeze_fd, what, v2 ? "0" : "THAWED", NULL, 0);
  return -1;
}

void jd_meter_thaw_host(const char *id, const char *cgroup_root) {
  jd_meter *m = NULL;
  if (jd_meter_open(&m, NULL, id, cgroup_root, JD_METER_ONLY_CGROUP, NULL, 0) != 0)
    return;
  jd_meter_freeze(m, false, NULL, 0);
  jd_meter_close(m);
}
