/* judger league: a local round robin of programs (stub, being built). */
#include <stdio.h>

#include "cli/commands.h"

int jd_cmd_league(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "judger league: not built yet\n");
  return JD_EXIT_USAGE;
}
