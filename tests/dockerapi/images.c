// test-labels: engine
/* Images against the real engine: build (tags, labels, build args, progress,
 * failure, log cap, nocache, memory limit, deadline), inspect, tag, remove,
 * list and prune by a label unique to the test. */
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support.h"

/* A build context holding a Dockerfile and, optionally, one more file. */
typedef struct ctx_tar {
  dk_tar *t;
  const void *data;
  size_t len;
} ctx_tar;

static void ctx_make(ctx_tar *x, const char *dockerfile, const char *file, const char *content) {
  t_ok(dk_tar_new(&x->t, 0));
  t_ok(dk_tar_add_file(x->t, "Dockerfile", dockerfile, strlen(dockerfile), 0644));
  if (file)
    t_ok(dk_tar_add_file(x->t, file, content, strlen(content), 0644));
  t_ok(dk_tar_finish(x->t, &x->data, &x->len));
}

static void ctx_free(ctx_tar *x) { dk_tar_free(x->t); }

/* Every image a test builds carries judger.test=1 and the test's own label,
 * so prune can remove exactly what the test made. One fixture per test
 * process (Criterion forks each test); the suite's fini cleans up even when
 * an assertion failed. */
typedef struct fixture {
  dk_client *c;
  char *uniq;  /* unique word for names and contents */
  char *label; /* "judger.test.images=<uniq>" */
  dk_kv labels[2];
} fixture;

static fixture f;

/* The engine runs one image prune at a time and answers 409 to the others;
 * tests run concurrently, so retry for a while. */
static int prune_retry(size_t *deleted, const char *const *labels, bool dangling_only) {
  int rc = DK_ECONFLICT;
  for (int k = 0; k < 300 && rc == DK_ECONFLICT; k++) {
    rc = dk_image_prune(deleted, f.c, labels, dangling_only);
    if (rc == DK_ECONFLICT)
      usleep(100 * 1000);
  }
  return rc;
}

static void fx_init(void) {
  f.c = t_client();
  t_busybox_image(f.c);
  f.uniq = t_unique("img");
  cr_assert(asprintf(&f.label, "judger.test.images=%s", f.uniq) > 0);
  f.labels[0] = (dk_kv){T_LABEL_KEY, "1"};
  f.labels[1] = (dk_kv){"judger.test.images", f.uniq};
}

static void fx_fini(void) {
  if (f.c && f.label) {
    const char *filt[] = {f.label, NULL};
    (void)prune_retry(NULL, filt, false);
    /* If the engine stayed busy with other prunes, remove one by one. */
    dk_image_list *l = NULL;
    if (dk_image_list_filtered(&l, f.c, filt, NULL) == DK_OK)
      for (size_t i = 0; i < l->count; i++)
        (void)dk_image_remove(f.c, l->items[i].id, true, false);
    dk_image_list_free(l);
  }
  free(f.uniq);
  free(f.label);
  dk_client_free(f.c);
  memset(&f, 0, sizeof f);
}

TestSuite(images, .init = fx_init, .fini = fx_fini, .timeout = 120);

static char *tag_of(const char *suffix) {
  char *s = NULL;
  cr_assert(asprintf(&s, "judger-test/%s:%s", f.uniq, suffix) > 0);
  return s;
}

typedef struct progress {
  int calls;
  dk_buf seen;
  char running[80]; /* id of the RUN step's container ("Running in <id>") */
} progress;

static int on_progress(void *ud, const char *text, size_t len) {
  progress *p = ud;
  p->calls++;
  (void)dk_buf_append(&p->seen, text, len);
  const char *r = strstr(text, "Running in ");
  if (r && !p->running[0])
    snprintf(p->running, sizeof p->running, "%.*s", (int)strspn(r + 11, "0123456789abcdef"),
             r + 11);
  return 0;
}

static json_object *image_labels(json_object **root, const dk_image_info *info) {
  *root = json_tokener_parse(info->raw_json);
  cr_assert(*root, "inspect raw_json is not JSON");
  json_object *cfg = NULL, *labels = NULL;
  cr_assert(json_object_object_get_ex(*root, "Config", &cfg));
  cr_assert(json_object_object_get_ex(cfg, "Labels", &labels));
  return labels;
}

