/* tool_tlsa.c - placeholder until the subcommand is written. */
#include <stdio.h>

#include "tools.h"

int tool_tlsa_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("danescan tlsa: not written yet\n", stderr);
    return 3;
}
