/* scan.h - one mail domain, end to end: MX, addresses, TLSA, every address
 * probed, findings and the verdict (RFC 7672 §2 and §3). */
#ifndef DANESCAN_SCAN_H
#define DANESCAN_SCAN_H

#include <stdbool.h>
#include <time.h>

#include "lookup.h"
#include "loop.h"
#include "model.h"
#include "probecache.h"
#include "tls.h"

typedef struct {
    loop_t *loop;
    lookup_ctx_t *lookup;
    tls_ctx_t *tls;
    probecache_t *probes;       /* every address goes through it: shared results */
    int port;
    const char *helo;
    int timeout_ms;             /* per SMTP/TLS phase */
    int domain_timeout_ms;      /* the whole domain; 0: none.  Address probes
                                   still running then time out (domain-deadline),
                                   DNS lookups finish (c-ares bounds them) */
    time_t at;                  /* 0: now */
    bool no_probe;
    bool one_cert;
    bool allow_private;
} scan_config_t;

typedef struct scan scan_t;

/* The model is the callback's to keep (model_domain_free). */
typedef void (*scan_done_t)(void *arg, model_domain_t *result);

/* `domain` is an A-label name without trailing dot.  The callback runs
 * once, from the loop.  NULL when memory ran out. */
scan_t *scan_start(const scan_config_t *config, const char *domain, scan_done_t done, void *arg);

#endif
