// test-labels: engine
/* Live frames on the real engine (docs/protocol.md "Frames"): the game
 * logic's frames in both forms reach live.jsonl and the hooks, every event
 * numbered (seq); a frame too large and a flood are dropped and counted in
 * result.json while the match goes on and ends normally; live_max_bytes
 * caps the file; a link planted at live.jsonl is not followed. Nothing of
 * the match is left after each test. */
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dockerapi/buf.h"
#include "match_support.h"

static tm_env env;
static void setup(void) { tm_setup(&env); }
static void teardown(void) { tm_teardown(&env); }
TestSuite(match_live, .init = setup, .fini = teardown, .timeout = 120);

/* What the hooks saw. */
typedef struct seen {
  int64_t last_seq; /* of the typed events, which must go 1, 2, 3... */
  bool seq_ok;
  int64_t frames; /* match.frame events */
  dk_buf lines;   /* the progress hook's lines, each with a newline */
  char *first_frame;
} seen;

static void on_event(void *ud, const jd_match_event *ev) {
  seen *s = ud;
  if (ev->seq != s->last_seq + 1)
    s->seq_ok = false;
  s->last_seq = ev->seq;
  if (ev->type == JD_EVENT_MATCH_FRAME) {
    s->frames++;
    if (!s->first_frame)
      s->first_frame = strdup(ev->frame.json);
  }
}

static void on_progress(void *ud, const char *json) {
  seen *s = ud;
  dk_buf_append(&s->lines, json, strlen(json));
  dk_buf_append(&s->lines, "\n", 1);
}

static jd_match_result *run_game(seen *s, const char *config, const char *limits) {
  char *gl = tm_program("frames", "tests/judger/programs/frames_game");
  char *p = tm_program("quiet", "tests/judger/programs/trivial");
  char *spec = NULL;
  cr_assert(asprintf(&spec,
                     "{\"id\":\"live\",\"game_logic\":%s,\"players\":[%s],\"config\":%s,"
                     "\"limits\":%s}",
                     gl, p, config, limits) > 0);
  *s = (seen){.seq_ok = true};
  dk_buf_init(&s->lines, 0);
  jd_match_hooks hooks = {.event = on_event, .progress = on_progress, .ud = s};
  jd_match_result *r = tm_run(&env, spec, &hooks);
  free(spec);
  free(gl);
  free(p);
  cr_assert_str_eq(jd_match_status_name(r->status), "finished", "%s", r->reason ? r->reason : "");
  return r;
}

static void seen_free(seen *s) {
  dk_buf_free(&s->lines);
  free(s->first_frame);
}

static size_t count(const char *hay, const char *needle) {
  size_t n = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
    n++;
  return n;
}

/* Every line of live.jsonl is one JSON event numbered after the one before
 * (consecutive: 1, 2, 3...; else a frame not written leaves a gap);
 * returns how many there are. */
static size_t check_lines(const char *text, bool consecutive) {
  char *copy = strdup(text), *save = NULL;
  size_t n = 0;
  int64_t prev = 0;
  for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    json_object *o = json_tokener_parse(l), *v = NULL;
    cr_assert_not_null(o, "not JSON: %s", l);
    cr_assert(json_object_object_get_ex(o, "seq", &v), "no seq: %s", l);
    int64_t seq = json_object_get_int64(v);
    cr_assert(consecutive ? seq == prev + 1 : seq > prev, "seq %lld at line %zu: %s",
              (long long)seq, n + 1, l);
    prev = seq;
    cr_assert(json_object_object_get_ex(o, "match_id", &v), "%s", l);
    json_object_put(o);
    n++;
  }
  free(copy);
  return n;
}

/* result.json's "live" block says what the result says. */
static void check_result_file(const jd_match_result *r) {
  char *text = tm_read(&env, "result.json", NULL);
  json_object *o = json_tokener_parse(text), *live = NULL, *v = NULL;
  cr_assert(json_object_object_get_ex(o, "live", &live), "%s", text);
  const struct {
    const char *key;
    int64_t want;
  } f[] = {{"frames", r->live.frames},
           {"dropped_size", r->live.dropped_size},
           {"dropped_rate", r->live.dropped_rate},
           {"dropped_file", r->live.dropped_file}};
  for (size_t i = 0; i < 4; i++) {
    cr_assert(json_object_object_get_ex(live, f[i].key, &v), "no live.%s", f[i].key);
    cr_assert_eq(json_object_get_int64(v), f[i].want, "live.%s", f[i].key);
  }
  json_object_put(o);
  free(text);
}

