// test-labels: unit
/* daemon/config.c: every setting's default, type and bounds, from one list
 * (the layers that set them: tests/judger/cli/settings.c). */
#include <stdio.h>
#include <string.h>

#include "common/policy.h"
#include "daemon/config.h"
#include "queue/task.h"
#include "support.h"

Test(config, defaults_are_sane) {
  jd_config c;
  cr_assert_eq(jd_config_defaults(&c), 0);
  cr_assert_eq(c.slots, 1);
  cr_assert_eq(c.lease_ms, 30000);
  cr_assert_eq(c.grace_ms, 60000);
  cr_assert_eq(c.stall_ms, 0);
  cr_assert_eq(c.block_ms, 2000);
  cr_assert_eq(c.max_attempts, 3);
  cr_assert_eq(c.upload_retries, 5);
  cr_assert_eq(c.upload_timeout_ms, 300000);
  cr_assert(c.reap_dead_hosts);
  cr_assert(c.warm);
  cr_assert_not(c.log_json);
  cr_assert_eq(c.reconcile_ms, 60000);
  cr_assert_eq(c.reconcile_grace_ms, 5000);
  cr_assert_eq(c.entry_max_bytes, (int64_t)JD_ENTRY_MAX_BYTES_DEFAULT);
  cr_assert_eq(c.entry_max_depth, JD_TASK_MAX_DEPTH_DEFAULT);
  cr_assert_eq(c.disk_low, (int64_t)1 << 30);
  cr_assert_eq(c.disk_high, (int64_t)2 << 30);
  cr_assert_eq(c.disk_low_inodes, 2);
  cr_assert_eq(c.disk_high_inodes, 5);
  cr_assert_eq(c.guard_ms, 5000);
  cr_assert_eq(c.build_jobs, 0);
  cr_assert_str_eq(c.redis, "redis://127.0.0.1:6379/0");
  cr_assert_str_eq(c.state_dir, JD_STATE_DIR_DEFAULT);
  cr_assert_str_eq(c.prefix, "judger");
  cr_assert_str_eq(c.group, "judgers");
  cr_assert_str_eq(c.labels, "");
  cr_assert_str_eq(c.log_level, "info");
  cr_assert_str_eq(c.net_pool, JD_NET_POOL_DEFAULT);
  cr_assert_str_eq(c.engine_root, "auto");
  cr_assert_str_eq(c.metrics_listen, "");
  cr_assert(c.host_id && *c.host_id);
  /* NULL and 0: the policy's and the libraries' own defaults. */
  cr_assert_null(c.out_dir);
  cr_assert_null(c.program_roots);
  cr_assert_null(c.base_images);
  cr_assert_null(c.build_allow);
  cr_assert_null(c.debian_mirror);
  for (size_t i = 0; i < JD_CEIL_COUNT; i++)
    cr_assert_eq(c.ceiling[i], 0, "%s", jd_ceiling_key((jd_ceiling)i));
  jd_config_clear(&c);
}

Test(config, bad_values_are_named) {
  jd_config c;
  char err[256];
  cr_assert_eq(jd_config_defaults(&c), 0);
  cr_assert_eq(jd_config_set(&c, "nope", "1", err, sizeof err), -1);
  cr_assert(strstr(err, "nope"));
  cr_assert_eq(jd_config_set(&c, "slots", "0", err, sizeof err), -1);
  cr_assert_eq(jd_config_set(&c, "host_id", "Bad Host", err, sizeof err), -1);
  cr_assert_eq(jd_config_set(&c, "lease_ms", "2m", err, sizeof err), 0);
  cr_assert_eq(c.lease_ms, 120000);
  cr_assert_eq(jd_config_set(&c, "redis", "redis://:pw@h:1/0", err, sizeof err), 0);
  cr_assert_eq(jd_config_set(&c, "base_images", "Not An Image", err, sizeof err), -1);
  cr_assert(strstr(err, "base_images"), "%s", err);
  cr_assert_null(strstr(strstr(err, "base_images") + 1, "base_images"), "named once: %s", err);
  jd_config_clear(&c);
}

/* The knobs the libraries once read from the environment are settings. */
Test(config, build_allow_and_debian_mirror_are_settings) {
  jd_config c;
  char err[256];
  cr_assert_eq(jd_config_defaults(&c), 0);
  cr_assert_eq(jd_config_set(&c, "build-allow", "deb.debian.org", err, sizeof err), 0, "%s", err);
  cr_assert_eq(jd_config_set(&c, "debian_mirror", "http://m/debian", err, sizeof err), 0, "%s",
               err);
  jd_config copy;
  cr_assert_eq(jd_config_copy(&copy, &c), 0);
  cr_assert_str_eq(copy.build_allow, "deb.debian.org");
  cr_assert_str_eq(copy.debian_mirror, "http://m/debian");
  jd_config_clear(&copy);
  jd_config_clear(&c);
}

Test(config, finish_checks_what_spans_settings) {
  jd_config c;
  char err[256];
  cr_assert_eq(jd_config_defaults(&c), 0);
  cr_assert_eq(jd_config_set(&c, "state_dir", "rel/state", err, sizeof err), 0);
  cr_assert_eq(jd_config_finish(&c, err, sizeof err), 0, "%s", err);
  cr_assert_eq(c.state_dir[0], '/', "%s", c.state_dir);
  cr_assert_eq(jd_config_set(&c, "disk_low", "3g", err, sizeof err), 0);
  cr_assert_eq(jd_config_finish(&c, err, sizeof err), -1);
  cr_assert(strstr(err, "disk_high"), "%s", err);
  jd_config_clear(&c);
}
