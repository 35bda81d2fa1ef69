/* judger daemon — placeholder until its module lands. */
#include <stdio.h>

#include "commands.h"

int jd_cmd_daemon(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "judger daemon: not available in this build\n");
  return JD_EXIT_SYSTEM;
}
