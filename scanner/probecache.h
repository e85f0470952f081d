/* probecache.h - each MX address probed once per run, politely.
 *
 * Many domains share MX hosts (one hoster serves over a million DANE
 * domains).  What a probe finds depends only on what it is given: the
 * address and port, the EHLO name, the SNI (TLSA base domain), the TLSA
 * RRset, whether TLS is required, the validity time and, when a DANE-TA
 * record asks for name checks, the reference names.  A probe with the
 * same inputs as one already made (or in flight) is not made again: its
 * result is copied, marked shared (DESIGN.md "Caches").
 *
 * The probes that do go out pass a gate shared by every worker: at most
 * `per_ip` connections to one destination address at once (DESIGN.md
 * limits: 5) and, optionally, at most `rate` new connections a second.
 */
#ifndef DANESCAN_PROBECACHE_H
#define DANESCAN_PROBECACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addrprobe.h"
#include "loop.h"
#include "tls.h"

/* ---- the gate (thread-safe, one per run) ----------------------------- */

typedef struct probegate probegate_t;

/* per_ip 0: no limit; rate 0: no limit.  NULL when memory ran out. */
probegate_t *probegate_new(int per_ip, double rate);
void probegate_free(probegate_t *gate);

/* May a connection to address start now?  true takes a slot, which
 * probegate_release gives back.  (The cache calls these; so do tests.) */
bool probegate_acquire(probegate_t *gate, const char *address);
void probegate_release(probegate_t *gate, const char *address);

/* ---- the cache (one per event loop) ---------------------------------- */

typedef struct {
    probegate_t *gate;          /* NULL: no limits */
    size_t max_results;         /* finished results kept; 0: 4096 */
    uint64_t max_age_ms;        /* results reused while younger; 0: one hour */
} probecache_config_t;

typedef struct probecache probecache_t;
typedef struct probecache_wait probecache_wait_t;

probecache_t *probecache_new(loop_t *loop, tls_ctx_t *tls, const probecache_config_t *config);

/* Only when no probe is waited for any more: after every done ran or
 * was cancelled. */
void probecache_free(probecache_t *cache);

/* As addrprobe_start (same contract for p, out and done), except that
 * the result may come from another domain's probe (out->shared) and the
 * connection may wait for the gate.  NULL when p cannot be probed or
 * memory ran out: out untouched, done never runs. */
probecache_wait_t *probecache_probe(probecache_t *cache, const addrprobe_params_t *p,
                                    model_address_t *out, addrprobe_done_t done, void *arg);

/* Stop waiting: done will not run; out gets result timeout with `reason`.
 * The probe itself goes on for the others waiting for it. */
void probecache_cancel(probecache_wait_t *wait, const char *reason);

/* Probes made over the network, and results shared instead. */
void probecache_stats(const probecache_t *cache, unsigned long *probes, unsigned long *shared);

#endif
