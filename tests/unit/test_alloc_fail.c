/* test_alloc_fail.c - every parser against running out of memory.
 *
 *     test_alloc_fail DATA_DIR        (tests/unit/data/dnssec)
 *
 * For each operation (SMTP reply/EHLO parsing, TLSA RDATA, DNS answer
 * parsing + DNSSEC validation over the canned zones of test_dnssec,
 * trust-anchor parsing, the domain-line parser) it runs the operation
 * once to warm up, once counting the allocations it makes (count), then
 * once for every N in 1..count with the N-th allocation failing, and
 * asserts each time: no crash, an outcome that is either the right one or
 * a clean error (never a different verdict), and no leak (every block
 * allocated during the run is freed by its end).
 *
 * Two things OpenSSL 3.0 does are let through, and counted: an allocation
 * of its own that fails without a word in its error queue can make a key
 * not import or a signature not verify, which reads as bogus (fail-closed,
 * never secure or insecure); and an algorithm fetch that fails half-way
 * leaves its pieces in OpenSSL's global stores until OPENSSL_cleanup.
 *
 * The counting allocator replaces malloc, calloc, realloc and free for
 * the whole process (glibc supports this; its own functions such as
 * strdup and fopen then use it, and so do ldns, OpenSSL and libidn2,
 * which allocate through malloc).  It forwards to glibc's allocator,
 * found with dlsym(RTLD_NEXT).  It cannot work under ASan, which has its
 * own allocator: tests/meson.build builds this test only without
 * sanitizers (the ASan build covers leaks its own way).
 *
 * Each failing run is a child process, so a crash is reported (with N)
 * and the next N runs.  ALLOC_FAIL_TRAP=case:N aborts at the N-th
 * allocation of that case's counting run, for a debugger's backtrace;
 * ALLOC_FAIL_ONLY=case runs that case alone; ALLOC_FAIL_WHERE=1 prints
 * where the allocation that failed was made when a run goes wrong.
 */
#define main test_dnssec_main
int test_dnssec_main(int argc, char **argv);
#include "test_dnssec.c"
#undef main

#include <dlfcn.h>
#include <elf.h>
#include <execinfo.h>
#include <link.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dns_int.h"
#include "runner.h"
#include "smtp.h"
#include "tlsa.h"

/* ==== the allocator ==================================================== */

/* dlsym may allocate before it has found malloc: that comes from here. */
static unsigned char alloc_boot[16384];
static size_t alloc_boot_used;
static int alloc_resolving;

/* Where libcrypto's code is (alloc_in_crypto). */
static uintptr_t crypto_text_lo, crypto_text_hi;

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);

/* Blocks born while armed, in an open-addressing table; a slot belongs to
 * the current run only when its generation is the run's. */
#define ALLOC_SLOTS (1u << 17)
#define ALLOC_TOMBSTONE ((void *)1)

typedef struct {
    void *p;
    size_t size;
    unsigned long serial;   /* which allocation of the run made it */
    unsigned gen;
} alloc_slot_t;

static alloc_slot_t alloc_slots[ALLOC_SLOTS];
static unsigned alloc_gen;
static bool alloc_armed;        /* counting and tracking */
static bool alloc_paused;       /* armed, but the harness itself is allocating */
static unsigned long alloc_calls; /* allocation calls while armed */
static unsigned long alloc_fail_at; /* fail this call (1-based); 0: none */
static unsigned long alloc_trap;  /* abort at this call of the counting run */
static bool alloc_failed;       /* the injected failure happened */
#define ALLOC_FRAMES 32
static void *alloc_fail_frames[ALLOC_FRAMES]; /* where it happened */
static int alloc_fail_depth;
static long alloc_live;

static void *boot_alloc(size_t n)
{
    void *p;

    n = (n + 15) & ~(size_t)15;
    if (alloc_boot_used + n > sizeof(alloc_boot))
        return NULL;
    p = alloc_boot + alloc_boot_used;
    alloc_boot_used += n;
    return p;
}

static bool is_boot(const void *p)
{
    return (const unsigned char *)p >= alloc_boot &&
           (const unsigned char *)p < alloc_boot + sizeof(alloc_boot);
}

static void alloc_resolve(void)
{
    alloc_resolving = 1;
    /* POSIX's way to store a function pointer dlsym returns (ISO C has none) */
    *(void **)&real_malloc = dlsym(RTLD_NEXT, "malloc");
    *(void **)&real_calloc = dlsym(RTLD_NEXT, "calloc");
    *(void **)&real_realloc = dlsym(RTLD_NEXT, "realloc");
    *(void **)&real_free = dlsym(RTLD_NEXT, "free");
    alloc_resolving = 0;
    if (!real_malloc || !real_calloc || !real_realloc || !real_free)
        abort();
}

