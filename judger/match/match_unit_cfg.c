/* A unit's container configuration (see match_unit_internal.h): what every
 * container of a match gets, then one short list per role (game logic,
 * cold player, warm player), added through adders that remember the first
 * failure. To give a role a variable or a bind, add a line to its list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/labels.h"
#include "common/log.h"
#include "match/hold.h"
#include "match/match_unit_internal.h"

/* ---- the builder ---------------------------------------------------------- */

typedef struct cfg_bind {
  const char *host, *ctr;
  bool ro;
} cfg_bind;

static void cfg_fail(unit_cfg *c, int rc) {
  if (!c->rc)
    c->rc = rc;
}

static void cfg_env(unit_cfg *c, const dk_kv *list, size_t n) {
  for (size_t i = 0; !c->rc && i < n; i++) {
    char *s = NULL;
    if (c->nenv == UNIT_ENV_MAX || asprintf(&s, "%s=%s", list[i].key, list[i].value) < 0) {
      cfg_fail(c, DK_ENOMEM);
      return;
    }
    c->env_own[c->nenv] = s;
    c->env[c->nenv++] = s;
  }
}

static void cfg_binds(unit_cfg *c, const cfg_bind *list, size_t n) {
  for (size_t i = 0; !c->rc && i < n; i++) {
    char *s = NULL;
    if (c->nbinds == UNIT_BINDS_MAX ||
        asprintf(&s, "%s:%s%s", list[i].host, list[i].ctr, list[i].ro ? ":ro" : "") < 0) {
      cfg_fail(c, DK_ENOMEM);
      return;
    }
    c->binds_own[c->nbinds] = s;
    c->binds[c->nbinds++] = s;
  }
}

#define CFG_ENV(c, list) cfg_env(c, list, sizeof list / sizeof *list)
#define CFG_BINDS(c, list) cfg_binds(c, list, sizeof list / sizeof *list)

/* Appends one string to the NULL-terminated argv. */
static void cfg_arg(unit_cfg *c, const char *arg) {
  if (c->rc)
    return;
  char **grown = realloc(c->argv, (c->nargv + 2) * sizeof *grown);
  if (!grown) {
    cfg_fail(c, DK_ENOMEM);
    return;
  }
  c->argv = grown;
  grown[c->nargv] = strdup(arg ? arg : "");
  if (!grown[c->nargv]) {
    cfg_fail(c, DK_ENOMEM);
    return;
  }
  grown[++c->nargv] = NULL;
}

/* Appends the strings of a JSON array (NULL or not an array: nothing). */
static void cfg_args_json(unit_cfg *c, json_object *arr) {
  size_t len = json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
  for (size_t i = 0; i < len; i++)
    cfg_arg(c, json_object_get_string(json_object_array_get_idx(arr, i)));
}

void unit_cfg_free(unit_cfg *c) {
  for (size_t i = 0; i < c->nenv; i++)
    free(c->env_own[i]);
  for (size_t i = 0; i < c->nbinds; i++)
    free(c->binds_own[i]);
  for (size_t i = 0; c->argv && c->argv[i]; i++)
    free(c->argv[i]);
  free(c->argv);
  dk_image_info_free(c->own_info);
}

/* ---- what every container gets ---------------------------------------------- */

/* The program's command as the engine would run it (the image's
 * Entrypoint, then the spec's cmd or the image's Cmd), handed to
 * judger-hold, which becomes the entry point: the game logic's PID 1, or a
 * warm player's shim ("--warm", which execs it on the go). */
static void cfg_hold(unit_cfg *c, const jd_unit *u, const jd_ready *r, const dk_image_info *info) {
  json_object *root = json_tokener_parse(info->raw_json), *conf = NULL, *ep = NULL, *cmd = NULL;
  if (json_object_object_get_ex(root, "Config", &conf)) {
    json_object_object_get_ex(conf, "Entrypoint", &ep);
    json_object_object_get_ex(conf, "Cmd", &cmd);
  }
  if (u->warm)
    cfg_arg(c, "--warm");
  size_t first = c->nargv;
  cfg_args_json(c, ep);
  for (size_t i = 0; r->cmd && r->cmd[i]; i++)
    cfg_arg(c, r->cmd[i]);
  if (!r->cmd)
    cfg_args_json(c, cmd);
  json_object_put(root);
  if (c->nargv == first)
    cfg_arg(c, ""); /* nothing to run: judger-hold says so, 127 */
  if (c->rc)
    return;
  c->entrypoint[0] = u->warm ? JD_WARM_HOLD : JD_HOLD_PATH;
  c->cc.entrypoint = c->entrypoint;
  c->cc.cmd = (const char *const *)c->argv;
}

