/* judger build — placeholder until its module lands. */
#include <stdio.h>

#include "commands.h"

int jd_cmd_build(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "judger build: not available in this build\n");
  return JD_EXIT_SYSTEM;
}
