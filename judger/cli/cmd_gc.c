/* judger gc — removes old environment images (per program and op: keeps the
 * current ":latest" one and the N most recent; never an image a container
 * uses) and artifacts cache entries unused for a while. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "build/artifacts.h"
#include "build/image_cache.h"
#include "cli/commands.h"
#include "common/context.h"

static void usage(FILE *f) {
  fprintf(f, "usage: judger gc [--images] [--artifacts] [options]\n"
             "  --images             old environment images (default: both parts)\n"
             "  --artifacts          artifacts cache entries\n"
             "  --domain D, --id ID  only this program's images\n"
             "  --keep N             keep N recent images besides the current one (default 2)\n"
             "  --max-age DAYS       artifacts unused this long go (default 7)\n"
             "  --state-dir DIR      default $JUDGER_STATE_DIR or " JD_STATE_DIR_DEFAULT "\n"
             "  --dry-run            list, remove nothing\n"
             "  --purge              remove ALL images of --id (a deleted program); never\n"
             "                       one a container uses\n"
             "  --json               one JSON object on stdout\n"
             "exit: 0 ok, 2 usage, 3 system fault\n");
}

static json_object *strv_json(char **v) {
  json_object *a = json_object_new_array();
  for (; v && *v; v++)
    json_object_array_add(a, json_object_new_string(*v));
  return a;
}

enum {
  OPT_IMAGES = 256,
  OPT_ARTIFACTS,
  OPT_DOMAIN,
  OPT_ID,
  OPT_KEEP,
  OPT_AGE,
  OPT_STATE,
  OPT_DRY,
  OPT_JSON,
  OPT_PURGE
};

int jd_cmd_gc(int argc, char **argv) {
  static const struct option opts[] = {{"images", no_argument, NULL, OPT_IMAGES},
                                       {"artifacts", no_argument, NULL, OPT_ARTIFACTS},
                                       {"domain", required_argument, NULL, OPT_DOMAIN},
                                       {"id", required_argument, NULL, OPT_ID},
                                       {"keep", required_argument, NULL, OPT_KEEP},
                                       {"max-age", required_argument, NULL, OPT_AGE},
                                       {"state-dir", required_argument, NULL, OPT_STATE},
                                       {"dry-run", no_argument, NULL, OPT_DRY},
                                       {"json", no_argument, NULL, OPT_JSON},
                                       {"purge", no_argument, NULL, OPT_PURGE},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  bool images = false, artifacts = false, json = false, purge = false;
  jd_image_gc_opts go = {.keep = 2};
  double max_age_days = 7;
  const char *state_dir = NULL;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    char *end = NULL;
    switch (c) {
    case OPT_IMAGES:
      images = true;
      break;
    case OPT_ARTIFACTS:
      artifacts = true;
      break;
    case OPT_DOMAIN: {
      jd_domain d;
      if (jd_domain_parse(&d, optarg) != 0) {
        fprintf(stderr, "judger gc: --domain must be 'ai' or 'game_logic'\n");
        return JD_EXIT_USAGE;
      }
      go.domain = optarg;
      break;
    }
    case OPT_ID: {
      char err[256];
      if (jd_program_id_check(optarg, err, sizeof err) != 0) {
        fprintf(stderr, "judger gc: %s\n", err);
        return JD_EXIT_USAGE;
      }
      go.id = optarg;
      break;
    }
    case OPT_KEEP:
      go.keep = (int)strtol(optarg, &end, 10);
      if (*end || go.keep < 0) {
        fprintf(stderr, "judger gc: bad --keep '%s'\n", optarg);
        return JD_EXIT_USAGE;
      }
      break;
    case OPT_AGE:
      max_age_days = strtod(optarg, &end);
      if (*end || max_age_days < 0) {
        fprintf(stderr, "judger gc: bad --max-age '%s' (days)\n", optarg);
        return JD_EXIT_USAGE;
      }
      break;
    case OPT_STATE:
      state_dir = optarg;
      break;
    case OPT_DRY:
      go.dry_run = true;
      break;
    case OPT_JSON:
      json = true;
      break;
    case OPT_PURGE:
      purge = true;
      break;
    case 'h':
      usage(stdout);
      return JD_EXIT_OK;
    default:
      fprintf(stderr, "judger gc: unknown or incomplete option '%s'\n", argv[optind - 1]);
      usage(stderr);
      return JD_EXIT_USAGE;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "judger gc: unexpected argument '%s'\n", argv[optind]);
    return JD_EXIT_USAGE;
  }
  if (purge) {
    if (!go.id) {
      fprintf(stderr, "judger gc: --purge needs --id\n");
      return JD_EXIT_USAGE;
    }
    jd_ctx ctx = {.state_dir = state_dir};
    size_t removed = 0, in_use = 0;
    int rc = dk_client_new(&ctx.dk, NULL);
    if (!rc && !go.dry_run)
      rc = jd_image_purge(&removed, &in_use, &ctx, go.domain, go.id, false);
    dk_client_free(ctx.dk);
    if (rc) {
      fprintf(stderr, "judger gc: purge: %s\n",
              dk_error_last() ? dk_error_last()->message : dk_strerror(rc));
      return JD_EXIT_SYSTEM;
    }
    if (json)
      printf("{\"purged\":%zu,\"in_use\":%zu}\n", removed, in_use);
    else
      printf("purged %zu image(s) of %s, %zu kept (in use)\n", removed, go.id, in_use);
    return JD_EXIT_OK;
  }
  if (!images && !artifacts)
    images = artifacts = true;
  if (!state_dir || !*state_dir)
    state_dir = jd_state_dir_default();
  int exit_code = JD_EXIT_OK;
  jd_image_gc_result *ir = NULL;
  size_t nart = 0;
  json_object *o = json_object_new_object();
  if (images) {
    jd_ctx ctx = {.state_dir = state_dir};
    int rc = dk_client_new(&ctx.dk, NULL);
    if (!rc)
      rc = jd_image_gc(&ir, &ctx, &go);
    if (rc) {
      fprintf(stderr, "judger gc: images: %s\n",
              dk_error_last() ? dk_error_last()->message : dk_strerror(rc));
      exit_code = JD_EXIT_SYSTEM;
    } else if (json) {
      json_object *i = json_object_new_object();
      json_object_object_add(i, "removed", strv_json(ir->removed));
      json_object_object_add(i, "in_use", strv_json(ir->in_use));
      json_object_object_add(i, "kept", json_object_new_int64((int64_t)ir->kept));
      json_object_object_add(o, "images", i);
    } else {
      for (char **t = ir->removed; t && *t; t++)
        printf("%s image %s\n", go.dry_run ? "would remove" : "removed", *t);
      for (char **t = ir->in_use; t && *t; t++)
        printf("kept image %s (in use)\n", *t);
      printf("images: %zu kept\n", ir->kept);
    }
    dk_client_free(ctx.dk);
  }
  if (artifacts) {
    if (jd_artifacts_gc(&nart, state_dir, (int64_t)(max_age_days * 86400), go.dry_run) != 0) {
      perror("judger gc: artifacts");
      exit_code = JD_EXIT_SYSTEM;
    }
    if (json)
      json_object_object_add(o, "artifacts_removed", json_object_new_int64((int64_t)nart));
    else
      printf("artifacts: %zu %s\n", nart, go.dry_run ? "would be removed" : "removed");
  }
  if (json)
    printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
  json_object_put(o);
  jd_image_gc_result_free(ir);
  return exit_code;
}
