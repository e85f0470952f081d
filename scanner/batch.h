/* batch.h - what a long batch run needs around the scans: shards of one
 * list split without coordination, a run id, sets of names already done
 * (--resume) or just seen (duplicates), the summary of the run and the
 * progress line.  Nothing here touches the network.
 */
#ifndef DANESCAN_BATCH_H
#define DANESCAN_BATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "model.h"

/* 64-bit FNV-1a of s: the stable hash shards are cut by, so that any
 * tool can say which shard a name belongs to. */
uint64_t batch_hash(const char *s);

/* ---- shards ---------------------------------------------------------- */

typedef struct {
    unsigned k, n;              /* this is shard k of n, 0 <= k < n; n == 1: all */
    char run_id[128];           /* from the scheduler when it gives one */
} batch_shard_t;

/* "K/N" (0-based K), or "auto": in a Slurm job array --array=MIN-MAX[:STEP]
 * task (SLURM_ARRAY_TASK_ID - MIN) / STEP of SLURM_ARRAY_TASK_COUNT, or,
 * with `count` (--shard-count, 0: not given), task SLURM_ARRAY_TASK_ID of
 * count; or JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) of count.  In auto mode under Slurm
 * run_id is "slurm-<SLURM_ARRAY_JOB_ID>", so every task of one array
 * carries the same id.  false with a sentence in err. */
bool batch_shard_parse(const char *spec, unsigned count, batch_shard_t *out, char *err,
                       size_t errlen);

/* Does the name (or invalid input line) belong to this shard? */
bool batch_shard_mine(const batch_shard_t *shard, const char *key);

/* A run id nobody else has: UTC time, host and process. */
void batch_run_id(char *buf, size_t len);

/* ---- input ------------------------------------------------------------- */

/* Lines from a file descriptor without ever blocking on it: a pipe whose
 * writer is slow (or silent) must not hold up the scans in flight, nor a
 * signal. */
typedef struct {
    int fd;
    char buf[65536];
    size_t start, end;          /* unread bytes: buf[start..end) */
    bool eof, skipping;         /* skipping: the rest of a line too long */
} batch_reader_t;

typedef enum {
    BATCH_LINE,                 /* *line: NUL-terminated, without its newline */
    BATCH_LATER,                /* nothing complete yet: ask again later */
    BATCH_EOF,
    BATCH_TOO_LONG,             /* *line: its first max-1 bytes; the rest is skipped */
} batch_read_t;

/* fd is made non-blocking.  0, or -1 with errno. */
int batch_reader_init(batch_reader_t *reader, int fd);

/* The next line, at most max-1 bytes, copied into line (max bytes).  A
 * last line without a newline counts as a line at the end of input. */
batch_read_t batch_reader_next(batch_reader_t *reader, char *line, size_t max);

/* ---- sets of names ---------------------------------------------------- */

/* Names kept as 64-bit hashes (a collision among a billion names is a
 * one in 36 million chance): 16 to 32 bytes per name, as the table is
 * between a quarter and half full. */
typedef struct {
    uint64_t *slots;            /* 0: empty */
    size_t cap, n;
} batch_set_t;

/* true when it was not there yet; false also when memory ran out (a
 * name then counts as seen: it is not scanned twice in a row). */
bool batch_set_add(batch_set_t *set, uint64_t hash);
bool batch_set_has(const batch_set_t *set, uint64_t hash);
void batch_set_clear(batch_set_t *set);

/* Duplicates within the last `window` distinct names are dropped, in
 * memory that does not grow with the list: two generations of at most
 * `window` names each. */
typedef struct {
    batch_set_t gen[2];
    size_t window;
} batch_recent_t;

bool batch_recent_add(batch_recent_t *recent, uint64_t hash);
void batch_recent_clear(batch_recent_t *recent);

/* The key a record is known by in an output file: "d:<domain>" or, for
 * an invalid-input record, "i:<input>". */
uint64_t batch_record_key(const char *domain, const char *input);

/* --resume: add the key of every record in the JSON Lines file at path
 * to done.  A last line without its newline is what an interrupted write
 * leaves: the file is cut back to the end of the line before it, so new
 * records start on a line of their own.  Any other line that is not a
 * report is an error (this is not our output file).  0, or -1 with err. */
int batch_resume_load(const char *path, batch_set_t *done, size_t *records, char *err,
                      size_t errlen);

/* ---- summary and progress ------------------------------------------- */

typedef struct {
    size_t verdicts[MODEL_VERDICT_NO_DANE + 1];
    size_t domains;             /* records written, invalid input included */
    size_t failures;            /* CRITICAL under the run's policy */
    size_t warnings;
    size_t resumed;             /* skipped: already in the output file */
    size_t duplicates;
    size_t other_shards;        /* names left to the other shards */
    struct batch_code { char *code; size_t n; } *findings;
    size_t n_codes;
} batch_summary_t;

void batch_summary_add(batch_summary_t *s, const model_domain_t *d);
void batch_summary_free(batch_summary_t *s);

/* The summary as a JSON object; `extra` (may be NULL) is merged in
 * (run id, shard, timings, counters).  NULL when out of memory. */
json_t *batch_summary_json(const batch_summary_t *s, json_t *extra);

/* Verdict and finding counts, a few lines for a person. */
void batch_summary_print(FILE *f, const batch_summary_t *s, double seconds);

/* One progress line, rewritten in place on a terminal: done of total
 * (total 0: unknown), rate, ETA, failures so far. */
void batch_progress(FILE *f, const batch_summary_t *s, size_t total, double seconds);

#endif
