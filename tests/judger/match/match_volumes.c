// test-labels: engine
/* Image metadata cannot add writable places (common/volumes.h): a program
 * image with VOLUME /data would get an anonymous volume on the host's disk
 * from the engine. Every container of a match (the game logic, a warm
 * player, a cold player) gets a tmpfs at each declared path instead, as big
 * as its /tmp and counted in its memory; a path that cannot be covered
 * refuses the image (RE, 126), never left to the engine. Each test builds
 * its hostile image itself (FROM the test busybox, VOLUME ...). */
#include <sys/stat.h>

#include "match_support.h"

static tm_env env;
static char *images[8];
static int nimages;

static void setup(void) { tm_setup(&env); }
static void teardown(void) {
  for (int i = 0; i < nimages; i++) {
    dk_image_remove(env.dk, images[i], true, false);
    free(images[i]);
  }
  nimages = 0;
  tm_teardown(&env);
}
TestSuite(volumes, .init = setup, .fini = teardown, .timeout = 240);

/* An image FROM the test busybox declaring the given VOLUME line; its tag
 * is removed in teardown. */
static const char *volume_image(const char *volume_line) {
  char df[300];
  snprintf(df, sizeof df, "FROM " T_BUSYBOX_IMAGE "\nVOLUME %s\n", volume_line);
  char *tag = t_unique("judger-test/volumes");
  char *full = NULL;
  cr_assert(asprintf(&full, "%s:1", tag) > 0);
  free(tag);
  const char *tags[] = {full, NULL};
  dk_kv labels[] = {{T_LABEL_KEY, "1"}};
  dk_build_opts o = {.tags = tags, .labels = labels, .nlabels = 1};
  t_ok(t_build_dockerfile(NULL, env.dk, df, &o, NULL));
  images[nimages++] = full;
  return full;
}

/* A program directory holding main.sh (readable by the player's user). */
static char *program_dir(const char *script) {
  char *d = t_tmpdir("vprog");
  cr_assert_eq(chmod(d, 0755), 0);
  char path[600];
  snprintf(path, sizeof path, "%s/main.sh", d);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs(script, f);
  fclose(f);
  cr_assert_eq(chmod(path, 0644), 0);
  return d;
}

static char *program(const char *id, const char *image, const char *dir) {
  char *s = NULL;
  cr_assert(asprintf(&s,
                     "{\"id\":\"%s\",\"image\":\"%s\",\"dir\":\"%s\",\"cmd\":[\"sh\",\"/app/"
                     "main.sh\"]}",
                     id, image, dir) > 0);
  return s;
}

/* 1 GiB into /data, then what it came to. */
#define FILL                                                                                       \
  "dd if=/dev/zero of=/data/fill bs=1M count=1024 2>&1\n"                                          \
  "echo \"dd=$?\"\n"                                                                               \
  "df -k /data | tail -n 1\n"

/* The game logic: fills its /data, starts p0 (AI 0), waits for its exit. */
static const char game_fill[] =
    "exec 3<\"$JUDGER_EVENT_PIPE\"\n"
    "exec 4>\"$JUDGER_CMD_PIPE\"\n" FILL "echo '{\"cmd\":\"start\",\"name\":\"p0\",\"ai\":0}' >&4\n"
    "while read -r ev <&3; do\n"
    "  case \"$ev\" in *'\"exited\"'*) break ;; esac\n"
    "done\n"
    "echo '{\"cmd\":\"end\",\"scores\":[0]}' >&4\n";
static const char player_fill[] = FILL;

/* What the progress hook saw of the run's containers at a player's start:
 * how many, any engine volume among their mounts, and whether each had a
 * tmpfs at /data with the expected size and started from the warm shim. */
typedef struct seen {
  char run[160];
  const char *want_opts; /* the /data tmpfs options expected */
  int containers;
  int volumes;    /* Mounts of type "volume" */
  int data_tmpfs; /* containers with /data as a tmpfs of want_opts */
  bool player_warm;
  char mounts[1024];
} seen;

