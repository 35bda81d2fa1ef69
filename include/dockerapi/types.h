/* libdockerapi — small shared value types. */
#ifndef DOCKERAPI_TYPES_H
#define DOCKERAPI_TYPES_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A key/value pair (labels, tmpfs mounts, driver options, build args). */
typedef struct dk_kv {
  const char *key;
  const char *value;
} dk_kv;

/* A NULL-terminated list of strings owned by the library; free with
 * dk_strv_free(). */
void dk_strv_free(char **v);

#ifdef __cplusplus
}
#endif
#endif