static size_t slot_of(const void *p)
{
    uintptr_t h = (uintptr_t)p >> 4;
    return (size_t)((h ^ (h >> 17)) * 2654435761u) & (ALLOC_SLOTS - 1);
}

static void track(void *p, size_t size)
{
    size_t i = slot_of(p);

    for (size_t n = 0; n < ALLOC_SLOTS; n++, i = (i + 1) & (ALLOC_SLOTS - 1)) {
        alloc_slot_t *s = &alloc_slots[i];
        if (s->gen != alloc_gen || s->p == ALLOC_TOMBSTONE) {
            *s = (alloc_slot_t){p, size, alloc_calls, alloc_gen};
            alloc_live++;
            return;
        }
    }
    abort(); /* more live blocks than slots */
}

/* Forget p; false when it was not born in this run. */
static bool untrack(const void *p)
{
    size_t i = slot_of(p);

    for (size_t n = 0; n < ALLOC_SLOTS; n++, i = (i + 1) & (ALLOC_SLOTS - 1)) {
        alloc_slot_t *s = &alloc_slots[i];
        if (s->gen != alloc_gen)
            return false;
        if (s->p == p) {
            s->p = ALLOC_TOMBSTONE;
            alloc_live--;
            return true;
        }
    }
    return false;
}

/* One more allocation call: false when this is the one to fail. */
static bool alloc_allowed(void)
{
    if (!alloc_armed || alloc_paused)
        return true;
    alloc_calls++;
    if (alloc_calls == alloc_trap)
        abort();
    if (alloc_calls == alloc_fail_at) {
        alloc_failed = true;
        alloc_paused = true;
        alloc_fail_depth = backtrace(alloc_fail_frames, ALLOC_FRAMES);
        alloc_paused = false;
        return false;
    }
    return true;
}

void *malloc(size_t n)
{
    void *p;

    if (!real_malloc) {
        if (alloc_resolving)
            return boot_alloc(n);
        alloc_resolve();
    }
    if (!alloc_allowed())
        return NULL;
    p = real_malloc(n);
    if (p && alloc_armed)
        track(p, n);
    return p;
}

void *calloc(size_t n, size_t m)
{
    void *p;

    if (!real_calloc) {
        if (alloc_resolving)
            return boot_alloc(n * m); /* static: already zero */
        alloc_resolve();
    }
    if (!alloc_allowed())
        return NULL;
    p = real_calloc(n, m);
    if (p && alloc_armed)
        track(p, n * m);
    return p;
}

void *realloc(void *old, size_t n)
{
    void *p;
    bool tracked;

    if (!real_realloc)
        alloc_resolve();
    if (old == NULL)
        return malloc(n);
    if (is_boot(old))
        abort(); /* nothing grows the bootstrap blocks */
    if (n == 0) {
        /* glibc frees the block */
        if (alloc_armed)
            untrack(old);
        return real_realloc(old, 0);
    }
    if (!alloc_allowed())
        return NULL; /* old stays valid */
    tracked = alloc_armed && untrack(old);
    p = real_realloc(old, n);
    if (p == NULL && tracked)
        track(old, n);
    else if (p != NULL && tracked)
        track(p, n);
    return p;
}

void free(void *p)
{
    if (p == NULL || is_boot(p))
        return;
    if (!real_free)
        alloc_resolve();
    if (alloc_armed)
        untrack(p);
    real_free(p);
}

/* ==== the harness ====================================================== */

typedef enum {
    OUTCOME_RIGHT,      /* what the run without failures gives */
    OUTCOME_CLEAN,      /* a clean error: out of memory said as such */
    OUTCOME_STRICTER,   /* a failure verdict (bogus) where the right one is not */
    OUTCOME_WRONG,      /* anything else: a different verdict */
} outcome_t;

static int find_crypto(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    (void)arg;
    if (!strstr(info->dlpi_name, "libcrypto.so"))
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            crypto_text_lo = info->dlpi_addr + ph->p_vaddr;
            crypto_text_hi = crypto_text_lo + ph->p_memsz;
        }
    }
    return 1;
}

/* The allocation that failed was asked for by OpenSSL itself, and... */
static bool failed_in_crypto(void)
{
    /* frames: alloc_allowed, malloc/calloc/realloc, then the caller */
    for (int i = 1; i < 3 && i < alloc_fail_depth; i++)
        if ((uintptr_t)alloc_fail_frames[i] >= crypto_text_lo &&
            (uintptr_t)alloc_fail_frames[i] < crypto_text_hi)
            return true;
    return false;
}

/* ...inside one of its fetches of an algorithm (which copy names with
 * CRYPTO_strndup), which keep what they made in OpenSSL's global stores
 * when they fail half-way. */
