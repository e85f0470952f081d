/* fuzz_anchors.c - libFuzzer target for the trust-anchor file parser of
 * probes/dnssec (dnssec_anchors_load), on arbitrary file contents.
 *
 * The input becomes the file (a memfd, opened by its /proc path, so no
 * file is left behind).  Anchors that load are then put to use: a
 * lookup of www.good.test./A is validated from them against the signed
 * test zones (tests/unit/data/dnssec), which answer every DS and DNSKEY
 * the job asks for, at 2030-06-01.
 *
 * Besides "no crash, no leak, no sanitizer report", it checks what the
 * loader promises: a failure always comes with a reason, a file without
 * any DS or DNSKEY record never loads, loading is deterministic, and a
 * job on whatever anchors loaded ends within its fetch budget with a
 * reason for every verdict but secure.
 */
#include "fuzz.h"
#include "dnssec.h"
#include "zones.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>


/* dnssec.h: at most 48 fetches per job. */
#define FUZZ_FETCHES_MAX 48

/* Reasons end up on the terminal: printable ASCII only. */
static void fuzz_check_text(const char *text, size_t max)
{
    size_t len = strnlen(text, max);

    FUZZ_ASSERT(len < max);
    for (size_t i = 0; i < len; i++)
        FUZZ_ASSERT((unsigned char)text[i] >= 0x20 && (unsigned char)text[i] < 0x7f);
}

static dnssec_anchors_t *fuzz_load(const char *path, char *err, size_t errlen)
{
    dnssec_anchors_t *a;

    memset(err, 'X', errlen);
    a = dnssec_anchors_load(path, err, errlen);
    if (a == NULL) {
        fuzz_check_text(err, errlen);
        FUZZ_ASSERT(err[0] != '\0');
    }
    return a;
}

/* The anchor files of the unit tests load as they should (once). */
static void fuzz_check_files(void)
{
    static bool done;
    static const struct {
        const char *file;
        bool loads;
    } files[] = {
        {NULL, true}, {"root.ds", true}, {"root.key", true}, {"test.ds", true}, {"mixed.ds", false},
    };
    char err[256];

    if (done)
        return;
    done = true;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        dnssec_anchors_t *a = fuzz_load(files[i].file ? fuzz_zones_path(files[i].file) : NULL, err,
                                        sizeof(err));
        FUZZ_ASSERT((a != NULL) == files[i].loads);
        dnssec_anchors_free(a);
    }
}

/* The input as a file: its path in path[len]; the fd to close after. */
static int fuzz_file(const uint8_t *data, size_t size, char *path, size_t len)
{
    int fd = memfd_create("fuzz-anchors", MFD_CLOEXEC);
    size_t off = 0;

    FUZZ_ASSERT(fd >= 0);
    while (off < size) {
        ssize_t n = write(fd, data + off, size - off);
        FUZZ_ASSERT(n > 0);
        off += (size_t)n;
    }
    FUZZ_ASSERT((size_t)snprintf(path, len, "/proc/self/fd/%d", fd) < len);
    return fd;
}

/* Some record of type DS or DNSKEY may be in the text (TYPE43 and
 * TYPE48 are the generic names, RFC 3597 §5).  ldns reads past NUL
 * bytes and parentheses as if they were not there, even inside a word
 * ("DN(S)KEY" is DNSKEY): so does this. */
static bool fuzz_may_hold_anchor(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    size_t len = 0;
    bool found;

    FUZZ_ASSERT(text != NULL);
    for (size_t i = 0; i < size; i++)
        if (data[i] != '\0' && data[i] != '(' && data[i] != ')')
            text[len++] = (char)data[i];
    text[len] = '\0';
    found = strcasestr(text, "DS") != NULL || strcasestr(text, "DNSKEY") != NULL ||
            strcasestr(text, "TYPE") != NULL;
    free(text);
    return found;
}

/* www.good.test./A validated from the anchors, the zones answering. */
static void fuzz_use(const dnssec_anchors_t *anchors)
{
    dnssec_cache_t *cache = dnssec_cache_new(8);
    ldns_rdf *qname = ldns_dname_new_frm_str("www.good.test.");
    dnssec_job_t *job;
    const ldns_rdf *need;
    ldns_rr_type type;
    unsigned fetches = 0;
    dnssec_status_t st;

    FUZZ_ASSERT(cache != NULL && qname != NULL);
    job = dnssec_job_new(anchors, cache, qname, LDNS_RR_TYPE_A,
                         fuzz_zones_answer(qname, LDNS_RR_TYPE_A), FUZZ_ZONES_AT);
    FUZZ_ASSERT(job != NULL);
    while (dnssec_job_step(job, &need, &type) == DNSSEC_JOB_NEED) {
        FUZZ_ASSERT(++fetches <= FUZZ_FETCHES_MAX);
        dnssec_job_feed(job, fuzz_zones_answer(need, type));
    }
    st = dnssec_job_status(job);
    fuzz_check_text(dnssec_job_reason(job), 1024);
    FUZZ_ASSERT((st == DNSSEC_SECURE) == (dnssec_job_reason(job)[0] == '\0'));
    /* the zones hold that record: whatever the anchors, never proven absent */
    FUZZ_ASSERT(dnssec_job_answer(job) == DNSSEC_ANSWER_DATA);
    dnssec_job_free(job);
    dnssec_cache_free(cache);
    ldns_rdf_deep_free(qname);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64], err[256], tiny[8];
    int fd;
    dnssec_anchors_t *a, *again;

    fuzz_check_files();
    fd = fuzz_file(data, size, path, sizeof(path));
    a = fuzz_load(path, err, sizeof(err));
    again = fuzz_load(path, tiny, sizeof(tiny));
    FUZZ_ASSERT((a != NULL) == (again != NULL));
    close(fd);
    if (!fuzz_may_hold_anchor(data, size))
        FUZZ_ASSERT(a == NULL);
    if (a != NULL)
        fuzz_use(a);
    dnssec_anchors_free(again);
    dnssec_anchors_free(a);
    return 0;
}
