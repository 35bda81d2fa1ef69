/* judger gc — removes old environment images (per program and op: keeps the
 * current ":latest" one and the N most recent; never an image a container
 * uses), the step images failed builds left (when no build runs),
 * artifacts cache entries and git mirrors unused for a while, the idle
 * networks of the host's stock (match/net_stock.h; never a leased one) and
 * the match inputs' cache files unused for a day (match/input_cache.h;
 * never one a match holds). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "build/artifacts.h"
#include "build/image_cache.h"
#include "build/source.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "common/context.h"
#include "match/input_cache.h"
#include "match/net_stock.h"

static void usage(FILE *f) {
  fprintf(f, "usage: judger gc [--images] [--artifacts] [--git] [--networks] [--inputs] [options]\n"
             "  --images             old environment images, failed builds' step images\n"
             "                       (default: every part)\n"
             "  --artifacts          artifacts cache entries\n"
             "  --git                git mirrors\n"
             "  --networks           the idle networks of this host's stock (net_stock)\n"
             "  --inputs             match inputs' cache files unused for a day (--max-age)\n"
             "  --domain D, --id ID  only this program's images\n"
             "  --keep N             keep N recent images besides the current one (default 2)\n"
             "  --max-age DAYS       artifacts and git mirrors unused this long go (default "
             "7)\n"
             "  --state-dir DIR      $JUDGER_STATE_DIR, setting state_dir; default\n"
             "                       " JD_STATE_DIR_DEFAULT "\n"
             "  --dry-run            list, remove nothing\n"
             "  --purge              remove ALL images of --id (a deleted program); never\n"
             "                       one a container uses\n"
             "  --json               one JSON object on stdout\n");
  jd_cli_usage_settings(f, JD_CMD_GC);
  fprintf(f, "exit: 0 ok, 2 usage, 3 system fault\n");
}

static json_object *strv_json(char **v) {
  json_object *a = json_object_new_array();
  for (; v && *v; v++)
    json_object_array_add(a, json_object_new_string(*v));
  return a;
}

/* What the command line asks for. */
typedef struct gc_cmd {
  bool images, artifacts, git, networks, inputs, json, purge;
  bool age_given; /* --max-age given: the inputs' age too (else a day) */
  jd_image_gc_opts go;
  double max_age_days;
  jd_cli cli; /* --config, --state-dir, --host-id (the stock's networks) */
} gc_cmd;

enum {
  OPT_IMAGES = 256,
  OPT_ARTIFACTS,
  OPT_GIT,
  OPT_NETWORKS,
  OPT_INPUTS,
  OPT_DOMAIN,
  OPT_ID,
  OPT_KEEP,
  OPT_AGE,
  OPT_DRY,
  OPT_JSON,
  OPT_PURGE
};

static const struct option options[] = {{"images", no_argument, NULL, OPT_IMAGES},
                                        {"artifacts", no_argument, NULL, OPT_ARTIFACTS},
                                        {"git", no_argument, NULL, OPT_GIT},
                                        {"networks", no_argument, NULL, OPT_NETWORKS},
                                        {"inputs", no_argument, NULL, OPT_INPUTS},
                                        {"domain", required_argument, NULL, OPT_DOMAIN},
                                        {"id", required_argument, NULL, OPT_ID},
                                        {"keep", required_argument, NULL, OPT_KEEP},
                                        {"max-age", required_argument, NULL, OPT_AGE},
                                        {"dry-run", no_argument, NULL, OPT_DRY},
                                        {"json", no_argument, NULL, OPT_JSON},
                                        {"purge", no_argument, NULL, OPT_PURGE},
                                        {"help", no_argument, NULL, 'h'},
                                        {NULL, 0, NULL, 0}};

/* One option with a value into cmd; 0, or -1 when the value is refused
 * (reported). */
