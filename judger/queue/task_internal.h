/* The envelope's taskset links (task_links.c), parsed by jd_task_parse. */
#ifndef JD_TASK_INTERNAL_H
#define JD_TASK_INTERNAL_H

#include <stddef.h>

#include "queue/task.h"

struct json_object;

/* "taskset", "class", "after", "publish" of root into t: 0, or -1 with the
 * field named in err. */
int jd_task_links_parse(jd_task *t, struct json_object *root, char *err, size_t errlen);
void jd_task_links_free(jd_task *t);

#endif