static void look(seen *s) {
  char label[200];
  snprintf(label, sizeof label, "%s=%s", JD_LABEL_RUN, s->run);
  const char *labels[] = {label, NULL};
  dk_container_list *l = NULL;
  cr_assert_eq(dk_container_list_by_label(&l, env.dk, true, labels), 0);
  s->containers = s->volumes = s->data_tmpfs = 0;
  for (size_t i = 0; i < l->count; i++) {
    dk_container_info *info = NULL;
    if (dk_container_inspect(&info, env.dk, l->items[i].id))
      continue;
    s->containers++;
    json_object *o = json_tokener_parse(info->raw_json), *mounts, *hc, *tmpfs, *data, *cfg, *ep,
                *host;
    if (json_object_object_get_ex(o, "Mounts", &mounts)) {
      snprintf(s->mounts, sizeof s->mounts, "%s", json_object_to_json_string(mounts));
      for (size_t k = 0; k < json_object_array_length(mounts); k++) {
        json_object *type;
        if (json_object_object_get_ex(json_object_array_get_idx(mounts, k), "Type", &type) &&
            strcmp(json_object_get_string(type), "bind"))
          s->volumes++;
      }
    }
    if (json_object_object_get_ex(o, "HostConfig", &hc) &&
        json_object_object_get_ex(hc, "Tmpfs", &tmpfs) &&
        json_object_object_get_ex(tmpfs, "/data", &data) &&
        !strcmp(json_object_get_string(data), s->want_opts))
      s->data_tmpfs++;
    if (json_object_object_get_ex(o, "Config", &cfg) &&
        json_object_object_get_ex(cfg, "Hostname", &host) &&
        !strcmp(json_object_get_string(host), "p0") &&
        json_object_object_get_ex(cfg, "Entrypoint", &ep) &&
        json_object_is_type(ep, json_type_array) && json_object_array_length(ep) > 0 &&
        !strcmp(json_object_get_string(json_object_array_get_idx(ep, 0)), "/.judger-hold"))
      s->player_warm = true;
    json_object_put(o);
    dk_container_info_free(info);
  }
  dk_container_list_free(l);
}

static void on_progress(void *ud, const char *line) {
  seen *s = ud;
  json_object *o = json_tokener_parse(line), *v;
  const char *ev = json_object_object_get_ex(o, "event", &v) ? json_object_get_string(v) : "";
  if (!strcmp(ev, "match.prepare") && json_object_object_get_ex(o, "run", &v))
    snprintf(s->run, sizeof s->run, "%s", json_object_get_string(v));
  if (!strcmp(ev, "player.started"))
    look(s);
  json_object_put(o);
}

/* Runs the fill game and the fill player, both from image, with limits. */
static jd_match_result *run_fill(const char *image, const char *limits, seen *s) {
  char *gdir = program_dir(game_fill), *pdir = program_dir(player_fill);
  char *gl = program("vgame", image, gdir), *p = program("vplayer", image, pdir);
  char *spec = NULL;
  cr_assert(asprintf(&spec,
                     "{\"id\":\"vol\",\"game_logic\":%s,\"players\":[%s],\"config\":{},"
                     "\"limits\":%s}",
                     gl, p, limits) > 0);
  jd_match_hooks hooks = {.progress = on_progress, .ud = s};
  jd_match_result *r = tm_run(&env, spec, &hooks);
  free(spec);
  free(gl);
  free(p);
  t_rmdir(gdir);
  t_rmdir(pdir);
  return r;
}

/* The log shows dd stopped by a full /data of cap_kib KiB. */
static void assert_stopped_at_cap(const char *log_name, long cap_kib) {
  char path[600], *log = NULL;
  size_t len = 0;
  snprintf(path, sizeof path, "%s/%s", env.out, log_name);
  cr_assert_eq(jd_read_file(&log, &len, path, 1 << 20), 0, "cannot read %s", path);
  cr_assert(strstr(log, "No space left on device"), "%s: %s", log_name, log);
  cr_assert(strstr(log, "dd=1"), "%s: %s", log_name, log);
  /* df: "tmpfs  <size> <used> <free> 100% /data", in KiB. */
  long size = -1, used = -1, avail = -1;
  size_t at = strstr(log, "\ntmpfs ") ? (size_t)(strstr(log, "\ntmpfs ") - log) : strlen(log);
  int got = sscanf(log + at, " tmpfs %ld %ld %ld", &size, &used, &avail);
  cr_assert_eq(got, 3, "%s: %s", log_name, log);
  cr_assert_eq(size, cap_kib, "%s: %s", log_name, log);
  cr_assert_eq(used, cap_kib, "%s: %s", log_name, log);
  cr_assert_eq(avail, 0, "%s: %s", log_name, log);
  free(log);
}

