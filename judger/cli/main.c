/* judger — entry point: dispatches to one subcommand per module (cmd_*.c). */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/settings.h"
#include "common/version.h"

typedef struct command {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *help;
} command;

static const command commands[] = {
    {"doctor", jd_cmd_doctor, "check the connection to the Docker engine"},
    {"build", jd_cmd_build, "build a program's environment images and artifacts"},
    {"run", jd_cmd_run, "run one match from a spec"},
    {"daemon", jd_cmd_daemon, "take tasks from Redis and run them"},
    {"submit", jd_cmd_submit, "enqueue a task in Redis"},
    {"status", jd_cmd_status, "show queues, hosts and running tasks"},
    {"gc", jd_cmd_gc, "remove old environment images and cached artifacts"},
    {"league", jd_cmd_league, "play programs against each other locally, print standings"},
    {"taskset", jd_cmd_taskset, "generate, drive, cancel tasksets; their standings"},
    {"watch", jd_cmd_watch, "follow a match's live stream (Redis, or a run's live.jsonl)"},
    {"watch-token", jd_cmd_watch_token, "print the token for a task's HTTP live stream"},
};

static void usage(FILE *f) {
  fprintf(f, "usage: judger <command> [options]\n\ncommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].help);
  fprintf(f, "\n'judger help <command>' (or 'judger <command> --help') describes a command;\n"
             "'judger help settings' prints every setting (docs/settings.md).\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return JD_EXIT_USAGE;
  }
  if (!strcmp(argv[1], "help") && argc > 2 && !strcmp(argv[2], "settings")) {
    jd_settings_print_table(stdout);
    return fflush(stdout) ? JD_EXIT_SYSTEM : JD_EXIT_OK;
  }
  if (!strcmp(argv[1], "help") && argc > 2) {
    /* `judger help watch`: the command's own --help. */
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
      if (!strcmp(argv[2], commands[i].name)) {
        static char help[] = "--help";
        char *args[] = {argv[2], help, NULL};
        return commands[i].run(2, args);
      }
    fprintf(stderr, "judger: no command '%s'\n", argv[2]);
    usage(stderr);
    return JD_EXIT_USAGE;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(stdout);
    return 0;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("judger %s\n", JD_VERSION);
    return 0;
  }
  /* A reader that goes away (`judger run ... 2>&1 | head`) must not kill a
   * command mid-match or mid-build with its containers left running: writes
   * to it fail with EPIPE instead, and the command cleans up as usual. */
  signal(SIGPIPE, SIG_IGN);
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (!strcmp(argv[1], commands[i].name))
      return commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "judger: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return JD_EXIT_USAGE;
}