Test(images, build_with_tags_labels_buildargs_and_progress) {
  char *tag1 = tag_of("a"), *tag2 = tag_of("b");
  char *df = NULL;
  cr_assert(asprintf(&df,
                     "FROM " T_BUSYBOX_IMAGE "\n"
                     "ARG GREETING=none\n"
                     "COPY hello.txt /hello.txt\n"
                     "RUN echo \"greeting=$GREETING\" && cat /hello.txt\n"
                     "LABEL judger.test.step=%s\n",
                     f.uniq) > 0);
  ctx_tar x;
  ctx_make(&x, df, "hello.txt", "hello-from-context\n");
  const char *tags[] = {tag1, tag2, NULL};
  char *greeting = NULL;
  cr_assert(asprintf(&greeting, "hi-%s", f.uniq) > 0);
  dk_kv args[] = {{"GREETING", greeting}};
  dk_build_opts o = {
      .tags = tags, .buildargs = args, .nbuildargs = 1, .labels = f.labels, .nlabels = 2};
  progress p = {.seen = DK_BUF_INIT(1 << 20)};
  dk_buf log = DK_BUF_INIT(1 << 20);
  char *id = NULL;
  t_ok(t_image_build(&id, f.c, x.data, x.len, &o, on_progress, &p, &log, NULL));

  cr_assert(id && !strncmp(id, "sha256:", 7), "id %s", id ? id : "(null)");
  cr_assert_gt(p.calls, 3, "progress callback called %d times", p.calls);
  char *want = NULL;
  cr_assert(asprintf(&want, "greeting=%s", greeting) > 0);
  cr_assert(strstr(log.data, want), "build arg not seen in the log:\n%s", log.data);
  cr_assert(strstr(log.data, "hello-from-context"), "context file not seen:\n%s", log.data);
  /* Docker's classic builder says "Step 1/5 : ...", Podman "STEP 1/5: ..." */
  cr_assert(strcasestr(p.seen.data, "Step 1/"), "progress text: %s", p.seen.data);
  cr_assert(!log.truncated);

  dk_image_info *info = NULL;
  t_ok(dk_image_inspect(&info, f.c, tag2));
  cr_assert_str_eq(info->id, id);
  int found = 0;
  for (char **t = info->repo_tags; *t; t++)
    found += !strcmp(*t, tag1) + !strcmp(*t, tag2);
  cr_assert_eq(found, 2, "both tags on the image");
  json_object *root = NULL;
  json_object *labels = image_labels(&root, info);
  json_object *v = NULL;
  cr_assert(json_object_object_get_ex(labels, "judger.test.images", &v));
  cr_assert_str_eq(json_object_get_string(v), f.uniq);
  cr_assert(json_object_object_get_ex(labels, "judger.test.step", &v));
  cr_assert_str_eq(json_object_get_string(v), f.uniq);
  json_object_put(root);
  dk_image_info_free(info);

  free(want);
  free(id);
  free(greeting);
  dk_buf_free(&log);
  dk_buf_free(&p.seen);
  ctx_free(&x);
  free(df);
  free(tag1);
  free(tag2);
}

