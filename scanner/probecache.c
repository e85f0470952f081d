/* probecache.c - one probe per (address, TLSA RRset, names) per run, and
 * the per-destination gate.  See probecache.h. */
#include "probecache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch.h"

/* queued probes look at the gate again this often: a slot may have been
 * freed by another worker, or the rate allows the next connection */
#define GATE_POLL_MS 10
#define DEFAULT_RESULTS 4096
#define DEFAULT_AGE_MS (3600 * 1000)

/* ---------------------------------------------------------------- gate */

typedef struct {
    char address[64];
    int n;
} gate_ip_t;

struct probegate {
    pthread_mutex_t lock;
    int per_ip;
    double rate, tokens;
    struct timespec last;
    gate_ip_t *ips;             /* destinations with connections open */
    size_t n_ips, cap;
};

probegate_t *probegate_new(int per_ip, double rate)
{
    probegate_t *g = calloc(1, sizeof(*g));

    if (g == NULL)
        return NULL;
    pthread_mutex_init(&g->lock, NULL);
    g->per_ip = per_ip;
    g->rate = rate;
    g->tokens = rate >= 1 ? 1 : rate;
    clock_gettime(CLOCK_MONOTONIC, &g->last);
    return g;
}

void probegate_free(probegate_t *g)
{
    if (g == NULL)
        return;
    pthread_mutex_destroy(&g->lock);
    free(g->ips);
    free(g);
}

static gate_ip_t *gate_find(probegate_t *g, const char *address)
{
    for (size_t i = 0; i < g->n_ips; i++)
        if (strcmp(g->ips[i].address, address) == 0)
            return &g->ips[i];
    return NULL;
}

/* A connection to address may start now: a slot is taken. */
bool probegate_acquire(probegate_t *g, const char *address)
{
    gate_ip_t *ip;
    bool ok = false;

    if (g == NULL)
        return true;
    pthread_mutex_lock(&g->lock);
    if (g->rate > 0) {
        /* a token bucket holding one second's worth at most */
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        g->tokens += g->rate * ((double)(now.tv_sec - g->last.tv_sec) +
                                (double)(now.tv_nsec - g->last.tv_nsec) / 1e9);
        if (g->tokens > (g->rate > 1 ? g->rate : 1))
            g->tokens = g->rate > 1 ? g->rate : 1;
        g->last = now;
        if (g->tokens < 1)
            goto out;
    }
    ip = gate_find(g, address);
    if (g->per_ip > 0 && ip != NULL && ip->n >= g->per_ip)
        goto out;
    if (ip == NULL) {
        if (g->n_ips == g->cap) {
            size_t cap = g->cap ? g->cap * 2 : 64;
            gate_ip_t *t = realloc(g->ips, cap * sizeof(*t));
            if (t == NULL)
                goto out;
            g->ips = t;
            g->cap = cap;
        }
        ip = &g->ips[g->n_ips++];
        snprintf(ip->address, sizeof(ip->address), "%s", address);
        ip->n = 0;
    }
    ip->n++;
    if (g->rate > 0)
        g->tokens -= 1;
    ok = true;
out:
    pthread_mutex_unlock(&g->lock);
    return ok;
}

void probegate_release(probegate_t *g, const char *address)
{
    gate_ip_t *ip;

    if (g == NULL)
        return;
    pthread_mutex_lock(&g->lock);
    ip = gate_find(g, address);
    if (ip != NULL && --ip->n <= 0)
        *ip = g->ips[--g->n_ips];
    pthread_mutex_unlock(&g->lock);
}

/* --------------------------------------------------------------- cache */

typedef enum { ENTRY_QUEUED, ENTRY_RUNNING, ENTRY_DONE } entry_state_t;

typedef struct entry entry_t;

struct probecache_wait {
    probecache_t *cache;
    entry_t *entry;             /* NULL once the result is being handed over */
    model_address_t *out;
    addrprobe_done_t done;
    void *arg;
    probecache_wait_t *next;
    loop_timer_t *timer;        /* a finished result, handed over from the loop */
    bool owner;                 /* this caller's probe: its result is not shared */
};

/* The inputs of a probe, copied: a queued probe starts after its caller
 * has moved on. */
typedef struct {
    addrprobe_params_t p;
    tlsa_record_t *tlsa;
    uint8_t **data;
    char **names;
} params_copy_t;

struct entry {
    probecache_t *cache;
    char *key;
    uint64_t hash;
    entry_t *bucket_next;
    entry_t *prev, *next;       /* in the queue (queued) or the results (done) */
    entry_state_t state;
    uint64_t finished_ms;
    params_copy_t params;
    addrprobe_t *probe;
    model_address_t result;
    probecache_wait_t *waiters;
    loop_timer_t *failed;       /* could not start: its waiters are told from the loop */
};

