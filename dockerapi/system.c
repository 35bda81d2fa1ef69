/* System endpoints: ping, version, info, events. */
#include <stdlib.h>
#include <string.h>

#include "dockerapi/system.h"
#include "internal.h"

int dk_ping(dk_client *c, const dk_call *call) {
  dk__req req = {.method = "GET", .path = "/_ping", .unversioned = 1, .call = call};
  dk__resp resp;
  int rc = dk__do(c, &req, &resp);
  dk__resp_free(&resp);
  return rc;
}
