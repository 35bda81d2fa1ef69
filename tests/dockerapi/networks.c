// test-labels: engine
/* Networks against the real engine: an internal network where containers
 * reach each other by alias and nothing else; list, inspect, connect,
 * disconnect and prune by a label unique to the test.
 *
 * No packet leaves the host: the "no egress" check only talks to a
 * container of the test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "support.h"

#define MAX_OBJS 6

static dk_client *cli;
static char *case_value;
static char *case_label;
static char *boxes[MAX_OBJS];
static int nboxes;
static char *nets[MAX_OBJS];
static int nnets;

static void setup(void) {
  cli = t_client();
  t_busybox_image(cli);
  case_value = t_unique("net");
  cr_assert(asprintf(&case_label, "judger.test.case=%s", case_value) > 0);
}

/* Containers first: a network with endpoints cannot be removed. */
static void teardown(void) {
  for (int i = 0; i < nboxes; i++) {
    dk_container_remove(cli, boxes[i], true, true);
    free(boxes[i]);
  }
  for (int i = 0; i < nnets; i++) {
    dk_network_remove(cli, nets[i]);
    free(nets[i]);
  }
  nboxes = nnets = 0;
  free(case_value);
  free(case_label);
  dk_client_free(cli);
}

TestSuite(networks, .init = setup, .fini = teardown, .timeout = 60);

static const char *make_net(bool internal) {
  cr_assert(nnets < MAX_OBJS);
  dk_kv labels[] = {{T_LABEL_KEY, "1"}, {"judger.test.case", case_value}};
  dk_network_config cfg = {
      .internal = internal, .check_duplicate = true, .labels = labels, .nlabels = 2};
  char *name = t_unique("jdt-net");
  char *id = NULL;
  t_ok(dk_network_create(&id, cli, name, &cfg));
  free(name);
  nets[nnets++] = id;
  return id;
}

static const char *make_box(const char *sh, const char *network, const char *const *aliases) {
  cr_assert(nboxes < MAX_OBJS);
  const char *cmd[] = {"sh", "-c", sh, NULL};
  dk_kv labels[] = {{T_LABEL_KEY, "1"}, {"judger.test.case", case_value}};
  dk_container_config cfg = {.image = T_BUSYBOX_IMAGE,
                             .cmd = cmd,
                             .labels = labels,
                             .nlabels = 2,
                             .aliases = aliases,
                             .host = {.network_mode = network}};
  char *name = t_unique("jdt-netbox");
  char *id = NULL;
  t_ok(dk_container_create(&id, cli, name, &cfg));
  free(name);
  boxes[nboxes++] = id;
  return id;
}

/* The address of a running container on the default bridge. */
static char *bridge_ip(const char *id) {
  dk_container_info *info = NULL;
  t_ok(dk_container_inspect(&info, cli, id));
  json_object *root = json_tokener_parse(info->raw_json), *ns = NULL, *ip = NULL;
  dk_container_info_free(info);
  cr_assert(root && json_object_object_get_ex(root, "NetworkSettings", &ns) &&
            json_object_object_get_ex(ns, "IPAddress", &ip));
  char *s = strdup(json_object_get_string(ip));
  json_object_put(root);
  cr_assert(s && *s, "no bridge address");
  return s;
}

static int64_t run_to_end(const char *id, dk_buf *out, dk_buf *err) {
  int64_t code = -1;
  dk_call call = {.deadline_ms = dk_now_ms() + 20000};
  t_ok(dk_container_start(cli, id));
  t_ok(dk_container_wait(&code, cli, id, NULL, &call));
  t_ok(dk_container_logs_collect(cli, id, NULL, out, err, NULL));
  return code;
}

/* On Docker 20.10 an internal network still gives its containers a default
 * route (via the bridge's address); what isolates them is the engine's
 * iptables DROP rules. So "no egress" is proved by what matters: a listener
 * of ours on the default bridge, reachable from a bridged container, is not
 * reachable from the internal network. Nothing is sent past the host. */