static void fill_is_stopped_at_the_cap(bool warm) {
  const char *image = volume_image("/data");
  seen s = {.want_opts = "rw,nosuid,nodev,size=16777216,mode=1777"};
  char limits[200];
  snprintf(limits, sizeof limits,
           "{\"warm\":%s,\"game_logic\":{\"tmpfs\":\"16m\"},\"players\":{\"tmpfs\":\"16m\"}}",
           warm ? "true" : "false");
  jd_match_result *r = run_fill(image, limits, &s);
  cr_assert_str_eq(jd_match_status_name(r->status), "finished", "%s", r->reason ? r->reason : "");
  cr_assert_str_eq(jd_verdict_name(r->players[0].verdict), "OK");
  /* At the player's start: the game logic and the player, each with /data
   * a tmpfs of its /tmp's size, and no volume of the engine's. */
  cr_assert_geq(s.containers, 2, "%d containers seen", s.containers);
  cr_assert_eq(s.volumes, 0, "engine volumes among the mounts: %s", s.mounts);
  cr_assert_eq(s.data_tmpfs, s.containers, "%d of %d with /data a 16 MiB tmpfs", s.data_tmpfs,
               s.containers);
  cr_assert_eq(s.player_warm, warm, "the player %s warm",
               s.player_warm ? "started" : "did not start");
  assert_stopped_at_cap("game_logic.log", 16384);
  assert_stopped_at_cap("player_0.log", 16384);
  jd_match_result_free(r);
  tm_assert_clean(&env);
}

Test(volumes, the_game_logic_and_a_warm_player_are_stopped_at_the_cap) {
  fill_is_stopped_at_the_cap(true);
}

Test(volumes, a_cold_player_is_stopped_at_the_cap) { fill_is_stopped_at_the_cap(false); }

/* The tmpfs's pages are the writer's memory: with a cap above the memory
 * limit, the limit stops the fill (MLE), not the disk. */
Test(volumes, a_declared_volume_counts_in_the_memory_limit) {
  const char *image = volume_image("/data");
  seen s = {.want_opts = "rw,nosuid,nodev,size=268435456,mode=1777"};
  jd_match_result *r = run_fill(image,
                                "{\"warm\":false,\"game_logic\":{\"tmpfs\":\"16m\"},"
                                "\"players\":{\"memory\":\"48m\",\"tmpfs\":\"256m\"}}",
                                &s);
  cr_assert_str_eq(jd_match_status_name(r->status), "finished", "%s", r->reason ? r->reason : "");
  cr_assert_str_eq(jd_verdict_name(r->players[0].verdict), "MLE", "exit %lld: %s",
                   (long long)r->instances[0].exit_code,
                   r->instances[0].message ? r->instances[0].message : "");
  cr_assert_eq(s.volumes, 0, "engine volumes among the mounts: %s", s.mounts);
  jd_match_result_free(r);
  tm_assert_clean(&env);
}

/* VOLUME /tmp: the judger's /tmp covers it; the engine makes no volume. */
Test(volumes, a_volume_at_tmp_is_the_judgers_tmp) {
  const char *image = volume_image("/tmp /data");
  seen s = {.want_opts = "rw,nosuid,nodev,size=16777216,mode=1777"};
  jd_match_result *r = run_fill(
      image, "{\"warm\":false,\"game_logic\":{\"tmpfs\":\"16m\"},\"players\":{\"tmpfs\":\"16m\"}}",
      &s);
  cr_assert_str_eq(jd_verdict_name(r->players[0].verdict), "OK");
  cr_assert_geq(s.containers, 2);
  cr_assert_eq(s.volumes, 0, "engine volumes among the mounts: %s", s.mounts);
  jd_match_result_free(r);
  tm_assert_clean(&env);
}

/* VOLUME /judger, above the game logic's binds and /judger/out: the
 * tmpfs goes under them (the engine mounts by depth), the pipes and
 * match.json still work. */
