/* tool_rollover.c - placeholder until the subcommand is written. */
#include <stdio.h>

#include "tools.h"

int tool_rollover_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("danescan rollover: not written yet\n", stderr);
    return 3;
}
