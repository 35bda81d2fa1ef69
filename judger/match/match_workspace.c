/* Matches: the work directory (match.json, the two FIFOs, out/, the log
 * spools) and the internal network a match runs in, and the sweep that
 * removes what carries the run's label (see match_internal.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/labels.h"
#include "common/log.h"
#include "common/tmpfile.h"
#include "common/util.h"
#include "match/cgroup_meter.h"
#include "match/hold.h"
#include "match/match_internal.h"
#include "match/net_stock.h"

static int path_in(char **out, const char *dir, const char *name) {
  return asprintf(out, "%s/%s", dir, name) < 0 ? (*out = NULL, -1) : 0;
}

int jd_match_setup_workdir(jd_match *m) {
  const char *state =
      m->ctx->state_dir && *m->ctx->state_dir ? m->ctx->state_dir : JD_STATE_DIR_DEFAULT;
  char *matches = NULL;
  int rc = -1;
  if (path_in(&matches, state, "matches") || jd_mkdir_p(matches, 0700))
    goto cleanup;
  if (path_in(&m->work_dir, matches, m->run_key))
    goto cleanup;
  /* The run key is random: an existing directory is not ours, and must not
   * be removed with ours when the match ends. */
  if (mkdir(m->work_dir, 0700)) {
    int saved = errno;
    free(m->work_dir);
    m->work_dir = NULL;
    errno = saved;
    goto cleanup;
  }
  if (path_in(&m->cmd_path, m->work_dir, "cmd") || path_in(&m->ev_path, m->work_dir, "events") ||
      path_in(&m->json_path, m->work_dir, "match.json") ||
      path_in(&m->outputs_path, m->work_dir, "outputs") ||
      path_in(&m->spool_dir, m->work_dir, "logs"))
    goto cleanup;
  if (jd_hold_install(&m->hold_path, state))
    goto cleanup;
  /* The game logic runs as another user (65534 by default): the FIFOs are
   * open to it; the 0700 work dir keeps other host users out. Its outputs
   * are in its own tmpfs, never in a host directory (hold.h). */
  if (mkdir(m->spool_dir, 0700))
    goto cleanup;
  if (mkfifo(m->cmd_path, 0666) || chmod(m->cmd_path, 0666) || mkfifo(m->ev_path, 0666) ||
      chmod(m->ev_path, 0666) || mkfifo(m->outputs_path, 0666) || chmod(m->outputs_path, 0666))
    goto cleanup;
  const char *tokens[JD_MATCH_MAX_AIS];
  for (size_t i = 0; i < m->spec->nplayers; i++)
    tokens[i] = m->tokens[i];
  char *json = jd_match_game_json(m->spec, tokens);
  if (!json)
    goto cleanup;
  int w = jd_write_file(m->json_path, json, strlen(json));
  free(json);
  if (w || chmod(m->json_path, 0644))
    goto cleanup;
  /* Read+write opens never block and never see EOF: the game logic may
   * open, close and reopen its ends as it likes (Hiper's game logics do). */
  m->cmd_fd = open(m->cmd_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  m->ev_fd = open(m->ev_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (m->cmd_fd < 0 || m->ev_fd < 0)
    goto cleanup;
  rc = 0;
cleanup:
  if (rc)
    jd_match_set_status(m, JD_MATCH_STATUS_ERROR, "match work directory under %s: %s", state,
                        strerror(errno));
  free(matches);
  return rc;
}

/* Picks tried before a network creation gives up on the pool (a clash is
 * another network on the same subnet). */
#define NET_PICKS 32

/* Endpoints a network of the stock serves (net_stock.h). */
#define STOCK_ENDPOINTS 2

/* A network leased from the stock for the run: *leased, its id into
 * *id_out and its name into name (cap bytes); *leased false when the
 * caller is to create one (no stock, or the name does not fit). 0, or -1
 * with err. */
static int net_lease(bool *leased, char **id_out, jd_match *m, char *name, size_t cap, char *err,
                     size_t errlen) {
  jd_net_stock *s = m->ctx->net_stock;
  const char *id = NULL;
  *leased = false;
  if (!s)
    return 0;
  if (jd_net_stock_take(&id, s, m->run_key, err, errlen))
    return -1;
  const char *name_of = jd_net_stock_name(s, id);
  if (!name_of || strlen(name_of) >= cap || !(*id_out = strdup(id))) {
    jd_net_stock_give_back(s, id);
    return 0;
  }
  snprintf(name, cap, "%s", name_of);
  *leased = true;
  return 0;
}

/* jd_match_net_new with name's room: cap bytes. */
static int net_new(char **id_out, jd_match *m, char *name, size_t cap, size_t endpoints, char *err,
                   size_t errlen) {
  if (endpoints <= STOCK_ENDPOINTS) {
    bool leased = false;
    if (net_lease(&leased, id_out, m, name, cap, err, errlen))
      return -1;
    if (leased)
      return 0;
  }
  dk_kv labels[4] = {{JD_LABEL_HOST, m->ctx->host_id},
                     {JD_LABEL_MATCH, m->spec->id},
                     {JD_LABEL_RUN, m->run_key},
                     {JD_LABEL_ROLE, "network"}};
  /* Internal: the engine installs no NAT and no forwarding out of it.
   * inhibit_ipv4: the host gets no address on the bridge, so containers
   * cannot reach services listening on the host either (an internal bridge
   * otherwise answers on its gateway address). */
  dk_kv options[1] = {{"com.docker.network.bridge.inhibit_ipv4", "true"}};
  dk_network_config nc = {.internal = true,
                          .check_duplicate = true,
                          .labels = labels,
                          .nlabels = 4,
                          .options = options,
                          .noptions = 1};
  char subnet[20], gateway[16];
  int prefix = m->pool.prefix ? jd_net_pool_prefix_for(&m->pool, endpoints) : 0;
  int rc = DK_EFORBIDDEN;
  atomic_store(&m->nets_made, true);
  for (int i = 0; i < NET_PICKS && rc == DK_EFORBIDDEN; i++) {
    if (prefix) {
      char hex[9];
      if (jd_random_hex(hex, 4))
        return jd_fail(err, errlen, "%s", dk_strerror(DK_EINTERNAL));
      uint32_t pick = (uint32_t)strtoul(hex, NULL, 16);
      jd_net_pool_subnet(&m->pool, prefix, pick, subnet, gateway);
      nc.subnet = subnet;
      nc.gateway = gateway;
    }
    rc = dk_network_create(id_out, m->ctx->dk, name, &nc);
    if (!prefix)
      break;
  }
  if (rc) {
    const dk_error *e = dk_error_last();
    return jd_fail(err, errlen, "%s", e && e->code == rc ? e->message : dk_strerror(rc));
  }
  return 0;
}

int jd_match_net_new(char **id_out, jd_match *m, char *name, size_t endpoints, char *err,
                     size_t errlen) {
  return net_new(id_out, m, name, strlen(name) + 1, endpoints, err, errlen);
}

/* Room for the match network's name: its own, or a stock network's
 * ("judger-<host>-net-" and at most 16 hex digits). */
static size_t match_net_cap(const jd_match *m) {
  size_t own = strlen("judger--") + strlen(m->ctx->host_id) + strlen(m->run_key);
  size_t stock = strlen("judger--net-") + strlen(m->ctx->host_id) + 16;
  return (own > stock ? own : stock) + 1;
}

static void *network_main(void *arg) {
  jd_match *m = arg;
  /* With per-player isolation only the game logic is on this one. */
  size_t endpoints =
      m->spec->isolation == JD_ISOLATION_MATCH ? (size_t)m->spec->limits.max_concurrent + 1 : 1;
  char *id = NULL, *err = NULL, why[JD_MATCH_ERR_MAX];
  int rc = net_new(&id, m, m->net_name, match_net_cap(m), endpoints, why, sizeof why);
  if (rc && asprintf(&err, "creating the match network: %s", why) < 0)
    err = NULL;
  pthread_mutex_lock(&m->mu);
  m->net_id = id;
  m->net_rc = rc;
  m->net_err = err;
  m->net_settled = true;
  pthread_cond_broadcast(&m->cond);
  pthread_mutex_unlock(&m->mu);
  return NULL;
}

int jd_match_create_network(jd_match *m) {
  char err[128];
  const char *pool = m->ctx->net_pool ? m->ctx->net_pool : JD_NET_POOL_DEFAULT;
  if (jd_net_pool_parse(&m->pool, pool, err, sizeof err)) {
    jd_match_set_status(m, JD_MATCH_STATUS_ERROR, "%s", err);
    return -1;
  }
  size_t cap = match_net_cap(m);
  m->net_name = malloc(cap);
  if (!m->net_name) {
    jd_match_set_status(m, JD_MATCH_STATUS_ERROR, "out of memory");
    return -1;
  }
  snprintf(m->net_name, cap, "judger-%s-%s", m->ctx->host_id, m->run_key);
  if (pthread_create(&m->net_thread, NULL, network_main, m)) {
    jd_match_set_status(m, JD_MATCH_STATUS_ERROR, "cannot start the network thread");
    return -1;
  }
  m->net_thread_started = true;
  return 0;
}

int jd_match_network_await(jd_match *m, char *err, size_t errlen) {
  pthread_mutex_lock(&m->mu);
  while (!m->net_settled)
    pthread_cond_wait(&m->cond, &m->mu);
  int rc = m->net_rc ? jd_fail(err, errlen, "%s",
                               m->net_err ? m->net_err : "creating the match network failed")
                     : 0;
  pthread_mutex_unlock(&m->mu);
  return rc;
}

void jd_match_network_join(jd_match *m) {
  if (m->net_thread_started)
    pthread_join(m->net_thread, NULL);
  m->net_thread_started = false;
}

int jd_match_net_remove(jd_match *m, const char *id, const char *name) {
  dk_client *dk = m->ctx->dk;
  /* A leased one goes back to the stock (kept only when empty). */
  if (jd_net_stock_give_back(m->ctx->net_stock, id))
    return 0;
  int rc = dk_network_remove(dk, id);
  for (int tries = 0; rc && rc != DK_ENOTFOUND && tries < 20; tries++) {
    /* An endpoint can outlive its container by a moment. */
    usleep(50 * 1000);
    rc = dk_network_remove(dk, id);
  }
  if (rc && rc != DK_ENOTFOUND) {
    jd_log(JD_LOG_ERROR, "match.sweep", "%s: network %s: %s", m->run_key, name, dk_strerror(rc));
    return -1;
  }
  return 0;
}

void jd_match_sweep(jd_match *m) {
  dk_client *dk = m->ctx->dk;
  char label[200];
  snprintf(label, sizeof label, "%s=%s", JD_LABEL_RUN, m->run_key);
  const char *labels[] = {label, NULL};
  /* Unit threads remove their own containers; this catches what they could
   * not (engine error, thread never started) at the cost of one list call. */
  dk_container_list *list = NULL;
  if (!dk_container_list_by_label(&list, dk, true, labels)) {
    for (size_t i = 0; i < list->count; i++) {
      jd_meter_thaw_host(list->items[i].id, m->ctx->cgroup_root);
      int rc = dk_container_remove(dk, list->items[i].id, true, true);
      if (rc && rc != DK_ENOTFOUND)
        jd_log(JD_LOG_WARN, "match.sweep", "%s: container %s: %s", m->run_key, list->items[i].name,
               dk_strerror(rc));
    }
  }
  dk_container_list_free(list);
  /* What the run leased from the stock and a unit thread did not give back
   * (the match network, warm players' networks): back, or removed when
   * something is left on it. */
  jd_net_stock_give_back_run(m->ctx->net_stock, m->run_key);
  /* The match network and any player network a unit thread could not
   * remove: everything with the run's label (none when every network came
   * from the stock: no list then). */
  dk_network_list *nets = NULL;
  if ((!m->ctx->net_stock || atomic_load(&m->nets_made)) &&
      !dk_network_list_by_label(&nets, dk, labels))
    for (size_t i = 0; i < nets->count; i++)
      jd_match_net_remove(m, nets->items[i].id, nets->items[i].name);
  dk_network_list_free(nets);
  /* The result is out already (teardown is off its path): a network left
   * behind is logged (jd_match_net_remove) and the periodic reconciliation
   * removes it by its labels. */
}