static bool failed_in_fetch(void)
{
    for (int i = 0; i < alloc_fail_depth; i++) {
        Dl_info info;
        size_t len;

        if (!dladdr(alloc_fail_frames[i], &info) || !info.dli_sname)
            continue;
        len = strlen(info.dli_sname);
        if ((len > 6 && strcmp(info.dli_sname + len - 6, "_fetch") == 0) ||
            (i <= 3 && strcmp(info.dli_sname, "CRYPTO_strndup") == 0))
            return true;
    }
    return false;
}

typedef struct {
    const char *name;
    outcome_t (*op)(const void *arg, char *what, size_t whatlen);
    const void *arg;
} alloc_case_t;

static void arm(unsigned long fail_at)
{
    alloc_gen++;
    alloc_calls = 0;
    alloc_live = 0;
    alloc_fail_at = fail_at;
    alloc_failed = false;
    alloc_paused = false;
    alloc_armed = true;
}

/* End the run: OpenSSL's per-thread error state is freed here, inside
 * the run (an error raised under the failure allocates it), and nothing
 * the harness does now can fail. */
static long disarm(void)
{
    long live;

    alloc_paused = true;
    ERR_clear_error();
    OPENSSL_thread_stop();
    live = alloc_live;
    alloc_armed = false;
    return live;
}

/* What one run with a failing allocation found, sent from the child. */
typedef struct {
    outcome_t outcome;
    bool failed;            /* the failing allocation came */
    bool in_crypto;         /* it was OpenSSL's */
    bool in_fetch;          /* in an algorithm fetch of OpenSSL's */
    long live;              /* blocks left over */
    unsigned long leaked[3]; /* which allocations made some of them */
    char what[400];
} alloc_report_t;

static void leaked_serials(alloc_report_t *r)
{
    int shown = 0;

    for (size_t i = 0; i < ALLOC_SLOTS && shown < 3; i++) {
        const alloc_slot_t *s = &alloc_slots[i];
        if (s->gen == alloc_gen && s->p != ALLOC_TOMBSTONE)
            r->leaked[shown++] = s->serial;
    }
}

/* ALLOC_FAIL_WHERE=1: a child that goes wrong prints the call stack of
 * the allocation that failed (symbols of shared libraries; addr2line for
 * the rest). */
static void show_failure_site(const char *what)
{
    static const char head[] = "--- the allocation that failed, before: ";

    if (!getenv("ALLOC_FAIL_WHERE"))
        return;
    if (write(STDERR_FILENO, head, sizeof(head) - 1) < 0 ||
        write(STDERR_FILENO, what, strlen(what)) < 0 || write(STDERR_FILENO, "\n", 1) < 0)
        return;
    backtrace_symbols_fd(alloc_fail_frames, alloc_fail_depth, STDERR_FILENO);
}

static void on_child_crash(int sig)
{
    show_failure_site(sig == SIGABRT ? "abort" : "crash");
    signal(sig, SIG_DFL);
    raise(sig);
}

/* One run with allocation n failing, in a child process so that a crash
 * is reported, not the end of the test; its report comes through *fd. */
static pid_t alloc_run_start(const alloc_case_t *c, unsigned long n, int *fd)
{
    int fds[2];
    pid_t pid;

    fflush(NULL);
    if (pipe(fds) != 0 || (pid = fork()) < 0) {
        perror("pipe/fork");
        exit(2);
    }
    if (pid == 0) {
        alloc_report_t r;

        memset(&r, 0, sizeof(r));
        close(fds[0]);
        signal(SIGSEGV, on_child_crash);
        signal(SIGABRT, on_child_crash);
        signal(SIGBUS, on_child_crash);
        arm(n);
        r.outcome = c->op(c->arg, r.what, sizeof(r.what));
        r.live = disarm();
        r.failed = alloc_failed;
        r.in_crypto = alloc_failed && failed_in_crypto();
        r.in_fetch = alloc_failed && failed_in_fetch();
        leaked_serials(&r);
        if (r.outcome >= OUTCOME_STRICTER || r.live != 0)
            show_failure_site(r.outcome >= OUTCOME_STRICTER ? "wrong outcome" : "leak");
        /* the report is smaller than a pipe's buffer: no reader needed yet */
        _exit(write(fds[1], &r, sizeof(r)) == (ssize_t)sizeof(r) ? 0 : 1);
    }
    close(fds[1]);
    *fd = fds[0];
    return pid;
}

/* The report of a child that ended; false: it crashed (signal *sig). */
static bool alloc_run_finish(int fd, int status, alloc_report_t *r, int *sig)
{
    ssize_t got = read(fd, r, sizeof(*r));

    close(fd);
    *sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    return got == (ssize_t)sizeof(*r) && !WIFSIGNALED(status);
}

static unsigned long trap_for(const char *name)
{
    const char *t = getenv("ALLOC_FAIL_TRAP");
    size_t len = strlen(name);

    if (t && strncmp(t, name, len) == 0 && t[len] == ':')
        return strtoul(t + len + 1, NULL, 10);
    return 0;
}

static const char *const outcome_names[] = {"right", "clean error", "stricter", "WRONG"};

