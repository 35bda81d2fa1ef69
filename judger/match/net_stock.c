/* The stock of ready networks (see net_stock.h).
 *
 * Theory of operation:
 *   - A stock network is named judger-<host>-net-<10 hex>; its lock file is
 *     <state_dir>/locks/net-<name>. The lock is taken before the network
 *     is created and held while the network is leased; an idle network's
 *     lock is free, so any judger process of the host may take it.
 *   - A lock file is unlinked only by the holder of its lock, once the
 *     network is removed (or found gone). A lock taken on a file that was
 *     unlinked meanwhile is dropped and taken again on the file now at the
 *     path (lock_take), so two holders never share one network.
 *   - This process keeps the idle networks it knows in memory (given back
 *     by its matches, made by jd_net_stock_fill, or listed from the engine
 *     once its list ran dry). A take pops one, locks it and asks the engine
 *     whether it is empty (one inspect): an idle network another process
 *     took meanwhile is locked (skipped), one it removed is gone (skipped),
 *     one with an endpoint left is removed.
 *   - Engine calls: a take from memory is 1 inspect; with nothing in
 *     memory, 1 list (at most once per take) and then as from memory, or a
 *     create (1, more on an address clash). A give back is 1 inspect, plus
 *     the removal when the network is dirty or the stock full.
 * Engine calls are made outside the mutex; the mutex guards the two lists. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/labels.h"
#include "common/log.h"
#include "common/util.h"
#include "match/net_pool.h"
#include "match/net_stock.h"

/* Random bytes in a stock network's name (twice as many hex digits). */
#define NAME_RANDOM 5
#define NAME_CAP (sizeof "judger--net-" + JD_HOST_ID_MAX + 2 * NAME_RANDOM + 1)
/* Names and subnets tried before a create gives up (a clash is another
 * network with that name or on that subnet). */
#define CREATE_TRIES 32
/* Endpoints a stock network is sized for: the game logic and one player. */
#define STOCK_ENDPOINTS 2
/* How long a list that found nothing to adopt holds for (ms): networks
 * given back meanwhile by this process are in its memory anyway. */
#define DRY_MS 1000

typedef struct stock_net {
  char *id;
  char name[NAME_CAP];
  char *run_key; /* leased: the run holding it */
  int fd;        /* leased: its lock; -1 when idle */
} stock_net;

typedef struct net_vec {
  stock_net *v;
  size_t n, cap;
} net_vec;

struct jd_net_stock {
  const jd_ctx *ctx;
  size_t keep;
  int locks_fd;
  jd_net_pool pool;
  int prefix; /* 0: the engine's own pools */
  pthread_mutex_t mu;
  net_vec idle, leased;
  atomic_size_t calls;
  /* Until when (jd_mono_ms) a take does not list the engine's stock: the
   * last list found nothing to adopt (a fresh process on an empty stock
   * would otherwise list once per network it makes). Under mu. */
  int64_t dry_until;
};

static void net_clear(stock_net *n) {
  free(n->id);
  free(n->run_key);
  if (n->fd >= 0)
    close(n->fd);
  memset(n, 0, sizeof *n);
  n->fd = -1;
}

static int vec_push(net_vec *v, const stock_net *n) {
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 8;
    stock_net *grown = realloc(v->v, cap * sizeof *grown);
    if (!grown)
      return -1;
    v->v = grown;
    v->cap = cap;
  }
  v->v[v->n++] = *n;
  return 0;
}

/* Moves item i out of v into *out (the last one takes its place). */
static void vec_take(net_vec *v, size_t i, stock_net *out) {
  *out = v->v[i];
  v->v[i] = v->v[--v->n];
}

static bool vec_has(const net_vec *v, const char *id) {
  for (size_t i = 0; i < v->n; i++)
    if (!strcmp(v->v[i].id, id))
      return true;
  return false;
}

/* ---- locks ------------------------------------------------------------- */