Test(match_live, frames_reach_the_file_and_hooks_and_a_flood_is_dropped) {
  seen s;
  /* 3 frames, 1 past 64 bytes, a flood of 300, a last one: at 10 a second
   * (a burst of 10) most of the flood is dropped. */
  jd_match_result *r = run_game(&s, "{\"mode\":\"frames\",\"n\":300}",
                                "{\"frame_max_bytes\":64,\"frames_per_sec\":10}");
  cr_assert_float_eq(r->players[0].score, 7.0, 1e-9, "the match went on after the flood");
  cr_assert_eq(r->ninstances, 1);
  cr_assert_eq(r->live.dropped_size, 1);
  cr_assert_eq(r->live.frames + r->live.dropped_size + r->live.dropped_rate, 305,
               "frames %lld, dropped %lld + %lld", (long long)r->live.frames,
               (long long)r->live.dropped_size, (long long)r->live.dropped_rate);
  cr_assert_geq(r->live.dropped_rate, 200, "%lld", (long long)r->live.dropped_rate);
  cr_assert_geq(r->live.frames, 3);
  cr_assert_eq(r->live.dropped_file, 0);
  cr_assert_eq(r->refused_commands, 0, "a dropped frame is not a refused command");
  check_result_file(r);
  /* The hooks: every event numbered, every frame told. */
  cr_assert(s.seq_ok, "the typed events' seq did not go 1, 2, 3...");
  cr_assert_eq(s.frames, r->live.frames);
  cr_assert_str_eq(s.first_frame, "{\"turn\":1,\"board\":[[1,0],[0,2]],\"who\":\"a/b\"}");
  /* The file: the same lines as the progress hook (no build here), each
   * numbered, in order, ending with match.done. */
  char *text = tm_read(&env, "live.jsonl", NULL);
  cr_assert_str_eq(text, (const char *)s.lines.data);
  size_t n = check_lines(text, true);
  cr_assert_eq((int64_t)n, s.last_seq);
  cr_assert_eq((int64_t)count(text, "\"event\":\"match.frame\""), r->live.frames);
  cr_assert(strstr(text, "\"data\":{\"turn\":1,\"board\":[[1,0],[0,2]],\"who\":\"a/b\"}}\n"),
            "%.400s", text);
  cr_assert(strstr(text, "\"data\":{\"turn\":2,\"moves\":[\"up\",\"left\"]}}\n"), "%.400s", text);
  cr_assert(strstr(text, "\"data\":42}\n"), "%.600s", text);
  cr_assert(strstr(text, "\"event\":\"player.started\""));
  cr_assert(strstr(text, "\"event\":\"match.end\""));
  size_t tl = strlen(text), start = tl - 1;
  while (start > 0 && text[start - 1] != '\n')
    start--;
  cr_assert(!strncmp(text + start, "{\"event\":\"match.done\",", 22),
            "match.done is not the last line");
  free(text);
  seen_free(&s);
  jd_match_result_free(r);
  tm_assert_clean(&env);
}

Test(match_live, live_max_bytes_caps_the_file) {
  seen s;
  /* 200 frames of ~150 bytes (30 KB) into a file of 4 KiB. */
  jd_match_result *r = run_game(&s, "{\"mode\":\"fill\",\"n\":200}",
                                "{\"live_max_bytes\":4096,\"frames_per_sec\":10000}");
  cr_assert_eq(r->live.frames, 200, "every frame passes the rate");
  cr_assert_gt(r->live.dropped_file, 0);
  cr_assert_eq(s.frames, 200, "the hooks get every frame, written or not");
  check_result_file(r);
  size_t len = 0;
  char *text = tm_read(&env, "live.jsonl", &len);
  check_lines(text, false);
  int64_t written = (int64_t)count(text, "\"event\":\"match.frame\"");
  cr_assert_eq(written + r->live.dropped_file, 200);
  /* Frames stop at the cap; the match's own events still go in. */
  cr_assert_leq(len, 4096 + 1024, "%zu bytes", len);
  cr_assert(strstr(text, "\"event\":\"match.end\""));
  cr_assert(strstr(text, "\"event\":\"game_logic.exited\""));
  cr_assert(strstr(text, "\"event\":\"match.done\""));
  free(text);
  seen_free(&s);
  jd_match_result_free(r);
  tm_assert_clean(&env);
}

Test(match_live, no_file_at_zero_and_a_planted_link_is_not_followed) {
  seen s;
  char path[600], target[600];
  snprintf(path, sizeof path, "%s/live.jsonl", env.out);
  /* live_max_bytes 0: no file, frames still told, none counted dropped. */
  jd_match_result *r = run_game(&s, "{\"mode\":\"fill\",\"n\":5}", "{\"live_max_bytes\":0}");
  struct stat st;
  cr_assert_eq(lstat(path, &st), -1, "live.jsonl written with live_max_bytes 0");
  cr_assert_eq(r->live.frames, 5);
  cr_assert_eq(r->live.dropped_file, 0);
  cr_assert_eq(s.frames, 5);
  seen_free(&s);
  jd_match_result_free(r);
  /* A link at live.jsonl (a previous run's out dir): never written
   * through; the frames are counted as not written. */
  snprintf(target, sizeof target, "%s/target", env.state);
  cr_assert_eq(jd_write_file(target, "keep\n", 5), 0);
  cr_assert_eq(symlink(target, path), 0);
  r = run_game(&s, "{\"mode\":\"fill\",\"n\":5}", "{}");
  cr_assert_eq(r->live.frames, 5);
  cr_assert_eq(r->live.dropped_file, 5);
  char *kept = NULL;
  size_t klen = 0;
  cr_assert_eq(jd_read_file(&kept, &klen, target, 1024), 0);
  cr_assert_str_eq(kept, "keep\n");
  free(kept);
  cr_assert_eq(lstat(path, &st), 0);
  cr_assert(S_ISLNK(st.st_mode));
  seen_free(&s);
  jd_match_result_free(r);
  tm_assert_clean(&env);
}
