/* addrprobe.h - one address of one MX host, end to end, on the event
 * loop: the private-address guard, a non-blocking connect, the SMTP
 * dialogue (probes/smtp), STARTTLS and the DANE handshake (probes/tls),
 * and, for RULES A7, a second handshake for the server's other
 * certificate.  The outcome goes into a model_address_t in DESIGN.md's
 * vocabulary (address result and reason, handshakes, timings).
 *
 * Many probes run at once on one loop.  A probe only reads, writes and
 * waits through the loop; it never blocks.  OpenSSL writes to the socket
 * with write(2): the program must ignore SIGPIPE.
 */
#ifndef DANESCAN_ADDRPROBE_H
#define DANESCAN_ADDRPROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "loop.h"
#include "model.h"
#include "tls.h"
#include "tlsa.h"

typedef struct {
    const char *address;          /* IP literal (v4 or v6), the exact address validated */
    int port;                     /* 25 */
    const char *helo;             /* EHLO name: smtp_helo_valid() */
    /* Else addrguard decides: MODEL_ADDR_BLOCKED, reason = the range's
     * name, and no packet is sent. */
    bool allow_private;
    /* Each phase (connect, banner, ehlo, starttls, handshake, and after
     * TLS ehlo-tls and quit) must end within this many ms of its start:
     * a deadline, not a per-read timeout (DESIGN.md limits).  > 0. */
    int timeout_ms;
    time_t at;                    /* --at: validity dates at this time (0 = now) */
    bool tls_required;            /* host status dane or dane-unusable (RULES T2/T4) */
    /* The whole secure TLSA RRset; probes/tls skips unusable records (T3). */
    const tlsa_record_t *tlsa;
    size_t n_tlsa;
    const char *base_domain;      /* SNI and first reference identifier (A4, A5) */
    const char *const *names;     /* more reference identifiers (A4) */
    size_t n_names;
    bool both_certs;              /* A7: not --one-cert */
    /* Optional: one line per state change, for -v and tests. */
    void (*trace)(void *arg, const char *line);
    void *trace_arg;
} addrprobe_params_t;

typedef struct addrprobe addrprobe_t;
typedef void (*addrprobe_done_t)(void *arg);

/* Start probing p->address.  Everything in p is copied: the caller may
 * free it once this returns.  out is filled in (strings owned by the
 * model, freed by model_domain_free): its address is kept when set (the
 * presentation form is put there when NULL), every other field is
 * overwritten, so pass them empty (as calloc leaves them).  The caller
 * owns out and keeps it alive until done runs or the probe is cancelled.
 *
 * done(arg) runs exactly once, from the loop (never from inside
 * addrprobe_start), when out is complete; the probe has then freed
 * itself, so it must not be touched again.  NULL when p cannot be
 * probed (address not an IP literal, invalid helo, port out of range,
 * no base domain, no timeout) or memory ran out: then out is untouched and done
 * never runs. */
addrprobe_t *addrprobe_start(loop_t *loop, tls_ctx_t *tls, const addrprobe_params_t *p,
                             model_address_t *out, addrprobe_done_t done, void *arg);

/* Stop a probe that has not called done yet, closing its connection; no
 * callback after this.  out keeps what was found so far, with result
 * MODEL_ADDR_SKIPPED and reason "cancelled". */
void addrprobe_cancel(addrprobe_t *probe);

#endif
