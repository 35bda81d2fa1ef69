// test-labels: unit
/* Role limits -> HostConfig. */
#include <string.h>

#include "match/match_limits.h"
#include "support.h"

Test(limits, host_config_carries_every_limit) {
  jd_role_limits l = {.cpus = 0.5,
                      .memory = 64 << 20,
                      .pids = 32,
                      .wall_ms = 1000,
                      .log_max = 1 << 20,
                      .tmpfs = 16 << 20,
                      .user = "65534:65534"};
  dk_host_config hc;
  jd_limits_store st;
  jd_limits_host_config(&hc, &st, &l, "net-x");
  cr_assert_eq(hc.nano_cpus, 500000000);
  cr_assert_eq(hc.memory, 64 << 20);
  cr_assert_eq(hc.memory_swap, hc.memory);
  cr_assert_eq(hc.pids_limit, 32);
  cr_assert(hc.readonly_rootfs);
  cr_assert_eq(hc.ntmpfs, 1);
  cr_assert_str_eq(hc.tmpfs[0].key, "/tmp");
  cr_assert(strstr(hc.tmpfs[0].value, "size=16777216"));
  cr_assert_str_eq(hc.cap_drop[0], "ALL");
  cr_assert_null(hc.cap_drop[1]);
  cr_assert_str_eq(hc.security_opt[0], "no-new-privileges");
  cr_assert(!strncmp(hc.security_opt[1], "seccomp={", 9));
  cr_assert_null(hc.security_opt[2]);
  cr_assert_eq(hc.shm_size, 64 << 10);
  cr_assert_eq(hc.init, 1);
  cr_assert_not(hc.privileged);
  cr_assert_null(hc.binds);
  cr_assert_str_eq(hc.network_mode, "net-x");
  cr_assert_not_null(hc.dns);
  cr_assert_null(hc.dns[0]);
  cr_assert_str_eq(hc.log_type, "json-file");
  cr_assert_str_eq(hc.log_opts[0].key, "max-size");
  cr_assert_str_eq(hc.ulimits[0].name, "core");
  cr_assert_eq(hc.ulimits[0].hard, 0);
  /* core only: nofile and nproc are added on Podman by jd_compat_apply
   * (match/create_compat.h); Docker keeps its own */
  cr_assert_eq(hc.nulimits, 1);
}