Test(images, failing_run_is_ebuild_with_the_step_output) {
  char *tag = tag_of("x");
  char *df = NULL;
  cr_assert(asprintf(&df,
                     "FROM " T_BUSYBOX_IMAGE "\n"
                     "LABEL judger.test.images=%s\n"
                     "RUN echo out-%s && echo err-%s >&2 && exit 3\n",
                     f.uniq, f.uniq, f.uniq) > 0);
  ctx_tar x;
  ctx_make(&x, df, NULL, NULL);
  const char *tags[] = {tag, NULL};
  dk_build_opts o = {.tags = tags, .labels = f.labels, .nlabels = 2};
  dk_buf log = DK_BUF_INIT(1 << 20);
  char *id = (char *)"untouched";
  int rc = t_image_build(&id, f.c, x.data, x.len, &o, NULL, NULL, &log, NULL);
  cr_assert_eq(rc, DK_EBUILD, "rc %s", dk_error_name(rc));
  cr_assert_null(id);
  const dk_error *e = dk_error_last();
  cr_assert(e && e->code == DK_EBUILD);
  /* Docker: "returned a non-zero code: 3", Podman: "exit status 3" */
  cr_assert(strstr(e->message, "non-zero code: 3") || strstr(e->message, "exit status 3"),
            "message: %s", e->message);
  char *out = NULL, *err = NULL;
  cr_assert(asprintf(&out, "out-%s", f.uniq) > 0 && asprintf(&err, "err-%s", f.uniq) > 0);
  cr_assert(strstr(log.data, out) && strstr(log.data, err), "step output not in log:\n%s",
            log.data);
  dk_image_info *info = NULL;
  cr_assert_eq(dk_image_inspect(&info, f.c, tag), DK_ENOTFOUND, "failed build left a tag");
  free(out);
  free(err);
  dk_buf_free(&log);
  ctx_free(&x);
  free(df);
  free(tag);
}

Test(images, bad_dockerfile_is_ebuild) {
  ctx_tar x;
  ctx_make(&x, "FROM " T_BUSYBOX_IMAGE "\nNOSUCHINSTRUCTION foo\n", NULL, NULL);
  dk_build_opts o = {.labels = f.labels, .nlabels = 2};
  dk_buf log = DK_BUF_INIT(1 << 20);
  int rc = t_image_build(NULL, f.c, x.data, x.len, &o, NULL, NULL, &log, NULL);
  cr_assert_eq(rc, DK_EBUILD, "rc %s", dk_error_name(rc));
  cr_assert(strstr(dk_error_last()->message, "NOSUCHINSTRUCTION") ||
                strstr(dk_error_last()->message, "nosuchinstruction"),
            "message: %s", dk_error_last()->message);
  cr_assert(log.len > 0, "the engine's message is in the log");
  dk_buf_free(&log);
  ctx_free(&x);
}

Test(images, log_cap_truncates_but_the_build_succeeds) {
  char *df = NULL;
  cr_assert(asprintf(&df,
                     "FROM " T_BUSYBOX_IMAGE "\n"
                     "RUN echo %s && seq 1 20000\n",
                     f.uniq) > 0);
  ctx_tar x;
  ctx_make(&x, df, NULL, NULL);
  char *tag = tag_of("cap");
  const char *tags[] = {tag, NULL};
  dk_build_opts o = {.tags = tags, .labels = f.labels, .nlabels = 2, .log_max = 2000};
  progress p = {.seen = DK_BUF_INIT(4 << 20)};
  dk_buf log = DK_BUF_INIT(0);
  char *id = NULL;
  t_ok(t_image_build(&id, f.c, x.data, x.len, &o, on_progress, &p, &log, NULL));
  cr_assert(id);
  cr_assert_leq(log.len, 2000);
  cr_assert_gt(log.len, 0);
  cr_assert(log.truncated, "cap hit is reported");
  /* The callback still saw everything, including the last number. */
  cr_assert(strstr(p.seen.data, "\n20000\n"), "callback missed the end");
  free(id);
  dk_buf_free(&log);
  dk_buf_free(&p.seen);
  ctx_free(&x);
  free(df);
  free(tag);
}