typedef struct {
    entry_t *head, *tail;
    size_t n;
} entry_list_t;

struct probecache {
    loop_t *loop;
    tls_ctx_t *tls;
    probecache_config_t cfg;
    entry_t **buckets;
    size_t n_buckets, n_entries;
    entry_list_t queue, results;
    loop_timer_t *poll;
    unsigned long probes, shared;
};

static void list_append(entry_list_t *l, entry_t *e)
{
    e->next = NULL;
    e->prev = l->tail;
    if (l->tail)
        l->tail->next = e;
    else
        l->head = e;
    l->tail = e;
    l->n++;
}

static void list_remove(entry_list_t *l, entry_t *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        l->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        l->tail = e->prev;
    e->prev = e->next = NULL;
    l->n--;
}

probecache_t *probecache_new(loop_t *loop, tls_ctx_t *tls, const probecache_config_t *config)
{
    probecache_t *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->loop = loop;
    c->tls = tls;
    c->cfg = *config;
    if (c->cfg.max_results == 0)
        c->cfg.max_results = DEFAULT_RESULTS;
    if (c->cfg.max_age_ms == 0)
        c->cfg.max_age_ms = DEFAULT_AGE_MS;
    c->n_buckets = 1024;
    c->buckets = calloc(c->n_buckets, sizeof(*c->buckets));
    if (c->buckets == NULL) {
        free(c);
        return NULL;
    }
    return c;
}

static void params_free(params_copy_t *pc)
{
    for (size_t i = 0; pc->data && i < pc->p.n_tlsa; i++)
        free(pc->data[i]);
    free(pc->data);
    free(pc->tlsa);
    for (size_t i = 0; pc->names && i < pc->p.n_names; i++)
        free(pc->names[i]);
    free(pc->names);
    free((char *)pc->p.address);
    free((char *)pc->p.helo);
    free((char *)pc->p.base_domain);
}

static int params_copy(params_copy_t *pc, const addrprobe_params_t *p)
{
    *pc = (params_copy_t){.p = *p};
    pc->p.address = strdup(p->address);
    pc->p.helo = strdup(p->helo);
    pc->p.base_domain = strdup(p->base_domain);
    pc->p.trace = NULL;
    pc->tlsa = calloc(p->n_tlsa + 1, sizeof(*pc->tlsa));
    pc->data = calloc(p->n_tlsa + 1, sizeof(*pc->data));
    pc->names = calloc(p->n_names + 1, sizeof(*pc->names));
    if (!pc->p.address || !pc->p.helo || !pc->p.base_domain || !pc->tlsa || !pc->data ||
        !pc->names)
        return -1;
    for (size_t i = 0; i < p->n_tlsa; i++) {
        pc->tlsa[i] = p->tlsa[i];
        pc->data[i] = malloc(p->tlsa[i].data_len + 1);
        if (pc->data[i] == NULL)
            return -1;
        memcpy(pc->data[i], p->tlsa[i].data, p->tlsa[i].data_len);
        pc->tlsa[i].data = pc->data[i];
    }
    for (size_t i = 0; i < p->n_names; i++)
        if ((pc->names[i] = strdup(p->names[i])) == NULL)
            return -1;
    pc->p.tlsa = pc->tlsa;
    pc->p.names = (const char *const *)pc->names;
    return 0;
}

static int compare_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Everything a probe's result depends on, as one string.  The TLSA
 * records are sorted (servers rotate RRsets); the reference names count
 * only when a DANE-TA record makes the probe check names (RULES A4/A5:
 * DANE-EE ignores them). */
static char *probe_key(const addrprobe_params_t *p)
{
    char **recs = calloc(p->n_tlsa + 1, sizeof(*recs));
    size_t len = 0, n_recs = 0;
    bool names = false;
    char *key = NULL, *w;

    if (recs == NULL)
        return NULL;
    for (size_t i = 0; i < p->n_tlsa; i++) {
        const tlsa_record_t *t = &p->tlsa[i];
        char *r = malloc(16 + 2 * t->data_len);
        if (r == NULL)
            goto out;
        w = r + sprintf(r, "%u %u %u ", t->usage, t->selector, t->mtype);
        for (size_t k = 0; k < t->data_len; k++)
            w += sprintf(w, "%02x", t->data[k]);
        recs[n_recs++] = r;
        len += strlen(r) + 1;
        names |= t->usage == 2;
    }
    qsort(recs, n_recs, sizeof(*recs), compare_str);
    for (size_t i = 0; names && i < p->n_names; i++)
        len += strlen(p->names[i]) + 1;
    len += strlen(p->address) + strlen(p->helo) + strlen(p->base_domain) + 128;
    key = malloc(len);
    if (key == NULL)
        goto out;
    w = key + sprintf(key, "%s|%d|%s|%s|%d%d%d|%lld|%d|", p->address, p->port, p->helo,
                      p->base_domain, p->tls_required, p->both_certs, p->allow_private,
                      (long long)p->at, p->timeout_ms);
    for (size_t i = 0; names && i < p->n_names; i++)
        w += sprintf(w, "%s,", p->names[i]);
    for (size_t i = 0; i < n_recs; i++)
        w += sprintf(w, "|%s", recs[i]);
out:
    for (size_t i = 0; i < n_recs; i++)
        free(recs[i]);
    free(recs);
    return key;
}