static int set_option(gc_cmd *cmd, int c, const char *arg) {
  char *end = NULL;
  char err[256];
  jd_domain d;
  switch (c) {
  case OPT_DOMAIN:
    if (jd_domain_parse(&d, arg) != 0) {
      fprintf(stderr, "judger gc: --domain must be 'ai' or 'game_logic'\n");
      return -1;
    }
    cmd->go.domain = arg;
    return 0;
  case OPT_ID:
    if (jd_program_id_check(arg, err, sizeof err) != 0) {
      fprintf(stderr, "judger gc: %s\n", err);
      return -1;
    }
    cmd->go.id = arg;
    return 0;
  case OPT_KEEP:
    cmd->go.keep = (int)strtol(arg, &end, 10);
    if (*end || cmd->go.keep < 0) {
      fprintf(stderr, "judger gc: bad --keep '%s'\n", arg);
      return -1;
    }
    return 0;
  default: /* OPT_AGE */
    cmd->max_age_days = strtod(arg, &end);
    if (*end || cmd->max_age_days < 0) {
      fprintf(stderr, "judger gc: bad --max-age '%s' (days)\n", arg);
      return -1;
    }
    cmd->age_given = true;
    return 0;
  }
}

/* Fills cmd from argv. Returns -1 to go on, else the exit code to return
 * now (--help, or a usage error already reported). */
static int parse_args(gc_cmd *cmd, int argc, char **argv) {
  int c;
  const struct option *longs = jd_cli_options(&cmd->cli, options);
  if (!longs) {
    fprintf(stderr, "judger gc: out of memory\n");
    return JD_EXIT_SYSTEM;
  }
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
    if (jd_cli_take_setting(&cmd->cli, c, optarg))
      continue;
    switch (c) {
    case OPT_IMAGES:
      cmd->images = true;
      break;
    case OPT_ARTIFACTS:
      cmd->artifacts = true;
      break;
    case OPT_GIT:
      cmd->git = true;
      break;
    case OPT_NETWORKS:
      cmd->networks = true;
      break;
    case OPT_INPUTS:
      cmd->inputs = true;
      break;
    case OPT_DRY:
      cmd->go.dry_run = true;
      break;
    case OPT_JSON:
      cmd->json = true;
      break;
    case OPT_PURGE:
      cmd->purge = true;
      break;
    case OPT_DOMAIN:
    case OPT_ID:
    case OPT_KEEP:
    case OPT_AGE:
      if (set_option(cmd, c, optarg))
        return JD_EXIT_USAGE;
      break;
    case 'h':
      usage(stdout);
      return JD_EXIT_OK;
    default:
      return jd_cli_bad_option("gc", argv[optind - 1], usage);
    }
  }
  if (optind < argc)
    return jd_cli_bad_argument("gc", argv[optind], usage);
  if (cmd->purge && !cmd->go.id) {
    fprintf(stderr, "judger gc: --purge needs --id\n");
    return JD_EXIT_USAGE;
  }
  return -1;
}

/* Reports an engine failure of `what` (why: its reason); returns
 * JD_EXIT_SYSTEM. */
static int engine_fault(const char *what, const char *why) {
  fprintf(stderr, "judger gc: %s: %s\n", what, why);
  return JD_EXIT_SYSTEM;
}

/* The engine's client into ctx: 0, or -1 with the engine's reason in err. */
static int client_new(jd_ctx *ctx, char *err, size_t errlen) {
  int rc = dk_client_new(&ctx->dk, NULL);
  if (!rc)
    return 0;
  snprintf(err, errlen, "%s", dk_error_last() ? dk_error_last()->message : dk_strerror(rc));
  return -1;
}

/* --purge: every image of --id, or with --dry-run what that would do. */
static int purge(const gc_cmd *cmd, const char *state_dir) {
  jd_ctx ctx = {.state_dir = state_dir};
  size_t removed = 0, in_use = 0;
  bool dry = cmd->go.dry_run;
  char err[512];
  int rc = client_new(&ctx, err, sizeof err);
  if (!rc)
    rc = dry ? jd_image_purge_plan(&removed, &in_use, &ctx, cmd->go.domain, cmd->go.id, err,
                                   sizeof err)
             : jd_image_purge(&removed, &in_use, &ctx, cmd->go.domain, cmd->go.id, false, err,
                              sizeof err);
  dk_client_free(ctx.dk);
  if (rc)
    return engine_fault("purge", err);
  if (cmd->json)
    printf("{\"purged\":%zu,\"in_use\":%zu%s}\n", removed, in_use, dry ? ",\"dry_run\":true" : "");
  else
    printf("%s %zu image(s) of %s, %zu kept (in use)\n", dry ? "would purge" : "purged", removed,
           cmd->go.id, in_use);
  return JD_EXIT_OK;
}