/* At most this many failures are printed per case (all are counted). */
#define ALLOC_SHOW 6
#define ALLOC_JOBS 8

static size_t alloc_jobs(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n < 1 ? 1 : n > ALLOC_JOBS ? ALLOC_JOBS : (size_t)n;
}

/* The case, counted, then failed at every allocation. */
static void alloc_case_run(const alloc_case_t *c)
{
    char what[512];
    unsigned long count, clean = 0, right = 0, bad = 0, hidden = 0, kept = 0;
    outcome_t o;
    long live;

    backtrace(alloc_fail_frames, ALLOC_FRAMES); /* loads libgcc's unwinder now */
    c->op(c->arg, what, sizeof(what)); /* warm up: one-time library set-up */
    disarm();

    alloc_trap = trap_for(c->name);
    arm(0);
    o = c->op(c->arg, what, sizeof(what));
    live = disarm();
    alloc_trap = 0;
    count = alloc_calls;
    CHECK(o == OUTCOME_RIGHT, "%s: without failures: %s (%s)", c->name, outcome_names[o], what);
    CHECK(live == 0, "%s: without failures: %ld blocks leaked", c->name, live);
    CHECK(count > 0, "%s: no allocation counted: the allocator is not in use", c->name);

    /* children in flight, one per processor (at most ALLOC_JOBS) */
    struct {
        pid_t pid;
        int fd;
        unsigned long n;
    } jobs[ALLOC_JOBS];
    size_t running = 0, width = alloc_jobs();
    unsigned long next = 1;

    while (next <= count || running > 0) {
        alloc_report_t r;
        int sig, status;
        pid_t pid;
        size_t k;
        unsigned long n;
        bool ok, stricter_ok, kept_ok, good;

        while (next <= count && running < width) {
            jobs[running].n = next;
            jobs[running].pid = alloc_run_start(c, next++, &jobs[running].fd);
            running++;
        }
        pid = waitpid(-1, &status, 0);
        for (k = 0; k < running && jobs[k].pid != pid; k++)
            ;
        if (k == running)
            continue; /* not one of ours */
        n = jobs[k].n;
        ok = alloc_run_finish(jobs[k].fd, status, &r, &sig);
        jobs[k] = jobs[--running];
        /* OpenSSL 3.0 does not always say that an allocation failed: a
         * key that did not import, a signature that did not verify for
         * want of memory, read as bogus (fail-closed, never secure) */
        stricter_ok = r.outcome == OUTCOME_STRICTER && r.in_crypto;
        /* and a fetch that failed half-way leaves its pieces in OpenSSL's
         * global stores, where they stay until OPENSSL_cleanup */
        kept_ok = r.live > 0 && r.in_fetch;
        good = ok && r.failed && (r.outcome <= OUTCOME_CLEAN || stricter_ok) &&
               (r.live == 0 || kept_ok);
        if (good) {
            clean += r.outcome == OUTCOME_CLEAN;
            right += r.outcome == OUTCOME_RIGHT;
            hidden += stricter_ok;
            kept += kept_ok;
            check_passed++;
            continue;
        }
        check_failed++;
        if (++bad > ALLOC_SHOW)
            continue;
        if (!ok)
            fprintf(stderr, "FAIL: %s, allocation %lu of %lu failing: crashed (signal %d)\n",
                    c->name, n, count, sig);
        else if (!r.failed)
            fprintf(stderr, "FAIL: %s: allocation %lu of %lu never came\n", c->name, n, count);
        else
            fprintf(stderr, "FAIL: %s, allocation %lu of %lu failing: %s%s (%s); %ld blocks leaked"
                    " (from allocations %lu %lu %lu)\n", c->name, n, count,
                    outcome_names[r.outcome], r.outcome >= OUTCOME_STRICTER ? " outcome" : "", r.what,
                    r.live, r.leaked[0], r.leaked[1], r.leaked[2]);
    }
    printf("  %-30s %5lu allocations: %5lu clean errors, %4lu right anyway, %3lu bogus unsaid by "
           "OpenSSL, %2lu kept by OpenSSL, %lu failed\n", c->name, count, clean, right, hidden, kept,
           bad);
}

/* ==== SMTP: the reply and EHLO parsers through a whole session ========= */

static const char *const smtp_dialogue[] = {
    "220 mx.example.org ESMTP\r\n",
    ("250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n"
     "250 8BITMIME\r\n"),
    "220 2.0.0 Ready to start TLS\r\n",
    "250-mx.example.org\r\n250 SIZE 10240000\r\n",
    "221 2.0.0 Bye\r\n",
};

