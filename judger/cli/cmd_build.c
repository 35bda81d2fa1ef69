/* judger build — builds a program's environment images and artifacts
 * (jd_build_run), or with --base-image the offline Debian base image.
 *
 * Exit codes (docs/build.md): 0 ok (built or cached), 1 the program's fault
 * (bad Dockerfile, compile error, TLE/MLE, missing ref or run.Dockerfile),
 * 2 usage, 3 system fault (engine down...). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "build/base_image.h"
#include "build/build.h"
#include "build/build_policy.h"
#include "build/build_request.h"
#include "build/dockerfile.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "common/clock.h"
#include "common/context.h"
#include "common/labels.h"
#include "common/run_owner.h"
#include "common/utf8.h"

static void usage(FILE *f) {
  fprintf(f, "usage: judger build --domain ai|game_logic --id ID SOURCE [options]\n"
             "       judger build --base-image [TAG]\n"
             "\n"
             "SOURCE is one of:\n"
             "  --source DIR            a local directory holding run.Dockerfile\n"
             "  --git URL [--ref REF]   a git repository (path or URL) at a branch, tag or\n"
             "                          commit (default HEAD); paths are read in place\n"
             "  --tar URL               an http(s) tarball\n"
             "options:\n"
             "  --op build|run|all      what to make (default all): run = the run image;\n"
             "                          build = the build image and the artifacts\n"
             "  --state-dir DIR         caches, work directories ($JUDGER_STATE_DIR, setting\n"
             "                          state_dir; default " JD_STATE_DIR_DEFAULT ")\n"
             "  --host-id ID            this host's label on what the judger makes\n"
             "                          ($JUDGER_HOST_ID, setting host_id; default: the host\n"
             "                          name)\n"
             "  --cpus N                cpus for builds (default 1)\n"
             "  --memory SIZE           memory for builds, swap equal (default 1g)\n"
             "  --pids N                process limit of the program build (default 256)\n"
             "  --timeout SECONDS       wall time of each build (default 300)\n"
             "  --log-max SIZE          build log kept (default 256k)\n"
             "  --network               give the program build a network: its own, behind\n"
             "                          its own build proxy (default none)\n"
             "  --image-network MODE    network of RUN steps in image builds: 'proxy' (the\n"
             "                          default: the build's own network and allow-listing\n"
             "                          proxy) or 'none'; others as the host's\n"
             "                          build_networks setting allows\n"
             "  --base-images LIST      images FROM and COPY --from may name besides\n"
             "                          " JD_BASE_IMAGE " ($JUDGER_BASE_IMAGES, setting\n"
             "                          base_images; default " JD_BASE_IMAGES_DEFAULT ")\n"
             "  --json                  print one JSON object on stdout\n"
             "  -q, --quiet             no progress on stderr\n"
             "  --base-image [TAG]      make the Debian base image (default " JD_BASE_IMAGE ")\n"
             "                          with debootstrap, unless it exists\n");
  jd_cli_usage_settings(f, JD_CMD_BUILD);
  fprintf(f, "exit: 0 ok or cached, 1 the program's fault, 2 usage, 3 system fault\n");
}

static void progress_line(void *ud, const char *line) {
  (void)ud;
  jd_term_printf(stderr, "%s\n", line);
}

static void print_human(const jd_build_result *r) {
  const char *v = jd_build_result_verdict(r);
  if (!v)
    v = jd_build_status_name(r->status);
  jd_term_printf(stdout, "%s-%s: %s", r->domain ? r->domain : "?", r->id ? r->id : "?", v);
  if (r->message)
    jd_term_printf(stdout, " (%s: %s)", r->stage, r->message);
  jd_term_printf(stdout, " in %lld ms\n", (long long)r->duration_ms);
  if (r->commit)
    jd_term_printf(stdout, "  commit       %s\n", r->commit);
  if (r->source_identity)
    jd_term_printf(stdout, "  source       %s\n", r->source_identity);
  if (r->run.tag)
    jd_term_printf(stdout, "  run image    %s (%s)\n", r->run.tag,
                   r->run.cached     ? "cached"
                   : r->run.image_id ? "built"
                                     : "failed");
  if (r->build.tag)
    jd_term_printf(stdout, "  build image  %s (%s)\n", r->build.tag,
                   r->build.cached     ? "cached"
                   : r->build.image_id ? "built"
                                       : "failed");
  if (r->artifacts_key)
    jd_term_printf(stdout, "  artifacts    %s (%s)\n",
                   r->artifacts_dir ? r->artifacts_dir : r->artifacts_key,
                   r->artifacts_cached ? "cached" : "built");
}

/* What the command line asks for. */
typedef struct build_cmd {
  jd_build_fields fields; /* the build request, checked by jd_build_request_check() */
  jd_cli cli;             /* --config, --host-id, --state-dir, --base-images... */
  const char *base_tag;   /* --base-image TAG; NULL = JD_BASE_IMAGE */
  bool json, quiet, base;
} build_cmd;

