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
#include <unistd.h>

#include <json-c/json.h>

#include "build/base_image.h"
#include "build/build.h"
#include "cli/commands.h"
#include "common/clock.h"
#include "common/context.h"
#include "common/size.h"
#include "common/util.h"

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
             "  --state-dir DIR         caches (default $JUDGER_STATE_DIR or " JD_STATE_DIR_DEFAULT
             ")\n"
             "  --cpus N                cpus for builds (default 1)\n"
             "  --memory SIZE           memory for builds, swap equal (default 1g)\n"
             "  --pids N                process limit of the program build (default 256)\n"
             "  --timeout SECONDS       wall time of each build (default 300)\n"
             "  --log-max SIZE          build log kept (default 256k)\n"
             "  --network               give the program build a network (default none)\n"
             "  --image-network MODE    network of RUN steps in image builds (default: the\n"
             "                          engine's bridge; 'none' = offline)\n"
             "  --json                  print one JSON object on stdout\n"
             "  -q, --quiet             no progress on stderr\n"
             "  --base-image [TAG]      make the Debian base image (default " JD_BASE_IMAGE ")\n"
             "                          with debootstrap, unless it exists\n"
             "exit: 0 ok or cached, 1 the program's fault, 2 usage, 3 system fault\n");
}

static void progress_line(void *ud, const char *line) {
  (void)ud;
  fprintf(stderr, "%s\n", line);
}

static void print_human(const jd_build_result *r) {
  const char *v = r->verdict ? r->verdict : r->status;
  printf("%s-%s: %s", r->domain ? r->domain : "?", r->id ? r->id : "?", v);
  if (r->message)
    printf(" (%s: %s)", r->stage, r->message);
  printf(" in %lld ms\n", (long long)r->duration_ms);
  if (r->commit)
    printf("  commit       %s\n", r->commit);
  if (r->source_identity)
    printf("  source       %s\n", r->source_identity);
  if (r->run.tag)
    printf("  run image    %s (%s)\n", r->run.tag,
           r->run.cached     ? "cached"
           : r->run.image_id ? "built"
                             : "failed");
  if (r->build.tag)
    printf("  build image  %s (%s)\n", r->build.tag,
           r->build.cached     ? "cached"
           : r->build.image_id ? "built"
                               : "failed");
  if (r->artifacts_key)
    printf("  artifacts    %s (%s)\n", r->artifacts_dir ? r->artifacts_dir : r->artifacts_key,
           r->artifacts_cached ? "cached" : "built");
}

enum {
  OPT_DOMAIN = 256,
  OPT_ID,
  OPT_SOURCE,
  OPT_GIT,
  OPT_REF,
  OPT_TAR,
  OPT_OP,
  OPT_STATE,
  OPT_JSON,
  OPT_CPUS,
  OPT_MEMORY,
  OPT_PIDS,
  OPT_TIMEOUT,
  OPT_LOGMAX,
  OPT_NETWORK,
  OPT_BASE,
  OPT_IMGNET
};

