// test-labels: unit
/* The requests a client sent, by kind: the kind of every endpoint the
 * library calls, and the counters of a client against the fake engine
 * (counted when sent, whatever the answer; not when refused before; safe
 * from several threads). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fake_engine.h"
#include "support.h"

TestSuite(counts, .timeout = 30);

Test(counts, every_endpoint_has_its_kind) {
  static const struct {
    const char *method, *path;
    dk_call_kind kind;
  } rows[] = {
      {"POST", "/containers/create?name=x", DK_CALL_CONTAINER_CREATE},
      {"POST", "/containers/abc/start", DK_CALL_CONTAINER_START},
      {"POST", "/containers/abc/wait?condition=next-exit", DK_CALL_CONTAINER_WAIT},
      {"GET", "/containers/abc/json", DK_CALL_CONTAINER_INSPECT},
      {"GET", "/containers/json?all=1&filters=x", DK_CALL_CONTAINER_LIST},
      {"GET", "/containers/abc/logs?stdout=1", DK_CALL_CONTAINER_LOGS},
      {"POST", "/containers/abc/attach?stream=1", DK_CALL_CONTAINER_ATTACH},
      {"POST", "/containers/abc/kill?signal=KILL", DK_CALL_CONTAINER_KILL},
      {"POST", "/containers/abc/stop", DK_CALL_CONTAINER_KILL},
      {"DELETE", "/containers/abc?force=1&v=1", DK_CALL_CONTAINER_REMOVE},
      {"PUT", "/containers/abc/archive?path=/", DK_CALL_CONTAINER_OTHER},
      {"POST", "/containers/prune", DK_CALL_CONTAINER_OTHER},
      {"POST", "/containers/abc/exec", DK_CALL_EXEC},
      {"POST", "/networks/create", DK_CALL_NETWORK_CREATE},
      {"DELETE", "/networks/n1", DK_CALL_NETWORK_REMOVE},
      {"POST", "/networks/n1/connect", DK_CALL_NETWORK_CONNECT},
      {"POST", "/networks/n1/disconnect", DK_CALL_NETWORK_DISCONNECT},
      {"GET", "/networks/n1", DK_CALL_NETWORK_INSPECT},
      {"GET", "/networks?filters=x", DK_CALL_NETWORK_LIST},
      {"GET", "/networks", DK_CALL_NETWORK_LIST},
      {"POST", "/networks/prune", DK_CALL_NETWORK_OTHER},
      {"GET", "/images/busybox:1/json", DK_CALL_IMAGE},
      {"POST", "/images/create?fromImage=x", DK_CALL_IMAGE},
      {"POST", "/build?t=x", DK_CALL_BUILD},
      {"POST", "/exec/e1/start", DK_CALL_EXEC},
      {"GET", "/_ping", DK_CALL_PING},
      {"GET", "/version", DK_CALL_SYSTEM},
      {"GET", "/info", DK_CALL_SYSTEM},
      {"GET", "/events?filters=x", DK_CALL_SYSTEM},
      {"GET", "/system/df", DK_CALL_SYSTEM},
      {"DELETE", "/volumes/v", DK_CALL_OTHER},
      {"GET", "/", DK_CALL_OTHER},
      {"GET", "", DK_CALL_OTHER},
      {NULL, "/containers/abc/start", DK_CALL_OTHER},
      {"GET", NULL, DK_CALL_OTHER},
      /* A container named like an action is still that container. */
      {"DELETE", "/containers/create", DK_CALL_CONTAINER_REMOVE},
      {"GET", "/containers/json/json", DK_CALL_CONTAINER_INSPECT},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
    cr_expect_eq(dk_call_kind_of(rows[i].method, rows[i].path), rows[i].kind, "%s %s: %s",
                 rows[i].method ? rows[i].method : "(null)", rows[i].path ? rows[i].path : "(null)",
                 dk_call_kind_name(dk_call_kind_of(rows[i].method, rows[i].path)));
}