/* Flags that set a field of the request carry OPT_FIELD + the field. */
enum { OPT_JSON = 256, OPT_BASE, OPT_FIELD };

static const struct option options[] = {
    {"domain", required_argument, NULL, OPT_FIELD + JD_BUILD_FIELD_DOMAIN},
    {"id", required_argument, NULL, OPT_FIELD + JD_BUILD_FIELD_ID},
    {"source", required_argument, NULL, OPT_FIELD + JD_BUILD_FIELD_DIR},
    {"git", required_argument, NULL, OPT_FIELD + JD_BUILD_FIELD_GIT},
    {"ref", required_argument, NULL, OPT_FIELD + JD_BUILD_FIELD_REF},
    {"tar", required_argument, NULL, OPT_FIELD + JD_BUILD_FIELD_TAR},
    {"op", required_argument, NULL, OPT_FIELD + JD_BUILD_FIELD_OPS},
    {"cpus", required_argument, NULL, OPT_FIELD + JD_BUILD_FIELD_CPUS},
    {"memory", required_argument, NULL, OPT_FIELD + JD_BUILD_FIELD_MEMORY},
    {"pids", required_argument, NULL, OPT_FIELD + JD_BUILD_FIELD_PIDS},
    {"timeout", required_argument, NULL, OPT_FIELD + JD_BUILD_FIELD_WALL},
    {"log-max", required_argument, NULL, OPT_FIELD + JD_BUILD_FIELD_LOG_MAX},
    {"network", no_argument, NULL, OPT_FIELD + JD_BUILD_FIELD_NETWORK},
    {"image-network", required_argument, NULL, OPT_FIELD + JD_BUILD_FIELD_IMAGE_NETWORK},
    {"json", no_argument, NULL, OPT_JSON},
    {"base-image", optional_argument, NULL, OPT_BASE},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

/* Fills cmd from argv. Returns -1 to go on, else the exit code to return
 * now (--help, or a usage error already reported). */
static int parse_args(build_cmd *cmd, int argc, char **argv) {
  char err[512];
  int c;
  jd_build_fields_init(&cmd->fields, JD_BUILD_SYNTAX_FLAGS);
  const struct option *longs = jd_cli_options(&cmd->cli, options);
  if (!longs) {
    fprintf(stderr, "judger build: out of memory\n");
    return JD_EXIT_SYSTEM;
  }
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "qh", longs, NULL)) != -1) {
    if (c >= OPT_FIELD && c < OPT_FIELD + JD_BUILD_FIELD_COUNT) {
      if (jd_build_fields_set(&cmd->fields, (jd_build_field)(c - OPT_FIELD), optarg, err,
                              sizeof err)) {
        fprintf(stderr, "judger build: %s\n", err);
        return JD_EXIT_USAGE;
      }
      continue;
    }
    if (jd_cli_take_setting(&cmd->cli, c, optarg))
      continue;
    switch (c) {
    case OPT_JSON:
      cmd->json = true;
      break;
    case OPT_BASE:
      cmd->base = true;
      cmd->base_tag = optarg;
      break;
    case 'q':
      cmd->quiet = true;
      break;
    case 'h':
      usage(stdout);
      return JD_EXIT_OK;
    default:
      return jd_cli_bad_option("build", argv[optind - 1], usage);
    }
  }
  if (optind < argc)
    return jd_cli_bad_argument("build", argv[optind], usage);
  if (!cmd->base && jd_build_request_check(&cmd->fields, err, sizeof err)) {
    fprintf(stderr, "judger build: %s\n", err);
    return JD_EXIT_USAGE;
  }
  return -1;
}

/* --base-image: the Debian base image, and what happened. */
static int make_base_image(const build_cmd *cmd, jd_ctx *ctx) {
  bool built = false;
  char err[1024] = "";
  int64_t t0 = jd_mono_ms();
  int rc = jd_base_image_ensure(&built, ctx, cmd->base_tag, NULL, cmd->quiet ? NULL : progress_line,
                                NULL, err, sizeof err);
  int64_t ms = jd_mono_ms() - t0;
  const char *tag = cmd->base_tag ? cmd->base_tag : JD_BASE_IMAGE;
  if (cmd->json) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, "base_image", json_object_new_string(tag));
    json_object_object_add(o, "status",
                           json_object_new_string(jd_build_status_name(rc ? JD_BUILD_STATUS_ERROR
                                                                          : JD_BUILD_STATUS_OK)));
    json_object_object_add(o, "built", json_object_new_boolean(built));
    json_object_object_add(o, "duration_ms", json_object_new_int64(ms));
    if (rc)
      json_object_object_add(o, "message", json_object_new_string(err));
    printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
  } else if (!rc) {
    printf("%s: %s in %lld ms\n", tag, built ? "built" : "cached", (long long)ms);
  }
  if (rc)
    jd_term_printf(stderr, "judger build: %s\n", err);
  return rc ? JD_EXIT_SYSTEM : JD_EXIT_OK;
}