static entry_t **bucket_of(probecache_t *c, uint64_t hash)
{
    return &c->buckets[hash & (c->n_buckets - 1)];
}

static entry_t *entry_find(probecache_t *c, const char *key, uint64_t hash)
{
    for (entry_t *e = *bucket_of(c, hash); e; e = e->bucket_next)
        if (e->hash == hash && strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

static void entry_unlink(probecache_t *c, entry_t *e)
{
    for (entry_t **pp = bucket_of(c, e->hash); *pp; pp = &(*pp)->bucket_next)
        if (*pp == e) {
            *pp = e->bucket_next;
            c->n_entries--;
            return;
        }
}

static void entry_free(entry_t *e)
{
    params_free(&e->params);
    model_address_clear(&e->result);
    free(e->key);
    free(e);
}

static void grow(probecache_t *c)
{
    size_t n = c->n_buckets * 2;
    entry_t **b = calloc(n, sizeof(*b));

    if (b == NULL)
        return;                 /* longer chains, still correct */
    for (size_t i = 0; i < c->n_buckets; i++)
        for (entry_t *e = c->buckets[i], *next; e; e = next) {
            next = e->bucket_next;
            e->bucket_next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    free(c->buckets);
    c->buckets = b;
    c->n_buckets = n;
}

/* The finished result of e into one waiter's out. */
static void copy_result(probecache_t *c, const entry_t *e, probecache_wait_t *w)
{
    char *address = w->out->address;

    w->out->address = NULL;
    if (model_address_copy(w->out, &e->result) != 0) {
        model_address_clear(w->out);
        w->out->result = MODEL_ADDR_CONNECT_FAILED;
        w->out->reason = strdup("out of memory");
    }
    if (address != NULL) {
        free(w->out->address);
        w->out->address = address;
    }
    w->out->shared = !w->owner;
    c->shared += !w->owner;
}

static void start_queued(probecache_t *c);

static void on_probe_done(void *arg)
{
    entry_t *e = arg;
    probecache_t *c = e->cache;
    probecache_wait_t *waiters = e->waiters;

    e->probe = NULL;
    probegate_release(c->cfg.gate, e->params.p.address);
    e->state = ENTRY_DONE;
    e->finished_ms = loop_now_ms(c->loop);
    e->waiters = NULL;
    list_append(&c->results, e);
    while (c->results.n > c->cfg.max_results) {
        entry_t *old = c->results.head;
        list_remove(&c->results, old);
        entry_unlink(c, old);
        if (old == e)
            e = NULL;           /* kept only for the waiters below */
        else
            entry_free(old);
    }
    /* the waiters' callbacks may start new probes: the list is ours now */
    while (waiters != NULL) {
        probecache_wait_t *w = waiters;
        waiters = w->next;
        copy_result(c, e != NULL ? e : arg, w);
        w->done(w->arg);
        free(w);
    }
    if (e == NULL)
        entry_free(arg);
    start_queued(c);
}

static void on_failed(loop_t *loop, void *arg)
{
    entry_t *e = arg;

    (void)loop;
    e->failed = NULL;
    on_probe_done(e);
}

/* The gate let e through. */
static void start_entry(probecache_t *c, entry_t *e)
{
    e->state = ENTRY_RUNNING;
    e->probe = addrprobe_start(c->loop, c->tls, &e->params.p, &e->result, on_probe_done, e);
    if (e->probe != NULL) {
        c->probes++;
        return;
    }
    /* the parameters were checked before: memory ran out */
    model_address_clear(&e->result);
    e->result.result = MODEL_ADDR_CONNECT_FAILED;
    e->result.reason = strdup("out of memory");
    e->failed = loop_timer_add(c->loop, 0, on_failed, e);
    if (e->failed == NULL) {
        /* not even that: leave it queued, the poll tries again */
        probegate_release(c->cfg.gate, e->params.p.address);
        e->state = ENTRY_QUEUED;
        list_append(&c->queue, e);
    }
}

static void on_poll(loop_t *loop, void *arg)
{
    probecache_t *c = arg;

    (void)loop;
    c->poll = NULL;
    start_queued(c);
}

/* Start every queued probe the gate lets through, oldest first. */
static void start_queued(probecache_t *c)
{
    size_t n = c->queue.n;

    /* each queued entry is looked at once: one that goes back stays put */
    for (entry_t *e = c->queue.head, *next; e && n > 0; e = next, n--) {
        next = e->next;
        if (!probegate_acquire(c->cfg.gate, e->params.p.address))
            continue;
        list_remove(&c->queue, e);
        start_entry(c, e);
    }
    if (c->queue.n > 0 && c->poll == NULL)
        c->poll = loop_timer_add(c->loop, GATE_POLL_MS, on_poll, c);
}

static void on_cached(loop_t *loop, void *arg)
{
    probecache_wait_t *w = arg;

    (void)loop;
    w->done(w->arg);
    free(w);
}

probecache_wait_t *probecache_probe(probecache_t *c, const addrprobe_params_t *p,
                                    model_address_t *out, addrprobe_done_t done, void *arg)
{
    probecache_wait_t *w;
    entry_t *e;
    char *key;
    uint64_t hash;

    if (p->address == NULL || p->helo == NULL || p->base_domain == NULL || p->timeout_ms <= 0)
        return NULL;
    if ((key = probe_key(p)) == NULL)
        return NULL;
    hash = batch_hash(key);
    e = entry_find(c, key, hash);
    if (e != NULL && e->state == ENTRY_DONE &&
        loop_now_ms(c->loop) - e->finished_ms > c->cfg.max_age_ms) {
        /* too old to stand for the server now: probe again */
        list_remove(&c->results, e);
        entry_unlink(c, e);
        entry_free(e);
        e = NULL;
    }
    w = calloc(1, sizeof(*w));
    if (w == NULL) {
        free(key);
        return NULL;
    }
    *w = (probecache_wait_t){.cache = c, .out = out, .done = done, .arg = arg};
    if (e != NULL) {
        free(key);
        w->entry = e;
        if (e->state != ENTRY_DONE) {
            w->next = e->waiters;
            e->waiters = w;
            return w;
        }
        /* copied now (the entry may be evicted before the loop comes
         * round), handed over from the loop */
        w->timer = loop_timer_add(c->loop, 0, on_cached, w);
        if (w->timer == NULL) {
            free(w);
            return NULL;
        }
        w->entry = NULL;
        copy_result(c, e, w);
        /* most recently used: it moves to the young end of the results */
        list_remove(&c->results, e);
        list_append(&c->results, e);
        return w;
    }
    e = calloc(1, sizeof(*e));
    if (e == NULL || params_copy(&e->params, p) != 0) {
        if (e != NULL)
            params_free(&e->params);
        free(e);
        free(key);
        free(w);
        return NULL;
    }
    e->cache = c;
    e->key = key;
    e->hash = hash;
    e->state = ENTRY_QUEUED;
    e->waiters = w;
    w->entry = e;
    w->owner = true;
    if (c->n_entries >= c->n_buckets)
        grow(c);
    e->bucket_next = *bucket_of(c, hash);
    *bucket_of(c, hash) = e;
    c->n_entries++;
    list_append(&c->queue, e);
    start_queued(c);
    return w;
}

void probecache_cancel(probecache_wait_t *w, const char *reason)
{
    probecache_t *c = w->cache;
    entry_t *e = w->entry;

    if (w->timer != NULL) {
        loop_timer_cancel(c->loop, w->timer);
    } else if (e != NULL) {
        /* the probe goes on for the others, and for the cache */
        for (probecache_wait_t **pp = &e->waiters; *pp; pp = &(*pp)->next)
            if (*pp == w) {
                *pp = w->next;
                break;
            }
        if (e->waiters == NULL && e->state == ENTRY_QUEUED) {
            list_remove(&c->queue, e);
            entry_unlink(c, e);
            entry_free(e);
        }
    }
    w->out->result = MODEL_ADDR_TIMEOUT;
    free(w->out->reason);
    w->out->reason = strdup(reason);
    free(w);
}

void probecache_stats(const probecache_t *c, unsigned long *probes, unsigned long *shared)
{
    *probes = c->probes;
    *shared = c->shared;
}

void probecache_free(probecache_t *c)
{
    if (c == NULL)
        return;
    loop_timer_cancel(c->loop, c->poll);
    for (size_t i = 0; i < c->n_buckets; i++)
        for (entry_t *e = c->buckets[i], *next; e; e = next) {
            next = e->bucket_next;
            loop_timer_cancel(c->loop, e->failed);
            if (e->probe != NULL) {
                addrprobe_cancel(e->probe);
                probegate_release(c->cfg.gate, e->params.p.address);
            }
            for (probecache_wait_t *w = e->waiters, *wn; w; w = wn) {
                wn = w->next;
                free(w);
            }
            entry_free(e);
        }
    free(c->buckets);
    free(c);
}
