/* judger taskset: generate round robins, drive Swiss rounds, cancel a taskset,
 * print its standings (docs/tasksets.md). */
#include <stdio.h>

#include "cli/commands.h"

int jd_cmd_taskset(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "judger taskset: not yet available\n");
  return JD_EXIT_USAGE;
}