/* The program's build (jd_build_run), printed as asked. */
static int build_program(build_cmd *cmd, jd_ctx *ctx) {
  jd_build_request *req = &cmd->fields.req;
  if (!cmd->quiet && !cmd->json)
    req->progress = progress_line;
  /* The run, held before anything is made: what the build creates carries
   * its judger.owner label, and no judger's sweep on this state dir takes
   * it while we live (common/run_owner.h). */
  jd_run_owner run = JD_RUN_OWNER_NONE;
  if (jd_run_owner_take(&run, ctx->state_dir, NULL)) {
    fprintf(stderr, "judger build: cannot hold a run file in the state directory: %s\n",
            strerror(errno));
    return JD_EXIT_SYSTEM;
  }
  dk_kv owner[] = {{JD_LABEL_OWNER, run.id}};
  if (!req->nlabels) {
    req->labels = owner;
    req->nlabels = 1;
  }
  jd_build_result *r = NULL;
  int brc = jd_build_run(&r, ctx, req);
  jd_run_owner_release(&run);
  if (brc != 0) {
    fprintf(stderr, "judger build: out of memory\n");
    return JD_EXIT_SYSTEM;
  }
  int exit_code = r->exit_code;
  if (cmd->json) {
    char *s = jd_build_result_json(r);
    if (s)
      printf("%s\n", s);
    free(s);
  } else {
    print_human(r);
    if (r->exit_code && r->log && cmd->quiet)
      jd_term_printf(stderr, "%s", r->log); /* the failing step's output was not streamed */
  }
  /* A system fault (exit 3) is also said on stderr, in one line, whatever
   * stdout holds: an engine that lacks a guarantee (common/engine.h) is
   * refused this way, its message naming the guarantee and engine_accept. */
  if (r->status == JD_BUILD_STATUS_ERROR && r->message) {
    int n = (int)strcspn(r->message, "\n"); /* an engine's message may end in one */
    jd_term_printf(stderr, "judger build: %s: %.*s\n", r->stage ? r->stage : "build", n,
                   r->message);
  }
  jd_build_result_free(r);
  return exit_code;
}

/* The settings (flags over the environment over the file, as the daemon
 * takes them) into *settings and the context, and what the request asks
 * of this host, before any work. -1 to go on, else the exit code (the
 * reason said on stderr). */
static int load_settings(jd_config *settings, jd_ctx *ctx, const build_cmd *cmd) {
  char err[768];
  if (jd_cli_load(settings, &cmd->cli, err, sizeof err)) {
    jd_term_printf(stderr, "judger build: settings: %s\n", err);
    return JD_EXIT_USAGE;
  }
  jd_settings_ctx(ctx, settings, false);
  if (!cmd->base && jd_build_request_check_policy(&cmd->fields.req, JD_BUILD_SYNTAX_FLAGS,
                                                  &ctx->policy, ctx->state_dir, err, sizeof err)) {
    jd_term_printf(stderr, "judger build: %s\n", err);
    return JD_EXIT_USAGE;
  }
  return -1;
}

int jd_cmd_build(int argc, char **argv) {
  build_cmd cmd = {.cli = JD_CLI_INIT("build", JD_CMD_BUILD, usage)};
  jd_config settings = {0};
  jd_ctx ctx = {0};
  int exit_code =
      jd_cli_begin(&cmd.cli, argc, argv) ? JD_EXIT_SYSTEM : parse_args(&cmd, argc, argv);
  if (exit_code < 0)
    exit_code = load_settings(&settings, &ctx, &cmd);
  if (exit_code < 0 && dk_client_new(&ctx.dk, NULL) != 0) {
    fprintf(stderr, "judger build: %s\n",
            dk_error_last() ? dk_error_last()->message : "cannot make an engine client");
    exit_code = JD_EXIT_USAGE; /* bad DOCKER_* variables */
  }
  if (exit_code < 0)
    exit_code = cmd.base ? make_base_image(&cmd, &ctx) : build_program(&cmd, &ctx);
  dk_client_free(ctx.dk);
  jd_config_clear(&settings);
  jd_cli_free(&cmd.cli);
  fflush(stdout);
  return exit_code;
}
