// test-labels: engine
/* System endpoints against the real engine: ping, version, info, and the
 * events stream (label/type filters, since/until, callback stop, deadline,
 * cancel). Events are produced by creating a container carrying a label
 * unique to the test: its events carry its labels in their attributes. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "support.h"

static dk_client *c;
static char *uniq, *label;
static char *ctr_ids[4];
static int nctr;

/* A container labelled judger.test.system=<uniq>, created, never started:
 * its create event carries the container's labels on Docker and Podman
 * alike (an image's tag event carries the image's labels on Docker only). */
static const char *make_container(void) {
  t_busybox_image(c);
  char *body = NULL;
  cr_assert(asprintf(&body,
                     "{\"Image\":\"" T_BUSYBOX_IMAGE "\",\"Cmd\":[\"true\"],\"Labels\":"
                     "{\"judger.test\":\"1\",\"judger.test.system\":\"%s\"}}",
                     uniq) > 0);
  cr_assert_lt(nctr, 4);
  t_ok(dk_container_create_json(&ctr_ids[nctr], c, NULL, body));
  free(body);
  return ctr_ids[nctr++];
}

static void setup(void) {
  c = t_client();
  uniq = t_unique("sys");
  cr_assert(asprintf(&label, "judger.test.system=%s", uniq) > 0);
}

static void teardown(void) {
  for (; nctr > 0; nctr--) {
    (void)dk_container_remove(c, ctr_ids[nctr - 1], true, false);
    free(ctr_ids[nctr - 1]);
  }
  free(uniq);
  free(label);
  dk_client_free(c);
}

TestSuite(system, .init = setup, .fini = teardown, .timeout = 60);

Test(system, ping) { t_ok(dk_ping(c, NULL)); }

/* The product the first answer named is the one /version names: Docker on
 * the host's engine and the Docker sidecars, Podman on the podman sidecar
 * (its socket is podman.sock); the product's version is never empty. */
Test(system, engine_kind_is_the_product_that_answers) {
  t_ok(dk_ping(c, NULL));
  dk_engine_kind k = dk_client_engine(c);
  const char *host = getenv("DOCKER_HOST");
  dk_engine_kind want = host && strstr(host, "/podman") ? DK_ENGINE_PODMAN : DK_ENGINE_DOCKER;
  cr_assert_eq(k, want, "engine %s at %s", dk_engine_kind_name(k), host ? host : "(default)");
  dk_version *v = NULL;
  t_ok(dk_system_version(&v, c));
  cr_assert_eq(v->engine, k, "/version names %s", dk_engine_kind_name(v->engine));
  cr_assert(v->engine_version && v->engine_version[0]);
  if (k == DK_ENGINE_DOCKER)
    cr_assert_str_eq(v->engine_version, v->version, "Docker's Engine component is its version");
  dk_version_free(v);
}

Test(system, version_matches_the_negotiated_api) {
  dk_version *v = NULL;
  t_ok(dk_system_version(&v, c));
  cr_assert(v->version && v->version[0]);
  cr_assert(v->os && v->arch && v->kernel_version && v->go_version);
  cr_assert_str_eq(v->os, "linux");
  /* The negotiated version is the lower of ours and the engine's. */
  char want[16];
  t_ok(dk_api_version_negotiate(want, sizeof want, v->api_version));
  const char *api = NULL;
  t_ok(dk_client_api_version(&api, c));
  cr_assert_str_eq(api, want);
  cr_assert(v->min_api_version && dk_api_version_cmp(v->min_api_version, v->api_version) <= 0);
  dk_version_free(v);
  dk_version_free(NULL);
}