/* How long gc waits for the builds of its state dir to end before it
 * leaves failed builds' step images to the next gc (or build). */
#define LEFTOVERS_WAIT_MS 10000

/* Old environment images; the JSON part goes into o. */
static int gc_images(const gc_cmd *cmd, const char *state_dir, json_object *o) {
  jd_ctx ctx = {.state_dir = state_dir};
  jd_image_gc_result *ir = NULL;
  size_t leftovers = 0;
  bool busy = false;
  char err[512];
  int rc = client_new(&ctx, err, sizeof err);
  if (!rc)
    rc = jd_image_gc(&ir, &ctx, &cmd->go, err, sizeof err);
  /* failed builds' step images: only while no build of this state dir runs
   * (one a container holds: the next gc tries again) */
  if (!rc && !cmd->go.dry_run)
    rc =
        jd_build_leftovers_drain(&leftovers, &busy, NULL, &ctx, LEFTOVERS_WAIT_MS, err, sizeof err);
  dk_client_free(ctx.dk);
  if (rc) {
    jd_image_gc_result_free(ir);
    return engine_fault("images", err);
  }
  if (cmd->json) {
    json_object *i = json_object_new_object();
    json_object_object_add(i, "removed", strv_json(ir->removed));
    json_object_object_add(i, "in_use", strv_json(ir->in_use));
    json_object_object_add(i, "kept", json_object_new_int64((int64_t)ir->kept));
    json_object_object_add(i, "failed_builds_removed", json_object_new_int64((int64_t)leftovers));
    json_object_object_add(i, "failed_builds_deferred", json_object_new_boolean(busy));
    json_object_object_add(o, "images", i);
  } else {
    for (char **t = ir->removed; t && *t; t++)
      printf("%s image %s\n", cmd->go.dry_run ? "would remove" : "removed", *t);
    for (char **t = ir->in_use; t && *t; t++)
      printf("kept image %s (in use)\n", *t);
    printf("images: %zu kept\n", ir->kept);
    if (!cmd->go.dry_run)
      printf("failed builds' step images: %zu removed%s\n", leftovers,
             busy ? " (builds running: the rest later)" : "");
  }
  jd_image_gc_result_free(ir);
  return JD_EXIT_OK;
}

/* Artifacts cache entries unused for --max-age days. */
static int gc_artifacts(const gc_cmd *cmd, const char *state_dir, json_object *o) {
  size_t nart = 0;
  int exit_code = JD_EXIT_OK;
  if (jd_artifacts_gc(&nart, state_dir, (int64_t)(cmd->max_age_days * 86400), cmd->go.dry_run) !=
      0) {
    perror("judger gc: artifacts");
    exit_code = JD_EXIT_SYSTEM;
  }
  if (cmd->json)
    json_object_object_add(o, "artifacts_removed", json_object_new_int64((int64_t)nart));
  else
    printf("artifacts: %zu %s\n", nart, cmd->go.dry_run ? "would be removed" : "removed");
  return exit_code;
}

/* Git mirrors unused for --max-age days (never one a task holds). */
static int gc_git(const gc_cmd *cmd, const char *state_dir, json_object *o) {
  size_t removed = 0, locked = 0;
  int exit_code = JD_EXIT_OK;
  if (jd_git_gc(&removed, &locked, state_dir, (int64_t)(cmd->max_age_days * 86400),
                cmd->go.dry_run) != 0) {
    perror("judger gc: git mirrors");
    exit_code = JD_EXIT_SYSTEM;
  }
  if (cmd->json) {
    json_object *g = json_object_new_object();
    json_object_object_add(g, "removed", json_object_new_int64((int64_t)removed));
    json_object_object_add(g, "in_use", json_object_new_int64((int64_t)locked));
    json_object_object_add(o, "git_mirrors", g);
  } else {
    printf("git mirrors: %zu %s, %zu in use\n", removed,
           cmd->go.dry_run ? "would be removed" : "removed", locked);
  }
  return exit_code;
}

/* Every idle network of the host's stock (a leased one's lock is held:
 * kept); a dry run removes none. */