Test(images, inspect_tag_remove) {
  char *df = NULL;
  cr_assert(asprintf(&df, "FROM " T_BUSYBOX_IMAGE "\nLABEL judger.test.images=%s\n", f.uniq) > 0);
  ctx_tar x;
  ctx_make(&x, df, NULL, NULL);
  char *tag = tag_of("orig");
  const char *tags[] = {tag, NULL};
  dk_build_opts o = {.tags = tags, .labels = f.labels, .nlabels = 2};
  char *id = NULL;
  t_ok(t_image_build(&id, f.c, x.data, x.len, &o, NULL, NULL, NULL, NULL));

  char *repo = NULL;
  cr_assert(asprintf(&repo, "judger-test/%s-copy", f.uniq) > 0);
  t_ok(dk_image_tag(f.c, tag, repo, "v2"));
  char *copy = NULL;
  cr_assert(asprintf(&copy, "%s:v2", repo) > 0);
  dk_image_info *info = NULL;
  t_ok(dk_image_inspect(&info, f.c, copy));
  cr_assert_str_eq(info->id, id);
  cr_assert_gt(info->size, 0);
  cr_assert(info->created && info->created[0]);
  dk_image_info_free(info);
  info = NULL;

  cr_assert_eq(dk_image_tag(f.c, "judger-test/no-such-image:none", repo, "v3"), DK_ENOTFOUND);
  cr_assert_eq(dk_image_inspect(&info, f.c, "judger-test/no-such-image:none"), DK_ENOTFOUND);
  cr_assert_null(info);
  cr_assert(dk_error_last()->message[0], "the engine's message is kept");

  /* Removing one tag untags; the image stays under the other. */
  t_ok(dk_image_remove(f.c, copy, false, false));
  cr_assert_eq(dk_image_inspect(&info, f.c, copy), DK_ENOTFOUND);
  t_ok(dk_image_inspect(&info, f.c, tag));
  dk_image_info_free(info);
  info = NULL;
  t_ok(dk_image_remove(f.c, id, true, false));
  cr_assert_eq(dk_image_inspect(&info, f.c, id), DK_ENOTFOUND);
  cr_assert_eq(dk_image_remove(f.c, id, false, false), DK_ENOTFOUND);

  free(copy);
  free(repo);
  free(id);
  ctx_free(&x);
  free(df);
  free(tag);
}

static int list_has(const dk_image_list *l, const char *id) {
  for (size_t i = 0; i < l->count; i++)
    if (!strcmp(l->items[i].id, id))
      return 1;
  return 0;
}

Test(images, list_and_prune_by_unique_label) {
  char *ids[2] = {NULL, NULL};
  char *tags[2] = {tag_of("one"), tag_of("two")};
  for (int k = 0; k < 2; k++) {
    char *df = NULL;
    cr_assert(asprintf(&df, "FROM " T_BUSYBOX_IMAGE "\nLABEL n=%d u=%s\n", k, f.uniq) > 0);
    ctx_tar x;
    ctx_make(&x, df, NULL, NULL);
    const char *tv[] = {tags[k], NULL};
    dk_build_opts o = {.tags = tv, .labels = f.labels, .nlabels = 2};
    t_ok(t_image_build(&ids[k], f.c, x.data, x.len, &o, NULL, NULL, NULL, NULL));
    ctx_free(&x);
    free(df);
  }
  const char *filt[] = {f.label, NULL};
  dk_image_list *l = NULL;
  t_ok(dk_image_list_filtered(&l, f.c, filt, NULL));
  cr_assert_eq(l->count, 2, "listed %zu", l->count);
  cr_assert(list_has(l, ids[0]) && list_has(l, ids[1]));
  for (size_t i = 0; i < l->count; i++) {
    cr_assert(l->items[i].repo_tags[0], "tagged");
    cr_assert_gt(l->items[i].created, 0);
  }
  dk_image_list_free(l);

  char *repo = NULL;
  cr_assert(asprintf(&repo, "judger-test/%s", f.uniq) > 0);
  t_ok(dk_image_list_filtered(&l, f.c, NULL, tags[1]));
  cr_assert_eq(l->count, 1);
  cr_assert_str_eq(l->items[0].id, ids[1]);
  dk_image_list_free(l);
  t_ok(dk_image_list_filtered(&l, f.c, filt, repo));
  cr_assert_eq(l->count, 2, "reference by repository");
  dk_image_list_free(l);

  /* Only dangling: nothing of ours is dangling, nothing goes. */
  size_t deleted = 99;
  t_ok(prune_retry(&deleted, filt, true));
  cr_assert_eq(deleted, 0);
  t_ok(prune_retry(&deleted, filt, false));
  cr_assert_geq(deleted, 2, "deleted %zu", deleted);
  t_ok(dk_image_list_filtered(&l, f.c, filt, NULL));
  cr_assert_eq(l->count, 0);
  dk_image_list_free(l);
  /* The shared test image is untouched by a prune with our label. */
  dk_image_info *info = NULL;
  t_ok(dk_image_inspect(&info, f.c, T_BUSYBOX_IMAGE));
  dk_image_info_free(info);

  free(repo);
  for (int k = 0; k < 2; k++) {
    free(ids[k]);
    free(tags[k]);
  }
}

