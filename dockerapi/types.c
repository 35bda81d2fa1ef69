/* Shared small value types. */
#include <stdlib.h>

#include "dockerapi/types.h"

void dk_strv_free(char **v) {
  if (!v)
    return;
  for (char **p = v; *p; p++)
    free(*p);
  free(v);
}