static void lock_file(char out[NAME_CAP + 8], const char *name) {
  snprintf(out, NAME_CAP + 8, "net-%s", name);
}

/* Takes the lock of network name without waiting: 0 with *fd, or -1 with
 * errno (EWOULDBLOCK: another holder). A lock on a file unlinked between
 * its open and its flock is not the lock of the name: taken again. */
static int lock_take(int *fd, int dir, const char *name) {
  char file[NAME_CAP + 8];
  lock_file(file, name);
  for (int tries = 0; tries < 8; tries++) {
    int f = openat(dir, file, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (f < 0)
      return -1;
    if (flock(f, LOCK_EX | LOCK_NB)) {
      int e = errno;
      close(f);
      errno = e;
      return -1;
    }
    struct stat held, now;
    if (!fstat(f, &held) && !fstatat(dir, file, &now, AT_SYMLINK_NOFOLLOW) &&
        held.st_ino == now.st_ino && held.st_dev == now.st_dev) {
      *fd = f;
      return 0;
    }
    close(f);
  }
  errno = EAGAIN;
  return -1;
}

/* A lease is marked in its lock file (one byte) while it is held, and the
 * mark is cleared before an idle network's lock is let go. A free lock on
 * a marked file is a holder that died mid-lease: an engine call it had
 * sent (a container's start, the game logic's connect) may still land on
 * the network after its lock was freed, so the network is never reused. */
static void lease_mark(int fd) {
  if (pwrite(fd, "L", 1, 0) != 1)
    jd_log(JD_LOG_WARN, "match.net_stock", "cannot mark a lease: %s", strerror(errno));
}

static void lease_unmark(int fd) { (void)ftruncate(fd, 0); }

static bool lease_orphaned(int fd) {
  struct stat st;
  return !fstat(fd, &st) && st.st_size > 0;
}

/* Lets go of a lock whose network is gone: the file first (its holder
 * alone may unlink it), then the lock. */
static void lock_drop_gone(int *fd, int dir, const char *name) {
  char file[NAME_CAP + 8];
  lock_file(file, name);
  (void)unlinkat(dir, file, 0);
  if (*fd >= 0)
    close(*fd);
  *fd = -1;
}

/* ---- the stock's labels ------------------------------------------------- */

/* Which stock a network belongs to: the host and the state directory whose
 * locks guard it (judgers of one host id with two state directories, as
 * tests make, keep two stocks: a lock guards only what its own directory's
 * holders see). */
typedef struct stock_labels {
  char host[8 + JD_HOST_ID_MAX + 8];
  char role[64];
  char dir[32]; /* judger.stock=<12 hex of sha256(locks dir's dev:ino)> */
  char dir_hash[13];
} stock_labels;

/* The stock's identity is its locks directory itself (device and inode),
 * not the state directory's path: two judgers that name one path but see
 * two directories (containers with other bind mounts on one engine) hold
 * apart locks, so they must not share networks. */
static void labels_of(stock_labels *l, const jd_ctx *ctx, int locks_fd) {
  struct stat st;
  char id[64], hex[65];
  if (fstat(locks_fd, &st))
    memset(&st, 0, sizeof st);
  int n = snprintf(id, sizeof id, "%llu:%llu", (unsigned long long)st.st_dev,
                   (unsigned long long)st.st_ino);
  jd_sha256_hex(hex, id, (size_t)n);
  snprintf(l->dir_hash, sizeof l->dir_hash, "%.12s", hex);
  snprintf(l->host, sizeof l->host, "%s=%s", JD_LABEL_HOST, ctx->host_id);
  snprintf(l->role, sizeof l->role, "%s=%s", JD_LABEL_ROLE, JD_ROLE_NET_STOCK);
  snprintf(l->dir, sizeof l->dir, "%s=%s", JD_LABEL_STOCK, l->dir_hash);
}

/* ---- the engine ------------------------------------------------------- */

/* Disconnects every endpoint the inspect listed (force), then removes the
 * network, retrying while an endpoint lingers. 0 when it is gone. */
static int net_scrub(dk_client *dk, const char *id, const dk_network_info *info,
                     atomic_size_t *calls) {
  json_object *root = info && info->raw_json ? json_tokener_parse(info->raw_json) : NULL;
  json_object *cs = NULL;
  if (root && json_object_object_get_ex(root, "Containers", &cs) &&
      json_object_is_type(cs, json_type_object)) {
    json_object_object_foreach(cs, cid, val) {
      (void)val;
      atomic_fetch_add(calls, 1);
      (void)dk_network_disconnect(dk, id, cid, true);
    }
  }
  json_object_put(root);
  int rc = DK_ESERVER;
  for (int tries = 0; rc && rc != DK_ENOTFOUND && tries < 20; tries++) {
    if (tries)
      usleep(50 * 1000); /* an endpoint can outlive its container a moment */
    atomic_fetch_add(calls, 1);
    rc = dk_network_remove(dk, id);
  }
  return rc && rc != DK_ENOTFOUND ? -1 : 0;
}

/* What the engine says of a network this process holds the lock of. */
typedef enum { NET_EMPTY, NET_DIRTY, NET_GONE, NET_UNKNOWN } net_state;

static net_state net_check(dk_network_info **info, dk_client *dk, const char *id,
                           atomic_size_t *calls) {
  *info = NULL;
  atomic_fetch_add(calls, 1);
  int rc = dk_network_inspect(info, dk, id);
  if (rc)
    return rc == DK_ENOTFOUND ? NET_GONE : NET_UNKNOWN;
  return (*info)->ncontainers ? NET_DIRTY : NET_EMPTY;
}

/* Removes a network whose lock fd holds (anything left on it first) and
 * lets go of the lock. A network that cannot be removed keeps its lock
 * file: reconciliation tries again. */
static void net_discard(jd_net_stock *s, stock_net *n, const dk_network_info *info) {
  if (!net_scrub(s->ctx->dk, n->id, info, &s->calls))
    lock_drop_gone(&n->fd, s->locks_fd, n->name);
  else
    jd_log(JD_LOG_WARN, "match.net_stock", "network %s cannot be removed: left to reconciliation",
           n->name);
  net_clear(n);
}

/* A new stock network, its lock held, into *out. 0, or -1 with err. */
static int net_create(stock_net *out, jd_net_stock *s, char *err, size_t errlen) {
  stock_labels sl;
  labels_of(&sl, s->ctx, s->locks_fd);
  dk_kv labels[3] = {{JD_LABEL_HOST, s->ctx->host_id},
                     {JD_LABEL_ROLE, JD_ROLE_NET_STOCK},
                     {JD_LABEL_STOCK, sl.dir_hash}};
  /* As every match network (match_workspace.c): internal, and no address
   * of the host on the bridge. */
  dk_kv options[1] = {{"com.docker.network.bridge.inhibit_ipv4", "true"}};
  dk_network_config nc = {.internal = true,
                          .check_duplicate = true,
                          .labels = labels,
                          .nlabels = 3,
                          .options = options,
                          .noptions = 1};
  char subnet[20], gateway[16], hex[2 * NAME_RANDOM + 1];
  int rc = DK_ECONFLICT;
  memset(out, 0, sizeof *out);
  out->fd = -1;
  for (int i = 0; i < CREATE_TRIES && (rc == DK_ECONFLICT || rc == DK_EFORBIDDEN); i++) {
    if (jd_random_hex(hex, NAME_RANDOM))
      return jd_fail(err, errlen, "no randomness for a network name");
    snprintf(out->name, sizeof out->name, "judger-%s-net-%s", s->ctx->host_id, hex);
    if (lock_take(&out->fd, s->locks_fd, out->name))
      return jd_fail(err, errlen, "lock of %s: %s", out->name, strerror(errno));
    if (s->prefix) {
      jd_net_pool_subnet(&s->pool, s->prefix, (uint32_t)strtoul(hex + 2, NULL, 16), subnet,
                         gateway);
      nc.subnet = subnet;
      nc.gateway = gateway;
    }
    atomic_fetch_add(&s->calls, 1);
    rc = dk_network_create(&out->id, s->ctx->dk, out->name, &nc);
    if (rc)
      lock_drop_gone(&out->fd, s->locks_fd, out->name);
  }
  if (rc) {
    const dk_error *e = dk_error_last();
    return jd_fail(err, errlen, "%s", e && e->code == rc ? e->message : dk_strerror(rc));
  }
  return 0;
}

/* ---- leases ---------------------------------------------------------- */

/* Ends the lease of n (taken out of the leased list by the caller): back
 * idle when the engine shows it empty and the stock has room, else
 * removed. */
static void lease_end(jd_net_stock *s, stock_net *n) {
  dk_network_info *info = NULL;
  net_state st = net_check(&info, s->ctx->dk, n->id, &s->calls);
  if (st == NET_GONE) {
    lock_drop_gone(&n->fd, s->locks_fd, n->name);
    net_clear(n);
  } else if (st == NET_EMPTY) {
    pthread_mutex_lock(&s->mu);
    bool room = s->idle.n < s->keep;
    pthread_mutex_unlock(&s->mu);
    if (!room) {
      net_discard(s, n, info);
    } else {
      /* The lock goes first: another of our threads popping it meanwhile
       * must find it free, as any other process may. */
      lease_unmark(n->fd);
      close(n->fd);
      n->fd = -1;
      free(n->run_key);
      n->run_key = NULL;
      pthread_mutex_lock(&s->mu);
      int rc = s->idle.n < s->keep ? vec_push(&s->idle, n) : -1;
      pthread_mutex_unlock(&s->mu);
      if (rc)
        net_clear(n); /* stays on the engine, idle: found by the next list */
    }
  } else {
    /* An endpoint left, or the engine cannot tell: never reused. */
    net_discard(s, n, info);
  }
  dk_network_info_free(info);
}

/* Tries to lease n (an idle network known to this process, moved out of
 * the idle list): its lock free and the engine showing it empty. Returns
 * true with n's lock held; false with n cleared (taken by another, gone,
 * or removed because something was left on it). */
static bool lease_try(jd_net_stock *s, stock_net *n) {
  if (lock_take(&n->fd, s->locks_fd, n->name)) {
    net_clear(n); /* another process holds it: not ours to know */
    return false;
  }
  bool orphan = lease_orphaned(n->fd);
  dk_network_info *info = NULL;
  net_state st = net_check(&info, s->ctx->dk, n->id, &s->calls);
  bool ok = st == NET_EMPTY && !orphan;
  if (orphan && st != NET_GONE) {
    jd_log(JD_LOG_WARN, "match.net_stock", "network %s: its last holder died leasing it: removed",
           n->name);
    net_discard(s, n, info);
  } else if (st == NET_GONE) {
    lock_drop_gone(&n->fd, s->locks_fd, n->name);
    net_clear(n);
  } else if (st == NET_DIRTY) {
    jd_log(JD_LOG_WARN, "match.net_stock", "network %s has %zu endpoint(s) left: removed", n->name,
           info->ncontainers);
    net_discard(s, n, info);
  } else if (st == NET_UNKNOWN) {
    net_clear(n); /* the engine could not say: left for another time */
  }
  dk_network_info_free(info);
  return ok;
}

/* Lists this stock's networks and adds those this process does not
 * know to its idle list (up to keep). 0, or -1 when the list failed. */
static int idle_adopt(jd_net_stock *s) {
  stock_labels sl;
  labels_of(&sl, s->ctx, s->locks_fd);
  const char *labels[] = {sl.host, sl.role, sl.dir, NULL};
  dk_network_list *l = NULL;
  atomic_fetch_add(&s->calls, 1);
  if (dk_network_list_by_label(&l, s->ctx->dk, labels))
    return -1;
  pthread_mutex_lock(&s->mu);
  size_t had = s->idle.n;
  for (size_t i = 0; i < l->count && s->idle.n < s->keep; i++) {
    const dk_network_info *it = &l->items[i];
    if (!it->name || strlen(it->name) >= NAME_CAP || vec_has(&s->idle, it->id) ||
        vec_has(&s->leased, it->id))
      continue;
    stock_net n = {.fd = -1};
    n.id = strdup(it->id);
    snprintf(n.name, sizeof n.name, "%s", it->name);
    if (!n.id || vec_push(&s->idle, &n))
      free(n.id);
  }
  if (s->idle.n == had)
    s->dry_until = jd_mono_ms() + DRY_MS;
  pthread_mutex_unlock(&s->mu);
  dk_network_list_free(l);
  return 0;
}

/* Whether the last list found nothing to adopt a moment ago. */
static bool stock_dry(jd_net_stock *s) {
  pthread_mutex_lock(&s->mu);
  bool dry = jd_mono_ms() < s->dry_until;
  pthread_mutex_unlock(&s->mu);
  return dry;
}

/* Pops an idle network into *n; false when there is none. */
static bool idle_pop(jd_net_stock *s, stock_net *n) {
  pthread_mutex_lock(&s->mu);
  bool any = s->idle.n > 0;
  if (any)
    vec_take(&s->idle, s->idle.n - 1, n);
  pthread_mutex_unlock(&s->mu);
  return any;
}

/* Records n (its lock held) as leased to run_key; *id points into the
 * list's copy. 0, or -1 (out of memory: n removed). */
static int lease_record(const char **id, jd_net_stock *s, stock_net *n, const char *run_key,
                        char *err, size_t errlen) {
  lease_mark(n->fd);
  n->run_key = strdup(run_key ? run_key : "");
  pthread_mutex_lock(&s->mu);
  int rc = n->run_key ? vec_push(&s->leased, n) : -1;
  *id = rc ? NULL : n->id;
  pthread_mutex_unlock(&s->mu);
  if (rc) {
    net_discard(s, n, NULL);
    return jd_fail(err, errlen, "out of memory");
  }
  return 0;
}

/* ---- the stock --------------------------------------------------------- */

int jd_net_stock_new(jd_net_stock **out, const jd_ctx *ctx, size_t keep, char *err, size_t errlen) {
  *out = NULL;
  if (keep > JD_NET_STOCK_MAX)
    return jd_fail(err, errlen, "net_stock: at most %d networks", JD_NET_STOCK_MAX);
  jd_net_stock *s = calloc(1, sizeof *s);
  if (!s)
    return jd_fail(err, errlen, "out of memory");
  s->ctx = ctx;
  s->keep = keep;
  const char *pool = ctx->net_pool ? ctx->net_pool : JD_NET_POOL_DEFAULT;
  if (jd_net_pool_parse(&s->pool, pool, err, errlen)) {
    free(s);
    return -1;
  }
  s->prefix = s->pool.prefix ? jd_net_pool_prefix_for(&s->pool, STOCK_ENDPOINTS) : 0;
  if (jd_state_locks_open(&s->locks_fd, ctx->state_dir)) {
    int e = errno;
    free(s);
    return jd_fail(err, errlen, "the locks directory of %s: %s",
                   ctx->state_dir ? ctx->state_dir : JD_STATE_DIR_DEFAULT, strerror(e));
  }
  pthread_mutex_init(&s->mu, NULL);
  atomic_init(&s->calls, 0);
  *out = s;
  return 0;
}

void jd_net_stock_free(jd_net_stock *s) {
  if (!s)
    return;
  for (;;) {
    stock_net n;
    pthread_mutex_lock(&s->mu);
    bool any = s->leased.n > 0;
    if (any)
      vec_take(&s->leased, s->leased.n - 1, &n);
    pthread_mutex_unlock(&s->mu);
    if (!any)
      break;
    jd_log(JD_LOG_WARN, "match.net_stock", "%s: network %s still leased: given back", n.run_key,
           n.name);
    lease_end(s, &n);
  }
  for (size_t i = 0; i < s->idle.n; i++)
    net_clear(&s->idle.v[i]);
  free(s->idle.v);
  free(s->leased.v);
  close(s->locks_fd);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

int jd_net_stock_take(const char **id, jd_net_stock *s, const char *run_key, char *err,
                      size_t errlen) {
  *id = NULL;
  stock_net n;
  bool listed = s->keep == 0; /* no stock: nothing to list */
  for (;;) {
    if (idle_pop(s, &n)) {
      if (lease_try(s, &n))
        return lease_record(id, s, &n, run_key, err, errlen);
      continue;
    }
    if (listed || stock_dry(s))
      break;
    listed = true;
    if (idle_adopt(s))
      break; /* the engine will say it again on the create */
  }
  if (net_create(&n, s, err, errlen))
    return -1;
  return lease_record(id, s, &n, run_key, err, errlen);
}

/* Moves the leases matching id (or run_key) out of the leased list into
 * out (at most cap). */
static size_t leases_take(stock_net *out, size_t cap, jd_net_stock *s, const char *id,
                          const char *run_key) {
  size_t got = 0;
  pthread_mutex_lock(&s->mu);
  for (size_t i = 0; i < s->leased.n && got < cap;) {
    const stock_net *l = &s->leased.v[i];
    if ((id && !strcmp(l->id, id)) || (run_key && !strcmp(l->run_key, run_key)))
      vec_take(&s->leased, i, &out[got++]);
    else
      i++;
  }
  pthread_mutex_unlock(&s->mu);
  return got;
}

bool jd_net_stock_give_back(jd_net_stock *s, const char *id) {
  stock_net n;
  if (!s || !id || !leases_take(&n, 1, s, id, NULL))
    return false;
  lease_end(s, &n);
  return true;
}

void jd_net_stock_give_back_run(jd_net_stock *s, const char *run_key) {
  if (!s || !run_key)
    return;
  stock_net batch[16];
  size_t got;
  while ((got = leases_take(batch, 16, s, NULL, run_key)) > 0)
    for (size_t i = 0; i < got; i++)
      lease_end(s, &batch[i]);
}

const char *jd_net_stock_name(jd_net_stock *s, const char *id) {
  const char *name = NULL;
  pthread_mutex_lock(&s->mu);
  for (size_t i = 0; i < s->leased.n && !name; i++)
    if (!strcmp(s->leased.v[i].id, id))
      name = s->leased.v[i].name;
  pthread_mutex_unlock(&s->mu);
  return name;
}

int jd_net_stock_fill(jd_net_stock *s, size_t want, char *err, size_t errlen) {
  if (want > s->keep)
    want = s->keep;
  pthread_mutex_lock(&s->mu);
  bool short_of = s->idle.n < want;
  pthread_mutex_unlock(&s->mu);
  /* What other processes left idle counts first. */
  if (short_of && idle_adopt(s)) {
    const dk_error *e = dk_error_last();
    return jd_fail(err, errlen, "listing the stock: %s", e ? e->message : "engine error");
  }
  for (;;) {
    pthread_mutex_lock(&s->mu);
    bool more = s->idle.n < want;
    pthread_mutex_unlock(&s->mu);
    if (!more)
      return 0;
    stock_net n;
    if (net_create(&n, s, err, errlen))
      return -1;
    close(n.fd);
    n.fd = -1;
    pthread_mutex_lock(&s->mu);
    int rc = vec_push(&s->idle, &n);
    pthread_mutex_unlock(&s->mu);
    if (rc) {
      net_clear(&n);
      return jd_fail(err, errlen, "out of memory");
    }
  }
}

size_t jd_net_stock_idle(jd_net_stock *s) {
  if (!s)
    return 0;
  pthread_mutex_lock(&s->mu);
  size_t n = s->idle.n;
  pthread_mutex_unlock(&s->mu);
  return n;
}

size_t jd_net_stock_leased(jd_net_stock *s) {
  if (!s)
    return 0;
  pthread_mutex_lock(&s->mu);
  size_t n = s->leased.n;
  pthread_mutex_unlock(&s->mu);
  return n;
}

size_t jd_net_stock_calls(jd_net_stock *s) { return atomic_load(&s->calls); }

/* ---- reconciliation ---------------------------------------------------- */

/* The lock files of this host's stock networks that are gone (removed
 * outside the stock: `docker network rm`, a test's cleanup), unlinked
 * under their lock once the engine says the name is unknown (a network
 * made after the list l is there: kept). */
static void locks_sweep(int dir, const jd_ctx *ctx, const dk_network_list *l,
                        atomic_size_t *calls) {
  char prefix[NAME_CAP + 8];
  int n = snprintf(prefix, sizeof prefix, "net-judger-%s-net-", ctx->host_id);
  int copy = dup(dir);
  DIR *d = copy < 0 ? NULL : fdopendir(copy);
  if (!d) {
    if (copy >= 0)
      close(copy);
    return;
  }
  for (struct dirent *de = readdir(d); de; de = readdir(d)) {
    if (strncmp(de->d_name, prefix, (size_t)n))
      continue;
    const char *name = de->d_name + 4; /* after "net-" */
    bool listed = false;
    for (size_t i = 0; i < l->count && !listed; i++)
      listed = l->items[i].name && !strcmp(l->items[i].name, name);
    int fd = -1;
    if (listed || lock_take(&fd, dir, name))
      continue;
    dk_network_info *info = NULL;
    if (net_check(&info, ctx->dk, name, calls) == NET_GONE)
      lock_drop_gone(&fd, dir, name);
    if (fd >= 0)
      close(fd);
    dk_network_info_free(info);
  }
  closedir(d);
}

int jd_net_stock_reconcile(size_t *removed, const jd_ctx *ctx, size_t keep, char *err,
                           size_t errlen) {
  *removed = 0;
  int dir = -1;
  if (jd_state_locks_open(&dir, ctx->state_dir))
    return jd_fail(err, errlen, "the locks directory: %s", strerror(errno));
  stock_labels sl;
  labels_of(&sl, ctx, dir);
  const char *labels[] = {sl.host, sl.role, sl.dir, NULL};
  dk_network_list *l = NULL;
  int rc = dk_network_list_by_label(&l, ctx->dk, labels);
  if (rc) {
    close(dir);
    const dk_error *e = dk_error_last();
    return jd_fail(err, errlen, "%s", e && e->code == rc ? e->message : dk_strerror(rc));
  }
  atomic_size_t calls;
  atomic_init(&calls, 0);
  size_t free_ones = 0, failures = 0;
  for (size_t i = 0; i < l->count; i++) {
    const dk_network_info *it = &l->items[i];
    int fd = -1;
    if (!it->name || lock_take(&fd, dir, it->name))
      continue; /* leased (or a lock we cannot take): its holder's */
    dk_network_info *info = NULL;
    net_state st = net_check(&info, ctx->dk, it->id, &calls);
    bool drop = st == NET_DIRTY || (st == NET_EMPTY && lease_orphaned(fd)) ||
                (st == NET_EMPTY && ++free_ones > keep);
    if (drop && !net_scrub(ctx->dk, it->id, info, &calls)) {
      (*removed)++;
      lock_drop_gone(&fd, dir, it->name);
    } else if (drop) {
      failures++;
    } else if (st == NET_GONE) {
      lock_drop_gone(&fd, dir, it->name);
    }
    if (fd >= 0)
      close(fd);
    dk_network_info_free(info);
  }
  locks_sweep(dir, ctx, l, &calls);
  dk_network_list_free(l);
  close(dir);
  return failures ? jd_fail(err, errlen, "%zu stock network(s) could not be removed", failures) : 0;
}