Test(system, info_agrees_with_version_and_the_host) {
  dk_info *i = NULL;
  t_ok(dk_system_info(&i, c));
  dk_version *v = NULL;
  t_ok(dk_system_version(&v, c));
  cr_assert_str_eq(i->server_version, v->version);
  cr_assert(i->storage_driver && i->storage_driver[0]);
  cr_assert(i->cgroup_driver && i->cgroup_driver[0]);
  /* The engine is local: its cgroup version is the host's. */
  const char *host_cg = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ? "2" : "1";
  cr_assert_str_eq(i->cgroup_version, host_cg);
  cr_assert_gt(i->ncpu, 0);
  long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
  cr_assert_eq(i->mem_total, (int64_t)pages * psize, "MemTotal %lld", (long long)i->mem_total);
  cr_assert_geq(i->containers, i->containers_running);
  cr_assert_gt(i->images, 0, "at least the test image");
  cr_assert(strstr(i->raw_json, "\"ServerVersion\""));
  dk_version_free(v);
  dk_info_free(i);
  dk_info_free(NULL);
}

typedef struct seen {
  int total, creates, foreign;
  int stop_on_create; /* return this when a create event arrives */
  char create_id[160];
} seen;

static int on_event(void *ud, const dk_event *ev) {
  seen *s = ud;
  s->total++;
  if (!strstr(ev->json, uniq))
    s->foreign++; /* the label filter let through another test's event */
  if (!strcmp(ev->type, "container") && !strcmp(ev->action, "create")) {
    s->creates++;
    snprintf(s->create_id, sizeof s->create_id, "%s", ev->id);
    cr_assert_gt(ev->time_nano, 0);
    return s->stop_on_create;
  }
  return 0;
}

Test(system, events_between_since_and_until_filtered_by_label) {
  int64_t since = (int64_t)time(NULL) - 1;
  make_container();
  const char *last = make_container();
  const char *labels[] = {label, NULL};
  const char *types[] = {"container", NULL};
  /* until a few seconds ahead: the stream stays open until then, so an
   * event the engine logs late (the containerd store under load) is in. */
  dk_events_opts o = {
      .labels = labels, .types = types, .since = since, .until = (int64_t)time(NULL) + 3};
  seen s = {0};
  dk_call call = {.deadline_ms = dk_now_ms() + 10000};
  /* until set: the engine ends the stream by itself. */
  t_ok(dk_system_events(c, &o, on_event, &s, &call));
  cr_assert_eq(s.creates, 2, "create events %d of %d", s.creates, s.total);
  cr_assert_eq(s.foreign, 0, "events without our label: %d", s.foreign);
  cr_assert_str_eq(s.create_id, last);
}

typedef struct watcher {
  dk_events_opts opts;
  seen s;
  dk_call call;
  int rc;
} watcher;

static void *watch(void *ud) {
  watcher *w = ud;
  w->rc = dk_system_events(c, &w->opts, on_event, &w->s, &w->call);
  return NULL;
}

Test(system, live_event_reaches_the_callback_which_stops_the_stream) {
  t_busybox_image(c);
  const char *labels[] = {label, NULL};
  watcher w = {.opts = {.labels = labels},
               .s = {.stop_on_create = 77},
               .call = {.deadline_ms = dk_now_ms() + 15000}};
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, watch, &w), 0);
  usleep(500 * 1000); /* the stream is open before the event happens */
  int64_t t0 = dk_now_ms();
  make_container();
  pthread_join(th, NULL);
  cr_assert_eq(w.rc, 77, "rc %s", dk_error_name(w.rc));
  cr_assert_eq(w.s.creates, 1);
  cr_assert_lt(dk_now_ms() - t0, 5000, "event arrived late");
}

Test(system, events_deadline_returns_etimedout) {
  /* A label nobody uses: the stream stays silent until the deadline. */
  const char *labels[] = {label, NULL};
  dk_events_opts o = {.labels = labels};
  seen s = {0};
  int64_t t0 = dk_now_ms();
  dk_call call = {.deadline_ms = t0 + 700};
  int rc = dk_system_events(c, &o, on_event, &s, &call);
  int64_t took = dk_now_ms() - t0;
  cr_assert_eq(rc, DK_ETIMEDOUT, "rc %s", dk_error_name(rc));
  cr_assert(took >= 650 && took < 2000, "took %lld ms", (long long)took);
  cr_assert_eq(s.total, 0);
  /* The client is still usable after an aborted stream. */
  t_ok(dk_ping(c, NULL));
}