Test(volumes, a_volume_above_the_judgers_mounts_goes_under_them) {
  const char *image = volume_image("/judger /data");
  seen s = {.want_opts = "rw,nosuid,nodev,size=16777216,mode=1777"};
  jd_match_result *r = run_fill(
      image, "{\"warm\":false,\"game_logic\":{\"tmpfs\":\"16m\"},\"players\":{\"tmpfs\":\"16m\"}}",
      &s);
  cr_assert_str_eq(jd_match_status_name(r->status), "finished", "%s", r->reason ? r->reason : "");
  cr_assert_str_eq(jd_verdict_name(r->game_logic.verdict), "OK");
  cr_assert_str_eq(jd_verdict_name(r->players[0].verdict), "OK");
  cr_assert_eq(s.volumes, 0, "engine volumes among the mounts: %s", s.mounts);
  cr_assert_eq(s.data_tmpfs, s.containers);
  assert_stopped_at_cap("game_logic.log", 16384);
  jd_match_result_free(r);
  tm_assert_clean(&env);
}

/* A path the judger will not cover: the player's image is refused (RE,
 * 126, the reason in its message); the match goes on without it. */
Test(volumes, a_player_image_with_an_unsafe_volume_is_refused) {
  const char *good = volume_image("/data");
  const char *bad = volume_image("/proc/sys");
  char *gdir = program_dir(game_fill), *pdir = program_dir(player_fill);
  char *gl = program("vgame", good, gdir), *p = program("vplayer", bad, pdir);
  for (int warm = 0; warm < 2; warm++) {
    char *spec = NULL;
    cr_assert(asprintf(&spec,
                       "{\"id\":\"vol\",\"game_logic\":%s,\"players\":[%s],\"config\":{},"
                       "\"limits\":{\"warm\":%s,\"game_logic\":{\"tmpfs\":\"16m\"}}}",
                       gl, p, warm ? "true" : "false") > 0);
    jd_match_result *r = tm_run(&env, spec, NULL);
    free(spec);
    cr_assert_str_eq(jd_match_status_name(r->status), "finished", "%s", r->reason ? r->reason : "");
    cr_assert_str_eq(jd_verdict_name(r->players[0].verdict), "RE");
    cr_assert_eq(r->ninstances, 1, "%zu instances", r->ninstances);
    cr_assert_eq(r->instances[0].exit_code, 126);
    const char *msg = r->instances[0].message ? r->instances[0].message : "";
    cr_assert(strstr(msg, "image refused: VOLUME /proc/sys: under /proc"), "%s", msg);
    jd_match_result_free(r);
    tm_assert_clean(&env);
  }
  free(gl);
  free(p);
  t_rmdir(gdir);
  t_rmdir(pdir);
}

/* The same for the game logic: the match fails, with the reason. */
Test(volumes, a_game_logic_image_with_an_unsafe_volume_is_refused) {
  const char *bad = volume_image("/");
  char *gdir = program_dir(game_fill), *pdir = program_dir(player_fill);
  char *gl = program("vgame", bad, gdir), *p = program("vplayer", T_BUSYBOX_IMAGE, pdir);
  char *spec = NULL;
  cr_assert(asprintf(&spec, "{\"id\":\"vol\",\"game_logic\":%s,\"players\":[%s],\"config\":{}}", gl,
                     p) > 0);
  jd_match_result *r = tm_run(&env, spec, NULL);
  cr_assert_str_neq(jd_match_status_name(r->status), "finished");
  cr_assert_str_neq(jd_match_status_name(r->status), "error", "a system fault: %s",
                    r->reason ? r->reason : "");
  cr_assert_str_eq(jd_verdict_name(r->game_logic.verdict), "RE");
  const char *why = r->reason ? r->reason : "";
  const char *msg = r->game_logic.message ? r->game_logic.message : "";
  cr_assert(strstr(why, "VOLUME /: the root itself") || strstr(msg, "VOLUME /: the root itself"),
            "reason %s, message %s", why, msg);
  jd_match_result_free(r);
  free(spec);
  free(gl);
  free(p);
  t_rmdir(gdir);
  t_rmdir(pdir);
  tm_assert_clean(&env);
}
