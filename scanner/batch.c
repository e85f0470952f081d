/* batch.c - shards, run ids, name sets, --resume, summary and progress
 * for long runs (issue [batch]; docs/scale.md). */
#include "batch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runner.h"

uint64_t batch_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    while (*s) {
        h ^= (unsigned char)*s++;
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* ------------------------------------------------------------- shards */

static bool env_uint(const char *name, unsigned *out)
{
    const char *v = getenv(name);
    int n;

    if (v == NULL || !runner_parse_int(v, 0, 1000000, &n))
        return false;
    *out = (unsigned)n;
    return true;
}

bool batch_shard_parse(const char *spec, unsigned count, batch_shard_t *out, char *err,
                       size_t errlen)
{
    unsigned id, min = 0, n;
    int k_, n_;
    char k_text[16], n_text[16];
    const char *slash;

    *out = (batch_shard_t){.k = 0, .n = 1};
    if (strcmp(spec, "auto") == 0) {
        if (env_uint("SLURM_ARRAY_TASK_ID", &id)) {
            const char *job = getenv("SLURM_ARRAY_JOB_ID");
            unsigned max = 0, step = 1;
            if (count > 0) {
                /* the task id is the shard: any subset of 0..N-1 may run,
                 * e.g. again just the tasks that failed */
                n = count;
            } else if (env_uint("SLURM_ARRAY_TASK_COUNT", &n) &&
                       env_uint("SLURM_ARRAY_TASK_MIN", &min) &&
                       env_uint("SLURM_ARRAY_TASK_MAX", &max)) {
                /* --array=MIN-MAX[:STEP]: the tasks, numbered from 0 */
                if (env_uint("SLURM_ARRAY_TASK_STEP", &step) && step == 0)
                    step = 1;
                if (id < min) {
                    snprintf(err, errlen, "--shard auto: SLURM_ARRAY_TASK_ID %u is below "
                                          "SLURM_ARRAY_TASK_MIN %u", id, min);
                    return false;
                }
                if ((max - min) / step + 1 != n || (id - min) % step != 0) {
                    snprintf(err, errlen, "--shard auto: this job array is not MIN-MAX[:STEP] "
                                          "(a list, or a subset of tasks?): number the tasks "
                                          "0..N-1 and give --shard-count N");
                    return false;
                }
                id = (id - min) / step;
            } else {
                snprintf(err, errlen, "--shard auto: SLURM_ARRAY_TASK_ID is set but not "
                                      "SLURM_ARRAY_TASK_COUNT/MIN/MAX; give --shard-count N");
                return false;
            }
            if (job != NULL && *job)
                snprintf(out->run_id, sizeof(out->run_id), "slurm-%.100s", job);
        } else if (env_uint("JOB_COMPLETION_INDEX", &id)) {
            if (count == 0) {
                snprintf(err, errlen, "--shard auto: JOB_COMPLETION_INDEX is set; give the "
                                      "job's completions as --shard-count N");
                return false;
            }
            n = count;
        } else {
            snprintf(err, errlen, "--shard auto: neither SLURM_ARRAY_TASK_ID nor "
                                  "JOB_COMPLETION_INDEX is set (not in a job array?)");
            return false;
        }
    } else {
        slash = strchr(spec, '/');
        if (slash == NULL || (size_t)(slash - spec) >= sizeof(k_text) ||
            strlen(slash + 1) >= sizeof(n_text)) {
            snprintf(err, errlen, "--shard wants K/N (0 <= K < N) or auto, not '%s'", spec);
            return false;
        }
        memcpy(k_text, spec, (size_t)(slash - spec));
        k_text[slash - spec] = '\0';
        strcpy(n_text, slash + 1);
        if (!runner_parse_int(k_text, 0, 1000000, &k_) ||
            !runner_parse_int(n_text, 1, 1000000, &n_)) {
            snprintf(err, errlen, "--shard wants K/N (0 <= K < N) or auto, not '%s'", spec);
            return false;
        }
        id = (unsigned)k_;
        n = (unsigned)n_;
    }
    if (n == 0 || id >= n) {
        snprintf(err, errlen, "--shard: shard %u of %u does not exist (0 <= K < N; shards "
                              "are numbered from 0)", id, n);
        return false;
    }
    out->k = id;
    out->n = n;
    return true;
}

bool batch_shard_mine(const batch_shard_t *shard, const char *key)
{
    return shard->n <= 1 || batch_hash(key) % shard->n == shard->k;
}

void batch_run_id(char *buf, size_t len)
{
    char host[64] = "host";
    time_t now = time(NULL);
    struct tm tm;
    struct timespec ts;

    gmtime_r(&now, &tm);
    clock_gettime(CLOCK_REALTIME, &ts);
    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    snprintf(buf, len, "%04d%02d%02dT%02d%02d%02dZ-%s-%ld-%04lx", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, host, (long)getpid(),
             (unsigned long)(ts.tv_nsec & 0xffff));
    /* the host name may hold characters a report must not carry */
    for (char *p = buf; *p; p++)
        if (*p < 0x21 || *p > 0x7e || *p == '"' || *p == '\\')
            *p = '_';
}

/* -------------------------------------------------------------- input */

int batch_reader_init(batch_reader_t *r, int fd)
{
    int flags = fcntl(fd, F_GETFL);

    r->fd = fd;
    r->start = r->end = 0;
    r->eof = r->skipping = false;
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
        return -1;
    return 0;
}

/* Read what there is; false when nothing came (yet). */
static bool reader_fill(batch_reader_t *r)
{
    ssize_t n;

    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    if (r->eof || r->end == sizeof(r->buf))
        return false;
    n = read(r->fd, r->buf + r->end, sizeof(r->buf) - r->end);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        r->eof = true;          /* an error ends the input like its end */
    if (n <= 0)
        return false;
    r->end += (size_t)n;
    return true;
}

batch_read_t batch_reader_next(batch_reader_t *r, char *line, size_t max)
{
    for (;;) {
        char *nl = memchr(r->buf + r->start, '\n', r->end - r->start);
        size_t len = nl ? (size_t)(nl - (r->buf + r->start)) : r->end - r->start;
        bool whole = nl != NULL || (r->eof && len > 0);

        if (r->skipping) {
            /* the tail of a line already reported as too long */
            r->start += nl ? len + 1 : len;
            if (nl)
                r->skipping = false;
            else if (!reader_fill(r))
                return r->eof ? BATCH_EOF : BATCH_LATER;
            continue;
        }
        if (len >= max) {
            memcpy(line, r->buf + r->start, max - 1);
            line[max - 1] = '\0';
            r->start += nl ? len + 1 : len;
            r->skipping = nl == NULL && !r->eof;
            return BATCH_TOO_LONG;
        }
        if (whole) {
            memcpy(line, r->buf + r->start, len);
            line[len] = '\0';
            r->start += nl ? len + 1 : len;
            return BATCH_LINE;
        }
        if (!reader_fill(r)) {
            if (!r->eof)
                return BATCH_LATER;
            if (r->start == r->end)
                return BATCH_EOF;
            /* a last line without its newline: taken above */
        }
    }
}

/* -------------------------------------------------------------- sets */

/* 0 marks an empty slot: the one hash that is 0 is stored as 1. */
static uint64_t slot_value(uint64_t hash)
{
    return hash ? hash : 1;
}

bool batch_set_has(const batch_set_t *set, uint64_t hash)
{
    uint64_t v = slot_value(hash);

    if (set->cap == 0)
        return false;
    for (size_t i = v & (set->cap - 1); set->slots[i]; i = (i + 1) & (set->cap - 1))
        if (set->slots[i] == v)
            return true;
    return false;
}

bool batch_set_add(batch_set_t *set, uint64_t hash)
{
    uint64_t v = slot_value(hash);
    size_t i;

    if ((set->n + 1) * 2 > set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 1024;
        uint64_t *slots = calloc(cap, sizeof(*slots));
        if (slots == NULL)
            return false;
        for (size_t k = 0; k < set->cap; k++) {
            if (set->slots[k] == 0)
                continue;
            for (i = set->slots[k] & (cap - 1); slots[i]; i = (i + 1) & (cap - 1))
                ;
            slots[i] = set->slots[k];
        }
        free(set->slots);
        set->slots = slots;
        set->cap = cap;
    }
    for (i = v & (set->cap - 1); set->slots[i]; i = (i + 1) & (set->cap - 1))
        if (set->slots[i] == v)
            return false;
    set->slots[i] = v;
    set->n++;
    return true;
}

void batch_set_clear(batch_set_t *set)
{
    free(set->slots);
    *set = (batch_set_t){0};
}

bool batch_recent_add(batch_recent_t *r, uint64_t hash)
{
    if (batch_set_has(&r->gen[1], hash))
        return false;
    if (r->gen[0].n >= r->window) {
        /* the older generation goes; its table is reused for the new one */
        batch_set_t old = r->gen[1];
        r->gen[1] = r->gen[0];
        r->gen[0] = old;
        if (r->gen[0].cap > 0)
            memset(r->gen[0].slots, 0, r->gen[0].cap * sizeof(*r->gen[0].slots));
        r->gen[0].n = 0;
    }
    return batch_set_add(&r->gen[0], hash);
}

void batch_recent_clear(batch_recent_t *r)
{
    batch_set_clear(&r->gen[0]);
    batch_set_clear(&r->gen[1]);
}

uint64_t batch_record_key(const char *domain, const char *input)
{
    char buf[1100];

    if (domain != NULL)
        snprintf(buf, sizeof(buf), "d:%s", domain);
    else
        snprintf(buf, sizeof(buf), "i:%s", input ? input : "");
    return batch_hash(buf);
}

/* ------------------------------------------------------------- resume */

int batch_resume_load(const char *path, batch_set_t *done, size_t *records, char *err,
                      size_t errlen)
{
    FILE *f = fopen(path, "r+");
    char *line = NULL;
    size_t cap = 0, line_no = 0;
    off_t good = 0;             /* end of the last complete line */
    ssize_t n;
    int rc = -1;

    *records = 0;
    if (f == NULL) {
        if (errno == ENOENT)
            return 0;           /* nothing done yet */
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    while ((n = getline(&line, &cap, f)) > 0) {
        json_t *rec, *domain, *input;
        json_error_t jerr;
        uint64_t key;

        line_no++;
        if (line[n - 1] != '\n') {
            /* an interrupted write: cut it off and scan that name again */
            if (ftruncate(fileno(f), good) != 0) {
                snprintf(err, errlen, "%s: cannot cut off the unfinished last line: %s", path,
                         strerror(errno));
                goto out;
            }
            break;
        }
        rec = json_loadb(line, (size_t)n, 0, &jerr);
        domain = json_object_get(rec, "domain");
        input = json_object_get(rec, "input");
        if (rec == NULL || json_integer_value(json_object_get(rec, "schema_version")) != 1 ||
            (!json_is_string(domain) && !json_is_string(input))) {
            json_decref(rec);
            snprintf(err, errlen, "%s line %zu is not a danescan JSON report (--resume wants "
                                  "the JSON Lines output of an earlier run)", path, line_no);
            goto out;
        }
        key = batch_record_key(json_string_value(domain), json_string_value(input));
        /* false also for a record seen twice: only a failure when it is not there */
        if (!batch_set_add(done, key) && !batch_set_has(done, key)) {
            json_decref(rec);
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        json_decref(rec);
        (*records)++;
        good += n;
    }
    rc = 0;
out:
    free(line);
    fclose(f);
    return rc;
}

/* ------------------------------------------------------------ summary */

void batch_summary_add(batch_summary_t *s, const model_domain_t *d)
{
    s->domains++;
    if ((size_t)d->verdict < sizeof(s->verdicts) / sizeof(s->verdicts[0]))
        s->verdicts[d->verdict]++;
    for (size_t i = 0; i < d->n_findings; i++) {
        const char *code = d->findings[i].code;
        size_t k;
        bool again = false;

        /* a code counts once per domain */
        for (size_t j = 0; j < i && !again; j++)
            again = strcmp(d->findings[j].code, code) == 0;
        if (again || code == NULL)
            continue;
        for (k = 0; k < s->n_codes && strcmp(s->findings[k].code, code) != 0; k++)
            ;
        if (k == s->n_codes) {
            struct batch_code *t = realloc(s->findings, (k + 1) * sizeof(*t));
            char *copy = strdup(code);
            if (t == NULL || copy == NULL) {
                if (t != NULL)
                    s->findings = t;
                free(copy);
                continue;
            }
            s->findings = t;
            s->findings[k] = (struct batch_code){.code = copy};
            s->n_codes++;
        }
        s->findings[k].n++;
    }
}

void batch_summary_free(batch_summary_t *s)
{
    for (size_t k = 0; k < s->n_codes; k++)
        free(s->findings[k].code);
    free(s->findings);
    s->findings = NULL;
    s->n_codes = 0;
}

json_t *batch_summary_json(const batch_summary_t *s, json_t *extra)
{
    json_t *obj = json_object(), *verdicts = json_object(), *findings = json_object();
    bool ok = obj && verdicts && findings;

    for (size_t v = 0; ok && v < sizeof(s->verdicts) / sizeof(s->verdicts[0]); v++)
        if (s->verdicts[v] > 0)
            ok = json_object_set_new(verdicts, model_verdict_name((model_verdict_t)v),
                                     json_integer((json_int_t)s->verdicts[v])) == 0;
    for (size_t k = 0; ok && k < s->n_codes; k++)
        ok = json_object_set_new(findings, s->findings[k].code,
                                 json_integer((json_int_t)s->findings[k].n)) == 0;
    ok = ok && json_object_set_new(obj, "domains", json_integer((json_int_t)s->domains)) == 0 &&
         json_object_set_new(obj, "failures", json_integer((json_int_t)s->failures)) == 0 &&
         json_object_set_new(obj, "warnings", json_integer((json_int_t)s->warnings)) == 0 &&
         json_object_set_new(obj, "resumed", json_integer((json_int_t)s->resumed)) == 0 &&
         json_object_set_new(obj, "duplicates", json_integer((json_int_t)s->duplicates)) == 0 &&
         json_object_set_new(obj, "other_shards",
                             json_integer((json_int_t)s->other_shards)) == 0;
    ok = ok && json_object_set(obj, "verdicts", verdicts) == 0 &&
         json_object_set(obj, "findings", findings) == 0;
    if (ok && extra != NULL)
        ok = json_object_update(obj, extra) == 0;
    json_decref(verdicts);
    json_decref(findings);
    if (!ok) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

void batch_summary_print(FILE *f, const batch_summary_t *s, double seconds)
{
    fprintf(f, "danescan: %zu domain(s) in %.1f s (%.1f/s): %zu failure(s), %zu warning(s)",
            s->domains, seconds, seconds > 0 ? (double)s->domains / seconds : 0.0, s->failures,
            s->warnings);
    if (s->resumed || s->duplicates || s->other_shards)
        fprintf(f, "; skipped %zu done before, %zu duplicate(s), %zu for other shards",
                s->resumed, s->duplicates, s->other_shards);
    fputs("\n  verdicts:", f);
    for (size_t v = 0; v < sizeof(s->verdicts) / sizeof(s->verdicts[0]); v++)
        if (s->verdicts[v] > 0)
            fprintf(f, " %s %zu", model_verdict_name((model_verdict_t)v), s->verdicts[v]);
    if (s->n_codes > 0) {
        fputs("\n  findings:", f);
        for (size_t k = 0; k < s->n_codes; k++)
            fprintf(f, " %s %zu", s->findings[k].code, s->findings[k].n);
    }
    fputc('\n', f);
}

void batch_progress(FILE *f, const batch_summary_t *s, size_t total, double seconds)
{
    double rate = seconds > 0 ? (double)s->domains / seconds : 0.0;

    if (total > 0 && rate > 0 && total >= s->domains) {
        double eta = (double)(total - s->domains) / rate;
        fprintf(f, "\r\033[K%zu/%zu domains  %.1f/s  ETA %dh%02dm%02ds  %zu failure(s)",
                s->domains, total, rate, (int)(eta / 3600), (int)(eta / 60) % 60,
                (int)eta % 60, s->failures);
    } else {
        fprintf(f, "\r\033[K%zu domains  %.1f/s  %zu failure(s)", s->domains, rate, s->failures);
    }
    fflush(f);
}