static int gc_networks(const gc_cmd *cmd, const jd_config *settings, json_object *o) {
  jd_ctx ctx = {.state_dir = settings->state_dir, .host_id = settings->host_id};
  size_t removed = 0;
  char err[512];
  int rc = cmd->go.dry_run ? 0 : client_new(&ctx, err, sizeof err);
  if (!rc && !cmd->go.dry_run)
    rc = jd_net_stock_reconcile(&removed, &ctx, 0, err, sizeof err);
  dk_client_free(ctx.dk);
  if (rc)
    return engine_fault("networks", err);
  if (cmd->json)
    json_object_object_add(o, "networks_removed", json_object_new_int64((int64_t)removed));
  else if (cmd->go.dry_run)
    printf("networks: the stock's idle networks are kept in a dry run\n");
  else
    printf("networks: %zu idle stock network(s) removed\n", removed);
  return JD_EXIT_OK;
}

/* The match inputs' cache files unused for a day (--max-age when given),
 * never one a match holds. */
static int gc_inputs(const gc_cmd *cmd, const char *state_dir, json_object *o) {
  size_t removed = 0;
  int64_t bytes = 0;
  char err[512];
  int64_t age = cmd->age_given ? (int64_t)(cmd->max_age_days * 86400 * 1000) : JD_INPUT_GC_AGE_MS;
  if (jd_input_gc(&removed, &bytes, state_dir, age, cmd->go.dry_run, err, sizeof err)) {
    fprintf(stderr, "judger gc: inputs: %s\n", err);
    return JD_EXIT_SYSTEM;
  }
  if (cmd->json) {
    json_object *i = json_object_new_object();
    json_object_object_add(i, "removed", json_object_new_int64((int64_t)removed));
    json_object_object_add(i, "bytes", json_object_new_int64(bytes));
    json_object_object_add(o, "inputs", i);
  } else {
    printf("inputs: %zu %s (%lld bytes)\n", removed,
           cmd->go.dry_run ? "would be removed" : "removed", (long long)bytes);
  }
  return JD_EXIT_OK;
}

/* The parts asked for, printed as asked; the exit code. */
static int gc_parts(gc_cmd *cmd, const jd_config *settings) {
  const char *state_dir = settings->state_dir;
  if (cmd->purge)
    return purge(cmd, state_dir);
  if (!cmd->images && !cmd->artifacts && !cmd->git && !cmd->networks && !cmd->inputs)
    cmd->images = cmd->artifacts = cmd->git = cmd->networks = cmd->inputs = true;
  int exit_code = JD_EXIT_OK;
  json_object *o = json_object_new_object();
  if (cmd->images && gc_images(cmd, state_dir, o) != JD_EXIT_OK)
    exit_code = JD_EXIT_SYSTEM;
  if (cmd->artifacts && gc_artifacts(cmd, state_dir, o) != JD_EXIT_OK)
    exit_code = JD_EXIT_SYSTEM;
  if (cmd->git && gc_git(cmd, state_dir, o) != JD_EXIT_OK)
    exit_code = JD_EXIT_SYSTEM;
  if (cmd->networks && gc_networks(cmd, settings, o) != JD_EXIT_OK)
    exit_code = JD_EXIT_SYSTEM;
  if (cmd->inputs && gc_inputs(cmd, state_dir, o) != JD_EXIT_OK)
    exit_code = JD_EXIT_SYSTEM;
  if (cmd->json)
    printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
  json_object_put(o);
  return exit_code;
}

int jd_cmd_gc(int argc, char **argv) {
  gc_cmd cmd = {.go = {.keep = 2}, .max_age_days = 7, .cli = JD_CLI_INIT("gc", JD_CMD_GC, usage)};
  int exit_code =
      jd_cli_begin(&cmd.cli, argc, argv) ? JD_EXIT_SYSTEM : parse_args(&cmd, argc, argv);
  /* --state-dir over the settings, as the daemon takes it. */
  jd_config settings = {0};
  char err[512];
  if (exit_code < 0 && jd_cli_load(&settings, &cmd.cli, err, sizeof err)) {
    fprintf(stderr, "judger gc: settings: %s\n", err);
    exit_code = JD_EXIT_USAGE;
  }
  if (exit_code < 0)
    exit_code = gc_parts(&cmd, &settings);
  jd_config_clear(&settings);
  jd_cli_free(&cmd.cli);
  return exit_code;
}