static outcome_t op_smtp(const void *arg, char *what, size_t whatlen)
{
    smtp_session_t *s = smtp_session_new("client.example.net");
    smtp_reply_t reply;
    smtp_ehlo_t ehlo;
    size_t used, next = 0, len;
    smtp_want_t want;
    smtp_error_t err;
    outcome_t o;

    (void)arg;
    /* the parsers on their own allocate nothing */
    smtp_reply_init(&reply);
    smtp_ehlo_init(&ehlo);
    err = smtp_reply_parse(&reply, &ehlo, (const uint8_t *)smtp_dialogue[1],
                           strlen(smtp_dialogue[1]), &used);
    if (err != SMTP_OK || !reply.complete || !ehlo.starttls) {
        snprintf(what, whatlen, "EHLO reply: %s", smtp_error_name(err));
        smtp_session_free(s);
        return OUTCOME_WRONG;
    }
    if (s == NULL) {
        snprintf(what, whatlen, "smtp_session_new: NULL");
        return OUTCOME_CLEAN;
    }
    want = smtp_session_want(s);
    while (want != SMTP_WANT_CLOSE) {
        if (want == SMTP_WANT_READ && next < sizeof(smtp_dialogue) / sizeof(smtp_dialogue[0])) {
            want = smtp_session_input(s, (const uint8_t *)smtp_dialogue[next],
                                      strlen(smtp_dialogue[next]));
            next++;
        } else if (want == SMTP_WANT_WRITE) {
            smtp_session_pending(s, &len);
            want = smtp_session_sent(s, len);
        } else if (want == SMTP_WANT_TLS) {
            want = smtp_session_tls_ready(s);
        } else {
            want = smtp_session_eof(s);
        }
    }
    o = smtp_session_state(s) == SMTP_STATE_DONE && smtp_session_seen(s)->ehlo_tls.ncaps == 1
            ? OUTCOME_RIGHT : OUTCOME_WRONG;
    snprintf(what, whatlen, "session ended in %s", smtp_state_name(smtp_session_state(s)));
    smtp_session_free(s);
    return o;
}

/* ==== TLSA RDATA ======================================================= */

typedef struct {
    uint8_t *rdata;
    size_t len;
    tlsa_usability_t want;
} tlsa_arg_t;

/* A new self-signed certificate (P-256) as TLSA RDATA: 3 0 0 <cert DER>
 * and 3 1 0 <SPKI DER>. */
static bool tlsa_make(tlsa_arg_t *cert, tlsa_arg_t *spki)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    unsigned char *der = NULL;
    int n;
    bool ok = false;

    if (!key || !x || !X509_set_version(x, X509_VERSION_3) ||
        !ASN1_INTEGER_set(X509_get_serialNumber(x), 1) ||
        !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), 86400) || !X509_set_pubkey(x, key) ||
        !X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                                    (const unsigned char *)"mx.example.org", -1, -1, 0) ||
        !X509_set_issuer_name(x, X509_get_subject_name(x)) || !X509_sign(x, key, EVP_sha256()))
        goto done;
    n = i2d_X509(x, &der);
    if (n <= 0)
        goto done;
    cert->len = 3 + (size_t)n;
    cert->rdata = malloc(cert->len);
    memcpy(cert->rdata, (const uint8_t[]){3, 0, 0}, 3);
    memcpy(cert->rdata + 3, der, (size_t)n);
    OPENSSL_free(der);
    der = NULL;
    n = i2d_PUBKEY(key, &der);
    if (n <= 0)
        goto done;
    spki->len = 3 + (size_t)n;
    spki->rdata = malloc(spki->len);
    memcpy(spki->rdata, (const uint8_t[]){3, 1, 0}, 3);
    memcpy(spki->rdata + 3, der, (size_t)n);
    cert->want = spki->want = TLSA_USABLE;
    ok = cert->rdata && spki->rdata;
done:
    OPENSSL_free(der);
    X509_free(x);
    EVP_PKEY_free(key);
    return ok;
}

static outcome_t op_tlsa(const void *arg, char *what, size_t whatlen)
{
    const tlsa_arg_t *t = arg;
    tlsa_record_t rec;
    tlsa_usability_t u;
    char why[256];

    if (tlsa_record_parse(t->rdata, t->len, &rec) != TLSA_OK) {
        snprintf(what, whatlen, "tlsa_record_parse refused it");
        return OUTCOME_WRONG;
    }
    u = tlsa_classify(&rec, why, sizeof(why));
    snprintf(what, whatlen, "%s: %s", tlsa_usability_code(u), why);
    if (u == t->want)
        return OUTCOME_RIGHT;
    /* tlsa_classify has no error of its own: out of memory inside
     * OpenSSL's DER decoder reads as data that does not decode */
    if (u == (rec.selector == TLSA_SELECTOR_CERT ? TLSA_UNUSABLE_BAD_CERT : TLSA_UNUSABLE_BAD_SPKI))
        return OUTCOME_CLEAN;
    return OUTCOME_WRONG;
}

/* ==== DNS answers and their validation ================================= */

#define WIRE_ID 0x4242
#define WIRE_MAX_FETCHES 32

