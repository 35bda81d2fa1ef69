// test-labels: unit
/* The error table: every code has a name and a message; statuses map. */
#include <string.h>

#include "internal.h"
#include "support.h"

Test(error, every_code_has_a_name_and_a_message) {
  int codes[] = {
#define XX(name, value, msg) DK_##name,
      DK_ERROR_MAP(XX)
#undef XX
  };
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    cr_assert(codes[i] < 0);
    cr_assert(strncmp(dk_error_name(codes[i]), "DK_E", 4) == 0);
    cr_assert_str_neq(dk_strerror(codes[i]), "unknown error");
    for (size_t j = 0; j < i; j++)
      cr_assert_neq(codes[i], codes[j], "duplicate value %d", codes[i]);
  }
  cr_assert_str_eq(dk_error_name(0), "DK_OK");
  cr_assert_str_eq(dk_strerror(12345), "unknown error");
}

Test(error, http_statuses_map_to_codes) {
  cr_assert_eq(dk__code_for_status(404), DK_ENOTFOUND);
  cr_assert_eq(dk__code_for_status(409), DK_ECONFLICT);
  cr_assert_eq(dk__code_for_status(400), DK_EBADREQ);
  cr_assert_eq(dk__code_for_status(403), DK_EFORBIDDEN);
  cr_assert_eq(dk__code_for_status(304), DK_ENOTMODIFIED);
  cr_assert_eq(dk__code_for_status(500), DK_ESERVER);
  cr_assert_eq(dk__code_for_status(503), DK_ESERVER);
  cr_assert_eq(dk__code_for_status(418), DK_EHTTP);
}

Test(error, last_error_keeps_the_message_per_thread) {
  dk_error_clear();
  cr_assert_null(dk_error_last());
  int rc = dk__err(DK_ENOTFOUND, 404, "no such container: %s", "abc");
  cr_assert_eq(rc, DK_ENOTFOUND);
  const dk_error *e = dk_error_last();
  cr_assert_not_null(e);
  cr_assert_eq(e->code, DK_ENOTFOUND);
  cr_assert_eq(e->http_status, 404);
  cr_assert_str_eq(e->message, "no such container: abc");
  dk_error_clear();
  cr_assert_null(dk_error_last());
}

Test(error, client_reports_unreachable_engine_in_one_line) {
  dk_client_opts o = {.host = "unix:///nonexistent/docker.sock"};
  dk_client *c = NULL;
  cr_assert_eq(dk_client_new(&c, &o), 0);
  int rc = dk_ping(c, NULL);
  cr_assert_eq(rc, DK_ECONNECT, "got %s", dk_error_name(rc));
  const char *m = dk_error_last()->message;
  cr_assert(strstr(m, "cannot connect") && strstr(m, "/nonexistent/docker.sock"), "%s", m);
  cr_assert_null(strchr(m, '\n'));
  dk_client_free(c);
}
