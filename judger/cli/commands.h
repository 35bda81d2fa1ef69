/* The judger's subcommands; each lives in its own cmd_<name>.c. They get
 * argv with argv[0] = the command name and return the process exit code. */
#ifndef JD_COMMANDS_H
#define JD_COMMANDS_H

#include "common/error.h"

int jd_cmd_doctor(int argc, char **argv);
int jd_cmd_build(int argc, char **argv);
int jd_cmd_run(int argc, char **argv);
int jd_cmd_daemon(int argc, char **argv);
int jd_cmd_submit(int argc, char **argv);
int jd_cmd_status(int argc, char **argv);
int jd_cmd_gc(int argc, char **argv);
int jd_cmd_league(int argc, char **argv);
int jd_cmd_taskset(int argc, char **argv);
int jd_cmd_watch(int argc, char **argv);
int jd_cmd_watch_token(int argc, char **argv);

#endif