Test(counts, every_kind_has_a_distinct_name) {
  for (int a = 0; a < DK_CALL_KIND_COUNT; a++) {
    const char *n = dk_call_kind_name((dk_call_kind)a);
    cr_assert(n && *n && strcmp(n, "?"));
    for (int b = 0; b < a; b++)
      cr_assert_str_neq(n, dk_call_kind_name((dk_call_kind)b));
  }
  cr_assert_str_eq(dk_call_kind_name(DK_CALL_KIND_COUNT), "?");
  cr_assert_str_eq(dk_call_kind_name(DK_CALL_CONTAINER_CREATE), "container_create");
}

/* Every request (but /_ping, answered by the fake itself) gets a 204. */
static const char no_content[] = "HTTP/1.1 204 No Content\r\nApi-Version: 1.41\r\n\r\n";
static const t_fake_route any = {NULL, "/", no_content, 0, 0};

static dk_client *fake_client(t_fake **fake) {
  *fake = t_fake_start(&any, 1);
  dk_client_opts o = {.host = t_fake_host(*fake), .api_version = "1.41"};
  dk_client *c = NULL;
  t_ok(dk_client_new(&c, &o));
  return c;
}

Test(counts, requests_are_counted_by_kind_whatever_the_answer) {
  t_fake *fake;
  dk_client *c = fake_client(&fake);
  dk_call_counts n;
  dk_client_counts(&n, c);
  cr_assert_eq(dk_call_counts_total(&n), 0);
  t_ok(dk_container_start(c, "abc"));
  t_ok(dk_container_start(c, "def"));
  t_ok(dk_network_remove(c, "n1"));
  t_ok(dk_ping(c, NULL));
  char *id = NULL;
  cr_assert_neq(dk_network_create(&id, c, "n2", NULL), 0); /* 204: no Id, still sent */
  dk_client_counts(&n, c);
  cr_assert_eq(n.n[DK_CALL_CONTAINER_START], 2);
  cr_assert_eq(n.n[DK_CALL_NETWORK_REMOVE], 1);
  cr_assert_eq(n.n[DK_CALL_NETWORK_CREATE], 1);
  cr_assert_eq(n.n[DK_CALL_PING], 1);
  cr_assert_eq(dk_call_counts_total(&n), 5);
  dk_client_free(c);
  t_fake_stop(fake);
}

Test(counts, a_request_refused_before_it_is_sent_is_not_counted) {
  t_fake *fake;
  dk_client *c = fake_client(&fake);
  dk_cancel *cancel = NULL;
  t_ok(dk_cancel_new(&cancel));
  dk_cancel_fire(cancel);
  dk_call call = {.cancel = cancel};
  cr_assert_eq(dk_ping(c, &call), DK_ECANCELED);
  dk_call late = {.deadline_ms = dk_now_ms() - 1};
  cr_assert_eq(dk_ping(c, &late), DK_ETIMEDOUT);
  dk_call_counts n;
  dk_client_counts(&n, c);
  cr_assert_eq(dk_call_counts_total(&n), 0);
  dk_cancel_free(cancel);
  dk_client_free(c);
  t_fake_stop(fake);
}

#define THREADS 4
#define EACH 25

static void *kill_many(void *ud) {
  for (int i = 0; i < EACH; i++)
    if (dk_container_kill(ud, "abc", "KILL"))
      return ud;
  return NULL;
}

Test(counts, threads_sharing_a_client_lose_no_count) {
  t_fake *fake;
  dk_client *c = fake_client(&fake);
  pthread_t th[THREADS];
  for (int i = 0; i < THREADS; i++)
    cr_assert_eq(pthread_create(&th[i], NULL, kill_many, c), 0);
  for (int i = 0; i < THREADS; i++) {
    void *failed = NULL;
    pthread_join(th[i], &failed);
    cr_assert_null(failed, "a kill failed");
  }
  dk_call_counts n;
  dk_client_counts(&n, c);
  cr_assert_eq(n.n[DK_CALL_CONTAINER_KILL], THREADS * EACH);
  cr_assert_eq(dk_call_counts_total(&n), THREADS * EACH);
  dk_client_free(c);
  t_fake_stop(fake);
}