Test(networks, internal_network_alias_reachable_no_egress) {
  const char *outside = make_box("while true; do nc -l -p 7000 </dev/null; done", NULL, NULL);
  t_ok(dk_container_start(cli, outside));
  char *ip = bridge_ip(outside);
  char sh[512];

  /* control: from the default bridge the listener answers */
  snprintf(sh, sizeof sh,
           "for i in 1 2 3 4 5; do nc -w 2 %s 7000 </dev/null && exit 0; "
           "sleep 0.2; done; exit 5",
           ip);
  dk_buf out = DK_BUF_INIT(8192), err = DK_BUF_INIT(8192);
  const char *control = make_box(sh, NULL, NULL);
  int64_t code = run_to_end(control, &out, &err);
  cr_assert_eq(code, 0, "the listener is not reachable even from the bridge: %s",
               err.data ? err.data : "");

  const char *net = make_net(true);
  const char *aliases[] = {"game-logic", NULL};
  const char *server = make_box("sleep 30", net, aliases);
  t_ok(dk_container_start(cli, server));
  /* exit 2: the alias is unreachable; 3: the outside listener answered */
  snprintf(sh, sizeof sh,
           "ping -c1 -W2 game-logic || exit 2; "
           "nc -w 1 %s 7000 </dev/null && exit 3; echo isolated",
           ip);
  const char *client = make_box(sh, net, NULL);
  dk_buf_reset(&out);
  dk_buf_reset(&err);
  int64_t t0 = dk_now_ms();
  code = run_to_end(client, &out, &err);
  cr_assert_eq(code, 0, "exit %lld; stdout: %s; stderr: %s", (long long)code,
               out.data ? out.data : "", err.data ? err.data : "");
  cr_assert(strstr(out.data, "1 packets received"), "ping: %s", out.data);
  cr_assert(strstr(out.data, "isolated"));
  cr_assert(dk_now_ms() - t0 < 10000);
  dk_buf_free(&out);
  dk_buf_free(&err);
  free(ip);
}

Test(networks, list_inspect_connect_disconnect_prune) {
  const char *net = make_net(true);
  const char *filter[] = {case_label, NULL};

  dk_network_list *l = NULL;
  t_ok(dk_network_list_by_label(&l, cli, filter));
  cr_assert_eq(l->count, 1);
  cr_assert_str_eq(l->items[0].id, net);
  cr_assert(l->items[0].internal);
  cr_assert_str_eq(l->items[0].driver, "bridge");
  cr_assert_null(l->items[0].raw_json);
  dk_network_list_free(l);

  dk_network_info *info = NULL;
  t_ok(dk_network_inspect(&info, cli, net));
  cr_assert_str_eq(info->id, net);
  cr_assert(!strncmp(info->name, "jdt-net-", 8));
  cr_assert(info->internal);
  cr_assert_eq(info->ncontainers, 0);
  cr_assert(info->raw_json && strstr(info->raw_json, case_value));
  char *name = strdup(info->name);
  dk_network_info_free(info);

  /* a duplicate name is refused when asked to check */
  dk_network_config dup = {.check_duplicate = true};
  char *id2 = NULL;
  int rc = dk_network_create(&id2, cli, name, &dup);
  cr_assert_eq(rc, DK_ECONFLICT, "%s", dk_error_name(rc));
  cr_assert_null(id2);

  const char *bridged = make_box("sleep 30", NULL, NULL);
  t_ok(dk_container_start(cli, bridged));
  const char *aliases[] = {"player-1", "p1", NULL};
  t_ok(dk_network_connect(cli, name, bridged, aliases));
  t_ok(dk_network_inspect(&info, cli, net));
  cr_assert_eq(info->ncontainers, 1);
  cr_assert(strstr(info->raw_json, bridged), "endpoint of %s missing", bridged);
  dk_network_info_free(info);
  rc = dk_network_remove(cli, net);
  /* 20.10 answers 403 ("has active endpoints"); some engines 409 */
  cr_assert(rc == DK_EFORBIDDEN || rc == DK_ECONFLICT, "removed with an endpoint: %s",
            dk_error_name(rc));
  /* prune leaves networks in use alone */
  size_t deleted = 99;
  t_ok(dk_network_prune(&deleted, cli, filter));
  cr_assert_eq(deleted, 0);

  t_ok(dk_network_disconnect(cli, net, bridged, true));
  t_ok(dk_network_inspect(&info, cli, net));
  cr_assert_eq(info->ncontainers, 0);
  dk_network_info_free(info);

  t_ok(dk_network_prune(&deleted, cli, filter));
  cr_assert_eq(deleted, 1);
  rc = dk_network_inspect(&info, cli, net);
  cr_assert_eq(rc, DK_ENOTFOUND, "%s", dk_error_name(rc));
  cr_assert(strstr(dk_error_last()->message, "not found"), "%s", dk_error_last()->message);
  cr_assert_eq(dk_network_prune(&deleted, cli, NULL), DK_EINVAL, "unfiltered prune allowed");
  free(name);
}

Test(networks, remove_and_errors) {
  const char *net = make_net(false);
  dk_network_info *info = NULL;
  t_ok(dk_network_inspect(&info, cli, net));
  cr_assert(!info->internal);
  dk_network_info_free(info);
  t_ok(dk_network_remove(cli, net));
  int rc = dk_network_remove(cli, net);
  cr_assert_eq(rc, DK_ENOTFOUND, "%s", dk_error_name(rc));
  rc = dk_network_connect(cli, "jdt-no-such-network", "jdt-no-such-container", NULL);
  cr_assert_eq(rc, DK_ENOTFOUND, "%s", dk_error_name(rc));
}