Test(images, nocache_is_honoured) {
  char *df = NULL;
  cr_assert(asprintf(&df, "FROM " T_BUSYBOX_IMAGE "\nRUN echo %s > /u\n", f.uniq) > 0);
  ctx_tar x;
  ctx_make(&x, df, NULL, NULL);
  char *tag = tag_of("c");
  const char *tags[] = {tag, NULL};
  dk_build_opts o = {.tags = tags, .labels = f.labels, .nlabels = 2};
  dk_buf log = DK_BUF_INIT(1 << 20);
  char *id1 = NULL, *id2 = NULL, *id3 = NULL;
  t_ok(t_image_build(&id1, f.c, x.data, x.len, &o, NULL, NULL, &log, NULL));
  cr_assert_null(strstr(log.data, "Using cache"), "first build used a cache:\n%s", log.data);
  dk_buf_reset(&log);
  t_ok(t_image_build(&id2, f.c, x.data, x.len, &o, NULL, NULL, &log, NULL));
  cr_assert(strstr(log.data, "Using cache"), "second build did not use the cache:\n%s", log.data);
  /* Podman commits the query's labels as a step of their own, anew each
   * time: its cached rebuild is another image. */
  if (dk_client_engine(f.c) != DK_ENGINE_PODMAN)
    cr_assert_str_eq(id1, id2);
  dk_buf_reset(&log);
  o.nocache = true;
  t_ok(t_image_build(&id3, f.c, x.data, x.len, &o, NULL, NULL, &log, NULL));
  cr_assert_null(strstr(log.data, "Using cache"), "nocache build used the cache:\n%s", log.data);
  cr_assert_str_neq(id1, id3);
  free(id1);
  free(id2);
  free(id3);
  dk_buf_free(&log);
  ctx_free(&x);
  free(df);
  free(tag);
}

Test(images, memory_limit_reaches_run_steps) {
  char *df = NULL;
  /* cgroup v1 and v2 name the limit differently. */
  cr_assert(asprintf(&df,
                     "FROM " T_BUSYBOX_IMAGE "\n"
                     "RUN echo %s; echo limit=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes "
                     "2>/dev/null || cat /sys/fs/cgroup/memory.max)\n",
                     f.uniq) > 0);
  ctx_tar x;
  ctx_make(&x, df, NULL, NULL);
  const int64_t limit = 96 * 1024 * 1024;
  dk_build_opts o = {.labels = f.labels, .nlabels = 2, .memory = limit, .memswap = limit};
  dk_buf log = DK_BUF_INIT(1 << 20);
  char *id = NULL;
  t_ok(t_image_build(&id, f.c, x.data, x.len, &o, NULL, NULL, &log, NULL));
  char want[64];
  snprintf(want, sizeof want, "limit=%lld", (long long)limit);
  cr_assert(strstr(log.data, want), "want %s in:\n%s", want, log.data);
  free(id);
  dk_buf_free(&log);
  ctx_free(&x);
  free(df);
}

/* Is a container whose id starts with `prefix` still known to the engine?
 * Build step containers carry no labels: list them all. */
static int container_exists(dk_client *c, const char *prefix) {
  dk_container_list *l = NULL;
  t_ok(dk_container_list_by_label(&l, c, true, NULL));
  int found = 0;
  for (size_t i = 0; i < l->count; i++)
    found |= !strncmp(l->items[i].id, prefix, strlen(prefix));
  dk_container_list_free(l);
  return found;
}

/* Closing the connection makes the engine kill and remove the RUN step's
 * container (named in the progress): it is gone within seconds. */
