/* A minimal C program for the runtime: prints a line and exits. */
#include <stdio.h>

int main(void) {
  printf("hello from C\n");
  return 0;
}
