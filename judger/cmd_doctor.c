/* judger doctor — placeholder until its module lands. */
#include <stdio.h>

#include "commands.h"

int jd_cmd_doctor(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "judger doctor: not available in this build\n");
  return JD_EXIT_SYSTEM;
}