typedef struct {
    ldns_rdf *name;
    ldns_rr_type type;
    uint8_t *wire;
    size_t len;
} canned_wire_t;

typedef struct {
    const vcase_t *vcase;
    const dnssec_anchors_t *anchors;
    ldns_rdf *qname;
    uint8_t *wire;      /* the answer, as from the resolver */
    size_t len;
    canned_wire_t fetched[WIRE_MAX_FETCHES];
    size_t nfetched;
} dns_arg_t;

static uint8_t *to_wire(ldns_pkt *pkt, size_t *len)
{
    uint8_t *wire = NULL;

    ldns_pkt_set_id(pkt, WIRE_ID);
    if (ldns_pkt2wire(&wire, pkt, len) != LDNS_STATUS_OK)
        wire = NULL;
    ldns_pkt_free(pkt);
    return wire;
}

/* The answer of a test_dnssec case and every fetch its validation makes,
 * resolved by test_dnssec's zone-file resolver, in wire format. */
static bool dns_arg_make(dns_arg_t *d, const dnssec_anchors_t *anchors, const vcase_t *c)
{
    ldns_pkt *answer;
    dnssec_cache_t *cache = dnssec_cache_new(64);
    dnssec_job_t *job;
    const ldns_rdf *need;
    ldns_rr_type type;

    memset(d, 0, sizeof(*d));
    d->vcase = c;
    d->anchors = anchors;
    d->qname = ldns_dname_new_frm_str(c->qname);
    answer = resolve(d->qname, c->qtype);
    if (c->damage)
        c->damage(answer);
    job = dnssec_job_new(anchors, cache, d->qname, c->qtype, ldns_pkt_clone(answer), AT);
    d->wire = to_wire(answer, &d->len);
    while (dnssec_job_step(job, &need, &type) == DNSSEC_JOB_NEED && d->nfetched < WIRE_MAX_FETCHES) {
        canned_wire_t *f = &d->fetched[d->nfetched++];
        ldns_pkt *p = resolve(need, type);
        f->name = ldns_rdf_clone(need);
        f->type = type;
        dnssec_job_feed(job, ldns_pkt_clone(p));
        f->wire = to_wire(p, &f->len);
    }
    dnssec_job_free(job);
    dnssec_cache_free(cache);
    return d->wire != NULL;
}

static void dns_arg_free(dns_arg_t *d)
{
    ldns_rdf_deep_free(d->qname);
    free(d->wire);
    for (size_t i = 0; i < d->nfetched; i++) {
        ldns_rdf_deep_free(d->fetched[i].name);
        free(d->fetched[i].wire);
    }
}

/* As scanner/lookup.c does: an answer that does not parse is a failed
 * query (NULL), whatever the reason. */
static ldns_pkt *dns_parse(const uint8_t *wire, size_t len, const ldns_rdf *qname,
                           ldns_rr_type qtype, dns_status_t *st)
{
    ldns_pkt *pkt = NULL;
    char why[256];

    *st = dns_answer_parse(wire, len, WIRE_ID, qname, qtype, &pkt, why, sizeof(why));
    return pkt;
}

static const canned_wire_t *dns_fetched(const dns_arg_t *d, const ldns_rdf *name, ldns_rr_type type)
{
    const canned_wire_t *hit = NULL;

    alloc_paused = true; /* the fake network's own work */
    for (size_t i = 0; i < d->nfetched && !hit; i++)
        if (d->fetched[i].type == type && ldns_dname_compare(d->fetched[i].name, name) == 0)
            hit = &d->fetched[i];
    alloc_paused = false;
    return hit;
}

static outcome_t op_validate(const void *arg, char *what, size_t whatlen)
{
    const dns_arg_t *d = arg;
    const vcase_t *c = d->vcase;
    dnssec_cache_t *cache = dnssec_cache_new(64);
    dnssec_job_t *job;
    const ldns_rdf *need;
    ldns_rr_type type;
    dns_status_t st;
    bool nomem = false;
    outcome_t o;

    if (!cache) {
        snprintf(what, whatlen, "dnssec_cache_new: NULL");
        return OUTCOME_CLEAN;
    }
    job = dnssec_job_new(d->anchors, cache, d->qname, c->qtype,
                         dns_parse(d->wire, d->len, d->qname, c->qtype, &st), AT);
    nomem |= st == DNS_ERR_NOMEM;
    if (!job) {
        dnssec_cache_free(cache);
        snprintf(what, whatlen, "dnssec_job_new: NULL");
        return OUTCOME_CLEAN;
    }
    while (dnssec_job_step(job, &need, &type) == DNSSEC_JOB_NEED) {
        const canned_wire_t *f = dns_fetched(d, need, type);
        ldns_pkt *p = f ? dns_parse(f->wire, f->len, need, type, &st) : NULL;

        nomem |= f && st == DNS_ERR_NOMEM;
        dnssec_job_feed(job, p);
    }
    snprintf(what, whatlen, "%s (%s)%s", dnssec_status_name(dnssec_job_status(job)),
             dnssec_job_reason(job), nomem ? ", after an answer failed with nomem" : "");
    if (dnssec_job_status(job) == c->want && dnssec_job_answer(job) == c->want_answer &&
        (c->want == DNSSEC_SECURE) == (dnssec_job_reason(job)[0] == '\0'))
        o = OUTCOME_RIGHT;
    else if (dnssec_job_status(job) == DNSSEC_INDETERMINATE && dnssec_job_reason(job)[0] != '\0')
        o = OUTCOME_CLEAN;
    else if (dnssec_job_status(job) == DNSSEC_BOGUS && c->want != DNSSEC_BOGUS)
        o = OUTCOME_STRICTER;
    else
        o = OUTCOME_WRONG;
    dnssec_job_free(job);
    dnssec_cache_free(cache);
    return o;
}

