/* Private to libdockerapi: the body of a container create (container_body.c). */
#ifndef DOCKERAPI_CONTAINER_BODY_H
#define DOCKERAPI_CONTAINER_BODY_H

#include <json-c/json.h>

#include "dockerapi/containers.h"

/* The create body of cfg; *oom is set when any member could not be
 * allocated (the body is then incomplete). The caller puts the body. */
json_object *dk__container_create_body(int *oom, const dk_container_config *cfg);

#endif
