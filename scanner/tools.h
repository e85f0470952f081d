/* tools.h - the operator subcommands of danescan (DESIGN.md: "danescan
 * tlsa ..." and "danescan rollover ..."); main() hands them argv from the
 * subcommand's name on.  Each returns the process exit status. */
#ifndef DANESCAN_TOOLS_H
#define DANESCAN_TOOLS_H

/* danescan tlsa: TLSA records from a certificate, chain, key or live
 * server; --generate makes a key and certificate first. */
int tool_tlsa_main(int argc, char **argv);

/* danescan rollover DOMAIN --next FILE: is the next key published yet,
 * and when is it safe to switch? */
int tool_rollover_main(int argc, char **argv);

#endif