/* The answer check alone, on damaged wire: refused as malformed, or for
 * want of memory, never accepted. */
typedef struct {
    uint8_t *wire;
    size_t len;
    ldns_rdf *qname;
    dns_status_t want;
} wire_arg_t;

static outcome_t op_answer(const void *arg, char *what, size_t whatlen)
{
    const wire_arg_t *w = arg;
    ldns_pkt *pkt = NULL;
    char why[256];
    dns_status_t st = dns_answer_parse(w->wire, w->len, WIRE_ID, w->qname, LDNS_RR_TYPE_A, &pkt,
                                       why, sizeof(why));

    snprintf(what, whatlen, "%s (%s)", dns_status_name(st), why);
    ldns_pkt_free(pkt);
    if (st == w->want)
        return OUTCOME_RIGHT;
    return st == DNS_ERR_NOMEM && pkt == NULL ? OUTCOME_CLEAN : OUTCOME_WRONG;
}

/* ==== trust anchors ==================================================== */

typedef struct {
    const char *path;       /* NULL: the built-in IANA anchors */
    const dnssec_anchors_t *reference;
} anchor_arg_t;

static outcome_t op_anchors(const void *arg, char *what, size_t whatlen)
{
    const anchor_arg_t *a = arg;
    char err[512] = "";
    dnssec_anchors_t *loaded = dnssec_anchors_load(a->path, err, sizeof(err));
    outcome_t o = OUTCOME_RIGHT;

    snprintf(what, whatlen, "%s", loaded ? "loaded" : err);
    if (!loaded)
        return err[0] != '\0' ? OUTCOME_CLEAN : OUTCOME_WRONG;
    if (a->path) {
        /* loaded under the failure: the same anchors, or it would not be right */
        vcase_t c = {"anchors", "www.good.test.", A, NULL, -1, SEC, NOEDE, "", DATA, 0};
        dnssec_cache_t *cache;
        dnssec_job_t *job;
        unsigned fetches;

        alloc_paused = true;
        cache = dnssec_cache_new(64);
        job = run(loaded, cache, &c, &fetches);
        if (dnssec_job_status(job) != DNSSEC_SECURE) {
            snprintf(what, whatlen, "loaded, but www.good.test. is %s (%s)",
                     dnssec_status_name(dnssec_job_status(job)), dnssec_job_reason(job));
            o = OUTCOME_WRONG;
        }
        dnssec_job_free(job);
        dnssec_cache_free(cache);
        alloc_paused = false;
    }
    dnssec_anchors_free(loaded);
    return o;
}

/* ==== input lines ====================================================== */

typedef struct {
    const char *line;
    const char *want;
} domain_arg_t;

static outcome_t op_domain(const void *arg, char *what, size_t whatlen)
{
    const domain_arg_t *d = arg;
    char buf[256];
    const char *why = "";
    const char *got = runner_domain_name(d->line, buf, sizeof(buf), &why);

    snprintf(what, whatlen, "%s", got ? got : why);
    if (got && strcmp(got, d->want) == 0)
        return OUTCOME_RIGHT;
    return !got && why && why[0] ? OUTCOME_CLEAN : OUTCOME_WRONG;
}

/* ==== the cases ======================================================== */

static const vcase_t *vcase_named(const char *name)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (strcmp(cases[i].name, name) == 0)
            return &cases[i];
    return NULL;
}

/* test_dnssec cases whose validation runs under the failures: secure
 * data, NSEC and NSEC3 denial, a wildcard, a chain, insecure, bogus */
static const char *const validated[] = {
    "ecdsa-nsec-a", "nsec3-nxdomain", "nsec-wildcard", "cname-across-zones",
    "nsec-unsigned-delegation", "nsec3-iterations-200", "wrong-ds", "dname-forged-cname",
};