static void step_container_goes(const progress *p, int64_t deadline_ms) {
  cr_assert(p->running[0], "the RUN step's container is not named:\n%s", p->seen.data);
  /* Closing the connection makes the engine kill and remove the step's
   * container; give it a few seconds. */
  int64_t gone_at = 0;
  for (int k = 0; k < 100 && !gone_at; k++) {
    if (!container_exists(f.c, p->running))
      gone_at = dk_now_ms();
    else
      usleep(100 * 1000);
  }
  cr_assert(gone_at, "build container %s still there 10 s after the deadline", p->running);
  cr_log_info("build container gone %lld ms after the deadline",
              (long long)(gone_at - deadline_ms));
}

Test(images, deadline_stops_the_build_and_its_container) {
  char *df = NULL;
  cr_assert(asprintf(&df, "FROM " T_BUSYBOX_IMAGE "\nRUN echo %s && sleep 30\n", f.uniq) > 0);
  ctx_tar x;
  ctx_make(&x, df, NULL, NULL);
  dk_build_opts o = {.labels = f.labels, .nlabels = 2, .nocache = true};
  progress p = {.seen = DK_BUF_INIT(1 << 20)};
  int64_t t0 = dk_now_ms();
  /* Long enough for the RUN step to start on a loaded engine. */
  dk_call call = {.deadline_ms = t0 + 5000};
  char *id = NULL;
  int rc = t_image_build(&id, f.c, x.data, x.len, &o, on_progress, &p, NULL, &call);
  int64_t took = dk_now_ms() - t0;
  cr_assert_eq(rc, DK_ETIMEDOUT, "rc %s", dk_error_name(rc));
  cr_assert_null(id);
  cr_assert_lt(took, 5000 + 2000, "returned %lld ms after the start", (long long)took);
  char echoed[96]; /* the RUN step's own output, not its Step line */
  snprintf(echoed, sizeof echoed, "\n%s\n", f.uniq);
  cr_assert(strstr(p.seen.data, echoed), "the RUN step never started:\n%s", p.seen.data);
  /* Podman's RUN steps run in buildah's containers, which its API does not
   * list (nor name in the progress): the deadline is all there is to see. */
  if (dk_client_engine(f.c) != DK_ENGINE_PODMAN)
    step_container_goes(&p, call.deadline_ms);
  dk_buf_free(&p.seen);
  ctx_free(&x);
  free(df);
}

static int stop_at_first(void *ud, const char *text, size_t len) {
  (void)text;
  (void)len;
  (*(int *)ud)++;
  return 42;
}

Test(images, callback_stops_the_build) {
  ctx_tar x;
  ctx_make(&x, "FROM " T_BUSYBOX_IMAGE "\nRUN sleep 30\n", NULL, NULL);
  dk_build_opts o = {.labels = f.labels, .nlabels = 2, .nocache = true};
  int calls = 0;
  int64_t t0 = dk_now_ms();
  int rc = t_image_build(NULL, f.c, x.data, x.len, &o, stop_at_first, &calls, NULL, NULL);
  cr_assert_eq(rc, 42);
  cr_assert_eq(calls, 1);
  cr_assert_lt(dk_now_ms() - t0, 5000);
  ctx_free(&x);
}

static void *fire_later(void *ud) {
  usleep(1500 * 1000);
  dk_cancel_fire(ud);
  return NULL;
}

Test(images, cancel_from_another_thread_is_prompt) {
  char *df = NULL;
  cr_assert(asprintf(&df, "FROM " T_BUSYBOX_IMAGE "\nRUN echo %s && sleep 30\n", f.uniq) > 0);
  ctx_tar x;
  ctx_make(&x, df, NULL, NULL);
  dk_build_opts o = {.labels = f.labels, .nlabels = 2, .nocache = true};
  dk_cancel *k = NULL;
  t_ok(dk_cancel_new(&k));
  dk_call call = {.cancel = k};
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, fire_later, k), 0);
  int64_t t0 = dk_now_ms();
  int rc = t_image_build(NULL, f.c, x.data, x.len, &o, NULL, NULL, NULL, &call);
  int64_t took = dk_now_ms() - t0;
  pthread_join(th, NULL);
  cr_assert_eq(rc, DK_ECANCELED, "rc %s", dk_error_name(rc));
  cr_assert(took >= 1400 && took < 3000, "canceled after %lld ms", (long long)took);
  dk_cancel_free(k);
  ctx_free(&x);
  free(df);
}