static void *fire_later(void *k) {
  usleep(600 * 1000);
  dk_cancel_fire(k);
  return NULL;
}

Test(system, events_cancel_from_another_thread) {
  const char *labels[] = {label, NULL};
  dk_events_opts o = {.labels = labels};
  dk_cancel *k = NULL;
  t_ok(dk_cancel_new(&k));
  dk_call call = {.cancel = k};
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, fire_later, k), 0);
  int64_t t0 = dk_now_ms();
  int rc = dk_system_events(c, &o, on_event, &(seen){0}, &call);
  int64_t took = dk_now_ms() - t0;
  pthread_join(th, NULL);
  cr_assert_eq(rc, DK_ECANCELED, "rc %s", dk_error_name(rc));
  cr_assert(took >= 550 && took < 1500, "canceled after %lld ms", (long long)took);
  dk_cancel_free(k);
}

/* Refused before anything is sent: Docker answers 400, Podman would stream
 * until the deadline. */
Test(system, events_since_after_until_is_refused) {
  dk_events_opts o = {.since = 2000, .until = 1000};
  dk_call call = {.deadline_ms = dk_now_ms() + 5000};
  int rc = dk_system_events(c, &o, NULL, NULL, &call);
  cr_assert_eq(rc, DK_EINVAL, "rc %s", dk_error_name(rc));
  const dk_error *e = dk_error_last();
  cr_assert(strstr(e->message, "since (2000) cannot be after until (1000)"), "%s", e->message);
}

/* A client whose maximum is below the engine's minimum (libdockerapi 1.43
 * against Docker 29.0's floor; the trixie sidecar raises its minimum to
 * 1.44 the same way) fails before any call, with one line naming both
 * ranges. On an engine that still accepts 1.43 the same client negotiates
 * 1.43 or the engine's lower maximum: both engines of the suite are held
 * to the rule that applies to them. */
Test(system, a_client_below_the_engines_minimum_fails_naming_both_ranges) {
  c = t_client();
  dk_version *v = NULL;
  cr_assert_eq(dk_system_version(&v, c), 0);
  cr_assert_not_null(v->api_version);
  const char *engine_min = v->min_api_version ? v->min_api_version : "1.12";
  dk_client_opts o;
  cr_assert_eq(dk_client_opts_from_env(&o), 0);
  o.api_version_max = "1.43";
  dk_client *old = NULL;
  cr_assert_eq(dk_client_new(&old, &o), 0);
  const char *got = NULL;
  int rc = dk_client_api_version(&got, old);
  if (dk_api_version_cmp("1.43", engine_min) < 0) {
    cr_assert_eq(rc, DK_EVERSION, "%s", dk_error_name(rc));
    const dk_error *e = dk_error_last();
    cr_assert_not_null(e);
    cr_assert(strstr(e->message, "no API version in common") && strstr(e->message, engine_min) &&
                  strstr(e->message, v->api_version) && strstr(e->message, "1.43"),
              "%s", e->message);
    dk_info *info = NULL;
    cr_assert_eq(dk_system_info(&info, old), DK_EVERSION, "no call is sent at a refused version");
    dk_info_free(info);
  } else {
    cr_assert_eq(rc, 0, "%s", dk_error_name(rc));
    const char *want = dk_api_version_cmp(v->api_version, "1.43") < 0 ? v->api_version : "1.43";
    cr_assert_str_eq(got, want);
  }
  dk_client_free(old);
  dk_version_free(v);
  dk_client_free(c);
  c = NULL;
}
