// test-labels: engine
/* Preparing a match's programs: independent builds run at once (bounded by
 * ctx.build_jobs), each build's progress lines name their program, and an
 * AI listed twice is built once. */
#include <pthread.h>

#include "build/image_cache.h"
#include "match_support.h"
#include "common/tmpfile.h"

static tm_env env;
static void setup(void) { tm_setup(&env); }
static void teardown(void) { tm_teardown(&env); }
TestSuite(match_prepare, .init = setup, .fini = teardown, .timeout = 180);

typedef struct seen {
  dk_buf lines; /* "<elapsed_ms> <program> <line>\n" per build line */
} seen;

static void on_progress(void *ud, const char *json) {
  seen *s = ud;
  json_object *o = json_tokener_parse(json), *ev, *prog, *line, *t;
  if (o && json_object_object_get_ex(o, "event", &ev) &&
      !strcmp(json_object_get_string(ev), "program.build")) {
    cr_assert(json_object_object_get_ex(o, "program", &prog), "no program in %s", json);
    json_object_object_get_ex(o, "line", &line);
    json_object_object_get_ex(o, "elapsed_ms", &t);
    dk_buf_appendf(&s->lines, "%lld %s %s\n", (long long)json_object_get_int64(t),
                   json_object_get_string(prog), json_object_get_string(line));
  }
  json_object_put(o);
}

/* The elapsed ms of the first build line of program holding text; -1. */
static long long when(const char *lines, const char *program, const char *text) {
  char key[256];
  snprintf(key, sizeof key, " %s ", program);
  for (const char *l = lines; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
    const char *eol = strchr(l, '\n');
    const char *k = strstr(l, key), *x = strstr(l, text);
    if (k && x && (!eol || (k < eol && x < eol)))
      return atoll(l);
  }
  return -1;
}

static char *slow_program(const char *id) {
  char *dir = t_tmpdir("prep");
  char path[512], df[512];
  snprintf(path, sizeof path, "%s/run.Dockerfile", dir);
  snprintf(df, sizeof df,
           "FROM " T_BUSYBOX_IMAGE "\nRUN echo begin-%s && sleep 2 && echo finish-%s\n"
           "CMD [\"true\"]\n",
           id, id);
  cr_assert_eq(jd_write_file(path, df, strlen(df)), 0);
  return dir;
}

Test(match_prepare, independent_builds_run_at_once_and_an_ai_twice_is_built_once) {
  char *ida = t_unique("pa"), *idb = t_unique("pb");
  char *da = slow_program(ida), *db = slow_program(idb);
  char players[2048];
  snprintf(players, sizeof players,
           "{\"id\":\"%s\",\"dir\":\"%s\"},{\"id\":\"%s\",\"dir\":\"%s\"},"
           "{\"id\":\"%s\",\"dir\":\"%s\"}",
           ida, da, idb, db, ida, da);
  char *spec = tm_spec("prep", players, "{\"seed\":1,\"plan\":\"0 1 2\"}", NULL);
  seen s = {.lines = DK_BUF_INIT(1 << 20)};
  jd_match_hooks hooks = {.progress = on_progress, .ud = &s};
  env.ctx.build_jobs = 3;
  jd_match_result *r = tm_run(&env, spec, &hooks);
  cr_assert_str_eq(jd_match_status_name(r->status), "finished", "%s", r->reason ? r->reason : "");
  for (size_t i = 0; i < 3; i++)
    cr_assert_str_eq(jd_verdict_name(r->players[i].verdict), "OK");
  char pa[128], pb[128];
  snprintf(pa, sizeof pa, "ai-%s", ida);
  snprintf(pb, sizeof pb, "ai-%s", idb);
  const char *l = s.lines.data;
  long long a0 = when(l, pa, "| begin-"), a1 = when(l, pa, "| finish-");
  long long b0 = when(l, pb, "| begin-"), b1 = when(l, pb, "| finish-");
  cr_assert(a0 >= 0 && a1 >= 0 && b0 >= 0 && b1 >= 0, "%s", l);
  /* Each began before the other finished: they ran at once. */
  cr_assert(a0 < b1 && b0 < a1, "a %lld..%lld, b %lld..%lld:\n%s", a0, a1, b0, b1, l);
  /* AI 2 is AI 0 again: one build, one "begin" line of it. */
  const char *first = strstr(l, "| begin-");
  size_t begins = 0;
  for (const char *p = first; p; p = strstr(p + 1, "| begin-"))
    begins++;
  cr_assert_eq(begins, 2, "%s", l);
  dk_buf_free(&s.lines);
  jd_match_result_free(r);
  free(spec);
  jd_ctx ctx = env.ctx;
  jd_image_purge(NULL, NULL, &ctx, NULL, ida, true, NULL, 0);
  jd_image_purge(NULL, NULL, &ctx, NULL, idb, true, NULL, 0);
  t_rmdir(da);
  t_rmdir(db);
  free(ida);
  free(idb);
  tm_assert_clean(&env);
}