/* Image, limits, user, host name, labels and alias, and the variables
 * every program reads. */
static void cfg_common(unit_cfg *c, const jd_unit *u, const jd_ready *r,
                       const jd_role_limits *lim) {
  const jd_match *m = u->m;
  bool gl = u->ai < 0;
  jd_limits_host_config(&c->cc.host, &c->store, lim, u->net_name ? u->net_name : m->net_name);
  c->cc.image = r->image;
  c->cc.cmd = r->cmd;
  c->cc.user = lim->user && *lim->user ? lim->user : NULL;
  c->cc.hostname = gl ? "game" : u->name;
  c->labels[0] = (dk_kv){JD_LABEL_HOST, m->ctx->host_id};
  c->labels[1] = (dk_kv){JD_LABEL_MATCH, m->spec->id};
  c->labels[2] = (dk_kv){JD_LABEL_RUN, m->run_key};
  c->labels[3] = (dk_kv){JD_LABEL_ROLE, gl ? "game_logic" : "player"};
  c->cc.labels = c->labels;
  c->cc.nlabels = 4;
  c->aliases[0] = gl ? "game" : u->name;
  c->cc.aliases = c->aliases;
  const dk_kv env[] = {{"JUDGER_MATCH_ID", m->spec->id}, {"HOME", "/tmp"}};
  CFG_ENV(c, env);
}

/* Its cores when the match leased some (limits.cpuset "auto",
 * match/cpu_pool.h): kept in the unit, which outlives the create. */
static void cfg_cpuset(unit_cfg *c, jd_unit *u) {
  u->cpuset[0] = '\0';
  u->cpuset_shared = false;
  if (!u->m->cpus)
    return;
  jd_cpu_lease_for(u->m->cpus, u->ai, &u->cpuset_shared, u->cpuset, sizeof u->cpuset);
  if (u->cpuset[0])
    c->cc.host.cpuset_cpus = u->cpuset;
}

/* ---- the three roles -------------------------------------------------------- */

/* The spec's inputs, each its file in the host's cache (held open by the
 * match, match_inputs.c) bound read-only at /inputs/<name>. */
static void cfg_inputs(unit_cfg *c, const jd_match *m) {
  for (size_t i = 0; !c->rc && i < m->spec->ninputs; i++) {
    const char *host = jd_match_input_path(m, i);
    char ctr[sizeof "/inputs/" + JD_INPUT_NAME_MAX];
    if (!host) {
      cfg_fail(c, DK_EINTERNAL);
      return;
    }
    snprintf(ctr, sizeof ctr, "/inputs/%s", m->spec->inputs[i].name);
    const cfg_bind bind[] = {{host, ctr, true}};
    CFG_BINDS(c, bind);
  }
}

/* The game logic: the protocol's FIFOs, match.json and its outputs, run by
 * judger-hold. */
static void cfg_game_logic(unit_cfg *c, const jd_unit *u, const jd_ready *r,
                           const dk_image_info *info) {
  const jd_match *m = u->m;
  char n[16];
  snprintf(n, sizeof n, "%zu", m->spec->nplayers);
  const dk_kv env[] = {
      {"JUDGER_CMD_PIPE", "/judger/cmd"},
      {"JUDGER_EVENT_PIPE", "/judger/events"},
      {"JUDGER_MATCH_JSON", "/judger/match.json"},
      {"JUDGER_OUT_DIR", "/judger/out"},
      {"JUDGER_AI_COUNT", n},
  };
  const cfg_bind binds[] = {
      {m->cmd_path, "/judger/cmd", false},        {m->ev_path, "/judger/events", false},
      {m->json_path, "/judger/match.json", true}, {m->hold_path, JD_HOLD_PATH, true},
      {m->outputs_path, JD_HOLD_FIFO, false},
  };
  CFG_ENV(c, env);
  CFG_BINDS(c, binds);
  cfg_inputs(c, m);
  cfg_hold(c, u, r, info);
  jd_limits_game_logic_out(&c->cc.host, &c->store, m->spec->limits.out_max);
}