int main(int argc, char **argv)
{
    char path[1024], err[256];
    dnssec_anchors_t *anchors;
    tlsa_arg_t cert = {0}, spki = {0};
    dns_arg_t dns[sizeof(validated) / sizeof(validated[0])];
    wire_arg_t dup_opt = {0}, loop = {0};
    anchor_arg_t anchor_ds, anchor_key, anchor_builtin = {NULL, NULL};
    static const domain_arg_t idn = {"  B\xc3\xbc" "cher.Example.\t# comment", "xn--bcher-kva.example"};

    if (argc != 2) {
        fprintf(stderr, "usage: %s DATA_DIR\n", argv[0]);
        return 2;
    }
    if (!load_zones(argv[1]))
        return 2;
    dl_iterate_phdr(find_crypto, NULL);
    if (crypto_text_lo == 0) {
        fprintf(stderr, "libcrypto is not loaded\n");
        return 2;
    }
    snprintf(path, sizeof(path), "%s/root.ds", argv[1]);
    anchors = dnssec_anchors_load(path, err, sizeof(err));
    if (!anchors || !tlsa_make(&cert, &spki)) {
        fprintf(stderr, "set-up failed: %s\n", anchors ? "certificate" : err);
        return 2;
    }
    for (size_t i = 0; i < sizeof(validated) / sizeof(validated[0]); i++) {
        const vcase_t *c = vcase_named(validated[i]);
        if (!c || !dns_arg_make(&dns[i], anchors, c)) {
            fprintf(stderr, "set-up failed: case %s\n", validated[i]);
            return 2;
        }
    }
    /* damaged answers: a second OPT, a compression loop */
    dup_opt.qname = loop.qname = ldns_dname_new_frm_str("www.good.test.");
    dup_opt.wire = to_wire(resolve(dup_opt.qname, A), &dup_opt.len);
    dup_opt.wire = realloc(dup_opt.wire, dup_opt.len + 22);
    for (int i = 0; i < 2; i++) {
        memcpy(dup_opt.wire + dup_opt.len, (const uint8_t[]){0, 0, 41, 4, 0xd0, 0, 0, 0x80, 0, 0, 0}, 11);
        dup_opt.len += 11;
        dup_opt.wire[11]++; /* ARCOUNT (0 before: resolve() sets no EDNS) */
    }
    dup_opt.want = DNS_ERR_MALFORMED;
    loop.wire = to_wire(resolve(loop.qname, A), &loop.len);
    {
        /* the first answer's owner (a pointer to the question's name,
         * which ends 12 + name + 4 octets in) now points at itself */
        size_t owner = 12 + ldns_rdf_size(loop.qname) + 4;
        loop.wire[owner] = (uint8_t)(0xc0 | owner >> 8);
        loop.wire[owner + 1] = (uint8_t)owner;
    }
    loop.want = DNS_ERR_MALFORMED;
    anchor_ds = (anchor_arg_t){strdup(path), anchors};
    snprintf(path, sizeof(path), "%s/root.key", argv[1]);
    anchor_key = (anchor_arg_t){strdup(path), anchors};

    {
        alloc_case_t all[32];
        size_t n = 0;

        all[n++] = (alloc_case_t){"smtp-session", op_smtp, NULL};
        all[n++] = (alloc_case_t){"tlsa-3-0-0-certificate", op_tlsa, &cert};
        all[n++] = (alloc_case_t){"tlsa-3-1-0-spki", op_tlsa, &spki};
        all[n++] = (alloc_case_t){"dns-answer-two-opt", op_answer, &dup_opt};
        all[n++] = (alloc_case_t){"dns-answer-pointer-loop", op_answer, &loop};
        for (size_t i = 0; i < sizeof(validated) / sizeof(validated[0]); i++)
            all[n++] = (alloc_case_t){validated[i], op_validate, &dns[i]};
        all[n++] = (alloc_case_t){"anchors-ds-file", op_anchors, &anchor_ds};
        all[n++] = (alloc_case_t){"anchors-dnskey-file", op_anchors, &anchor_key};
        all[n++] = (alloc_case_t){"anchors-built-in", op_anchors, &anchor_builtin};
        all[n++] = (alloc_case_t){"domain-idn", op_domain, &idn};
        printf("allocation failures, one at a time:\n");
        for (size_t i = 0; i < n; i++)
            if (!getenv("ALLOC_FAIL_ONLY") || strcmp(getenv("ALLOC_FAIL_ONLY"), all[i].name) == 0)
                alloc_case_run(&all[i]);
    }

    for (size_t i = 0; i < sizeof(validated) / sizeof(validated[0]); i++)
        dns_arg_free(&dns[i]);
    free(dup_opt.wire);
    free(loop.wire);
    ldns_rdf_deep_free(dup_opt.qname);
    free((char *)anchor_ds.path);
    free((char *)anchor_key.path);
    free(cert.rdata);
    free(spki.rdata);
    dnssec_anchors_free(anchors);
    free_zones();
    return check_summary();
}
