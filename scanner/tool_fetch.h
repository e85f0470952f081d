/* tool_fetch.h - the certificate chain a live SMTP server sends, for
 * `danescan tlsa --from-server`: connect, banner, EHLO, STARTTLS and a
 * TLS handshake (probes/smtp's machine drives the dialogue), then EHLO
 * again and QUIT.  One server, one connection at a time: this blocks,
 * with a deadline per phase (DESIGN.md limits), so it is for the
 * one-shot subcommand only, never for the scanner's loop.
 */
#ifndef DANESCAN_TOOL_FETCH_H
#define DANESCAN_TOOL_FETCH_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

typedef struct {
    const char *host;           /* a host name (resolved through libc) or an IP literal */
    int port;
    const char *sni;            /* server name to send; NULL: none */
    const char *helo;           /* smtp_helo_valid() */
    int timeout_ms;             /* each phase; > 0 */
    bool allow_private;         /* else probes/addrguard decides per address */
} tool_fetch_params_t;

typedef enum {
    TOOL_FETCH_OK,
    TOOL_FETCH_BLOCKED,         /* every address is one the private-address guard refuses */
    TOOL_FETCH_FAILED,          /* no address gave a certificate: err says why */
} tool_fetch_status_t;

/* On TOOL_FETCH_OK, *chain is the chain as served, leaf first (the
 * caller's: sk_X509_pop_free(*chain, X509_free)) and address[] the
 * address that served it.  Otherwise err says why. */
tool_fetch_status_t tool_fetch_chain(const tool_fetch_params_t *p, STACK_OF(X509) **chain,
                                     char *address, size_t address_len, char *err,
                                     size_t errlen);

#endif