/* A warm player: its identity comes with the go (jd_warm_take), read by
 * judger-hold from its go FIFO. */
static void cfg_warm_player(unit_cfg *c, const jd_unit *u, const jd_ready *r,
                            const dk_image_info *info) {
  const dk_kv env[] = {{"JUDGER_GAME_HOST", "game"}};
  const cfg_bind binds[] = {
      {u->m->hold_path, JD_WARM_HOLD, true},
      {u->go_path, JD_WARM_FIFO, true},
  };
  CFG_ENV(c, env);
  CFG_BINDS(c, binds);
  cfg_hold(c, u, r, info);
}

/* A cold player: its identity in its environment. */
static void cfg_cold_player(unit_cfg *c, const jd_unit *u) {
  char n[16];
  snprintf(n, sizeof n, "%d", u->ai);
  const dk_kv env[] = {
      {"JUDGER_TOKEN", u->m->tokens[u->ai]},
      {"JUDGER_AI_INDEX", n},
      {"JUDGER_PLAYER_NAME", u->name},
      {"JUDGER_GAME_HOST", "game"},
  };
  CFG_ENV(c, env);
}

/* Each declared volume a tmpfs as big as /tmp, counted in the memory
 * limit: no anonymous volume on the host's disk (common/volumes.h). A path
 * that cannot be covered refuses the image (unit_create). */
static void cfg_volumes(unit_cfg *c, const jd_unit *u, const dk_image_info *info,
                        const jd_role_limits *lim) {
  char err[200];
  if (!c->rc && jd_volumes_cover(&c->vols, (const char *const *)info->volumes,
                                 info->volumes_truncated, c->cc.host.tmpfs, c->cc.host.ntmpfs,
                                 c->cc.host.binds, lim->tmpfs, err, sizeof err)) {
    jd_log(JD_LOG_ERROR, "match.volumes", "%s: %s", u->cname, err);
    cfg_fail(c, DK_EINTERNAL);
  }
  c->cc.host.tmpfs = c->vols.tmpfs;
  c->cc.host.ntmpfs = c->vols.ntmpfs;
}

/* Last: the engine's forms of the whole configuration (Ulimits, the
 * seccomp profile's file and tmpfs options on Podman). */
static void cfg_engine(unit_cfg *c, jd_unit *u) {
  char err[400];
  if (c->rc || !jd_create_compat(&c->cc.host, &c->compat, u->m->ctx, err, sizeof err))
    return;
  jd_log(JD_LOG_ERROR, "match.create", "%s: %s", u->cname, err);
  if (!u->message)
    u->message = strdup(err);
  cfg_fail(c, DK_EINTERNAL);
}

int unit_cfg_build(unit_cfg *c, jd_unit *u) {
  jd_match *m = u->m;
  bool gl = u->ai < 0;
  const jd_ready *r = gl ? &m->gl_ready : &m->ai_ready[u->ai];
  const jd_role_limits *lim =
      gl ? &m->spec->limits.game_logic : jd_match_player_limits(m->spec, u->ai);
  memset(c, 0, sizeof *c);
  /* The program's inspect from its preparation: none per container. */
  const dk_image_info *info = r->info;
  if (!info) {
    c->rc = dk_image_inspect(&c->own_info, m->ctx->dk, r->image);
    if (c->rc)
      return -1;
    info = c->own_info;
  }
  cfg_common(c, u, r, lim);
  cfg_cpuset(c, u);
  if (gl)
    cfg_game_logic(c, u, r, info);
  else if (u->warm)
    cfg_warm_player(c, u, r, info);
  else
    cfg_cold_player(c, u);
  if (r->app_dir) {
    const cfg_bind app[] = {{r->app_dir, "/app", true}};
    CFG_BINDS(c, app);
  }
  c->cc.env = c->env;
  c->cc.host.binds = c->binds;
  cfg_volumes(c, u, info, lim);
  cfg_engine(c, u);
  return c->rc ? -1 : 0;
}
