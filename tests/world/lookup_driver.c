/* lookup_driver.c - danescan's lookups, one per input line, all in flight
 * at once on one loop, for tests/world/lookup_agree.py.
 *
 *     lookup_driver RESOLVER TRUST_ANCHOR < "name type" lines
 *
 * prints "name type status answer ede" per line, in input order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns.h"
#include "dnssec.h"
#include "lookup.h"
#include "loop.h"

#define MAX_LOOKUPS 20000

typedef struct {
    char name[300], type[16];
    char result[128];
} item_t;

static loop_t *loop;
static dns_client_t *dns;
static size_t pending;

static void on_fd(loop_t *l, int fd, unsigned events, void *arg)
{
    (void)l;
    (void)arg;
    dns_client_process_fd(dns, fd, events & LOOP_READ, events & LOOP_WRITE);
}

static void watch(void *arg, int fd, bool readable, bool writable)
{
    (void)arg;
    loop_watch(loop, fd, (readable ? LOOP_READ : 0) | (writable ? LOOP_WRITE : 0), on_fd, NULL);
}

static void tick(loop_t *l, void *arg)
{
    dns_client_process_timeouts(dns);
    if (pending > 0)
        loop_timer_add(l, 10, tick, arg);
}

static void done(void *arg, const lookup_result_t *r)
{
    static const char *const answers[] = {"failed", "data", "nodata", "nxdomain"};
    item_t *it = arg;
    snprintf(it->result, sizeof(it->result), "%s %s %d", model_dnssec_name(r->status),
             answers[r->answer], r->ede);
    if (--pending == 0)
        loop_stop(loop);
}

int main(int argc, char **argv)
{
    static item_t items[MAX_LOOKUPS];
    size_t n = 0;
    char line[400], err[256];
    dnssec_anchors_t *anchors;
    dnssec_cache_t *cache;
    lookup_ctx_t *ctx;

    if (argc != 3) {
        fprintf(stderr, "usage: lookup_driver RESOLVER TRUST_ANCHOR < lines\n");
        return 2;
    }
    loop = loop_new();
    dns_config_t config = {.servers = argv[1], .cd = true};
    dns_io_t io = {.watch = watch};
    dns = dns_client_new(&config, &io, err, sizeof(err));
    anchors = dnssec_anchors_load(argv[2], err, sizeof(err));
    if (dns == NULL || anchors == NULL) {
        fprintf(stderr, "lookup_driver: %s\n", err);
        return 2;
    }
    cache = dnssec_cache_new(1000);
    ctx = lookup_ctx_new(dns, anchors, cache, time(NULL));
    while (n < MAX_LOOKUPS && fgets(line, sizeof(line), stdin) != NULL) {
        item_t *it = &items[n];
        ldns_rr_type type;
        if (sscanf(line, "%299s %15s", it->name, it->type) != 2)
            continue;
        type = ldns_get_rr_type_by_name(it->type);
        snprintf(it->result, sizeof(it->result), "not-started");
        n++;
        if (type != 0 && lookup_start(ctx, it->name, type, done, it) == 0)
            pending++;
    }
    loop_timer_add(loop, 0, tick, NULL);
    loop_run(loop);
    for (size_t i = 0; i < n; i++)
        printf("%s %s %s\n", items[i].name, items[i].type, items[i].result);
    printf("# queries %lu, shared %lu\n", lookup_ctx_queries(ctx), lookup_ctx_shared(ctx));
    lookup_ctx_free(ctx);
    dns_client_free(dns);
    dnssec_cache_free(cache);
    dnssec_anchors_free(anchors);
    loop_free(loop);
    return 0;
}