int jd_cmd_build(int argc, char **argv) {
  static const struct option opts[] = {{"domain", required_argument, NULL, OPT_DOMAIN},
                                       {"id", required_argument, NULL, OPT_ID},
                                       {"source", required_argument, NULL, OPT_SOURCE},
                                       {"git", required_argument, NULL, OPT_GIT},
                                       {"ref", required_argument, NULL, OPT_REF},
                                       {"tar", required_argument, NULL, OPT_TAR},
                                       {"op", required_argument, NULL, OPT_OP},
                                       {"state-dir", required_argument, NULL, OPT_STATE},
                                       {"json", no_argument, NULL, OPT_JSON},
                                       {"cpus", required_argument, NULL, OPT_CPUS},
                                       {"memory", required_argument, NULL, OPT_MEMORY},
                                       {"pids", required_argument, NULL, OPT_PIDS},
                                       {"timeout", required_argument, NULL, OPT_TIMEOUT},
                                       {"log-max", required_argument, NULL, OPT_LOGMAX},
                                       {"network", no_argument, NULL, OPT_NETWORK},
                                       {"image-network", required_argument, NULL, OPT_IMGNET},
                                       {"base-image", optional_argument, NULL, OPT_BASE},
                                       {"quiet", no_argument, NULL, 'q'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  jd_build_request req = {0};
  const char *domain = NULL, *state_dir = NULL;
  const char *base_tag = NULL;
  bool json = false, quiet = false, base = false, domain_ok = true;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
    char *end = NULL;
    switch (c) {
    case OPT_DOMAIN:
      domain = optarg;
      domain_ok = jd_domain_parse(&req.ref.domain, optarg) == 0;
      break;
    case OPT_ID:
      req.ref.id = optarg;
      break;
    case OPT_SOURCE:
      req.ref.dir = optarg;
      break;
    case OPT_GIT:
      req.ref.git_url = optarg;
      break;
    case OPT_REF:
      req.ref.git_ref = optarg;
      break;
    case OPT_TAR:
      req.ref.tar_url = optarg;
      break;
    case OPT_OP:
      if (!strcmp(optarg, "build"))
        req.ops = JD_BUILD_OP_BUILD;
      else if (!strcmp(optarg, "run"))
        req.ops = JD_BUILD_OP_RUN;
      else if (!strcmp(optarg, "all"))
        req.ops = JD_BUILD_OP_ALL;
      else {
        fprintf(stderr, "judger build: --op must be build, run or all, not '%s'\n", optarg);
        return JD_EXIT_USAGE;
      }
      break;
    case OPT_STATE:
      state_dir = optarg;
      break;
    case OPT_JSON:
      json = true;
      break;
    case OPT_CPUS:
      req.limits.cpus = strtod(optarg, &end);
      if (*end || req.limits.cpus <= 0) {
        fprintf(stderr, "judger build: bad --cpus '%s'\n", optarg);
        return JD_EXIT_USAGE;
      }
      break;
    case OPT_MEMORY:
    case OPT_LOGMAX: {
      int64_t v = 0;
      if (jd_parse_size(&v, optarg) || v <= 0) {
        fprintf(stderr, "judger build: bad size '%s' (e.g. 512m, 1g)\n", optarg);
        return JD_EXIT_USAGE;
      }
      if (c == OPT_MEMORY)
        req.limits.memory = v;
      else
        req.limits.log_max = (size_t)v;
      break;
    }
    case OPT_PIDS:
      req.limits.pids = strtoll(optarg, &end, 10);
      if (*end || req.limits.pids <= 0) {
        fprintf(stderr, "judger build: bad --pids '%s'\n", optarg);
        return JD_EXIT_USAGE;
      }
      break;
    case OPT_TIMEOUT: {
      double s = strtod(optarg, &end);
      if (*end || s <= 0) {
        fprintf(stderr, "judger build: bad --timeout '%s' (seconds)\n", optarg);
        return JD_EXIT_USAGE;
      }
      req.limits.wall_ms = (int64_t)(s * 1000);
      break;
    }
    case OPT_NETWORK:
      req.limits.network = true;
      break;
    case OPT_IMGNET:
      req.limits.image_network = optarg;
      break;
    case OPT_BASE:
      base = true;
      base_tag = optarg;
      break;
    case 'q':
      quiet = true;
      break;
    case 'h':
      usage(stdout);
      return JD_EXIT_OK;
    default:
      fprintf(stderr, "judger build: unknown or incomplete option '%s'\n", argv[optind - 1]);
      usage(stderr);
      return JD_EXIT_USAGE;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "judger build: unexpected argument '%s'\n", argv[optind]);
    return JD_EXIT_USAGE;
  }
  if (!base) {
    if (!domain || !domain_ok) {
      fprintf(stderr, "judger build: --domain must be 'ai' or 'game_logic'%s%s%s\n",
              domain ? " (got '" : "", domain ? domain : "", domain ? "')" : "");
      return JD_EXIT_USAGE;
    }
    char err[512];
    if (jd_program_id_check(req.ref.id, err, sizeof err) != 0) {
      fprintf(stderr, "judger build: %s\n", err);
      return JD_EXIT_USAGE;
    }
    if (!!req.ref.dir + !!req.ref.git_url + !!req.ref.tar_url != 1) {
      fprintf(stderr, "judger build: give exactly one of --source DIR, --git URL, --tar URL\n");
      return JD_EXIT_USAGE;
    }
    if (req.ref.git_ref && !req.ref.git_url) {
      fprintf(stderr, "judger build: --ref needs --git\n");
      return JD_EXIT_USAGE;
    }
  }
  if (!state_dir || !*state_dir)
    state_dir = jd_state_dir_default();
  char host[JD_HOST_ID_MAX + 1];
  jd_host_id(host);
  jd_ctx ctx = {.state_dir = state_dir, .host_id = host};
  if (dk_client_new(&ctx.dk, NULL) != 0) {
    fprintf(stderr, "judger build: %s\n",
            dk_error_last() ? dk_error_last()->message : "cannot make an engine client");
    return JD_EXIT_USAGE; /* bad DOCKER_* variables */
  }
  int exit_code;
  if (base) {
    bool built = false;
    char err[1024] = "";
    int64_t t0 = jd_mono_ms();
    int rc = jd_base_image_ensure(&built, &ctx, base_tag, NULL, quiet ? NULL : progress_line, NULL,
                                  err, sizeof err);
    int64_t ms = jd_mono_ms() - t0;
    const char *tag = base_tag ? base_tag : JD_BASE_IMAGE;
    if (json) {
      json_object *o = json_object_new_object();
      json_object_object_add(o, "base_image", json_object_new_string(tag));
      json_object_object_add(o, "status", json_object_new_string(rc ? "error" : "ok"));
      json_object_object_add(o, "built", json_object_new_boolean(built));
      json_object_object_add(o, "duration_ms", json_object_new_int64(ms));
      if (rc)
        json_object_object_add(o, "message", json_object_new_string(err));
      printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
      json_object_put(o);
    } else if (!rc)
      printf("%s: %s in %lld ms\n", tag, built ? "built" : "cached", (long long)ms);
    if (rc)
      fprintf(stderr, "judger build: %s\n", err);
    exit_code = rc ? JD_EXIT_SYSTEM : JD_EXIT_OK;
  } else {
    if (!quiet && !json) {
      req.progress = progress_line;
    }
    jd_build_result *r = NULL;
    if (jd_build_run(&r, &ctx, &req) != 0) {
      fprintf(stderr, "judger build: out of memory\n");
      exit_code = JD_EXIT_SYSTEM;
    } else {
      exit_code = r->exit_code;
      if (json) {
        char *s = jd_build_result_json(r);
        if (s)
          printf("%s\n", s);
        free(s);
      } else {
        print_human(r);
        if (r->exit_code && r->log && quiet)
          fprintf(stderr, "%s", r->log); /* the failing step's output was not streamed */
      }
    }
    jd_build_result_free(r);
  }
  dk_client_free(ctx.dk);
  fflush(stdout);
  return exit_code;
}
