/* test_batch.c - shards, name sets, --resume files, the summary and the
 * per-destination gate (scanner/batch.c, scanner/probecache.c). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "check.h"
#include "probecache.h"

static void test_hash(void)
{
    /* FNV-1a 64 reference values (draft-eastlake-fnv) */
    CHECK(batch_hash("") == 0xcbf29ce484222325ULL, "fnv1a64(\"\")");
    CHECK(batch_hash("a") == 0xaf63dc4c8601ec8cULL, "fnv1a64(\"a\")");
    CHECK(batch_hash("foobar") == 0x85944171f73967e8ULL, "fnv1a64(\"foobar\")");
}

static void test_shard(void)
{
    batch_shard_t s;
    char err[256];
    unsigned mine[4] = {0};

    CHECK(batch_shard_parse("1/4", 0, &s, err, sizeof(err)), "1/4: %s", err);
    CHECK_INT("k", s.k, 1);
    CHECK_INT("n", s.n, 4);
    CHECK(!batch_shard_parse("4/4", 0, &s, err, sizeof(err)), "4/4 accepted");
    CHECK(strstr(err, "numbered from 0") != NULL, "4/4: %s", err);
    CHECK(!batch_shard_parse("1/0", 0, &s, err, sizeof(err)), "1/0 accepted");
    CHECK(!batch_shard_parse("x", 0, &s, err, sizeof(err)), "x accepted");
    CHECK(!batch_shard_parse("1/", 0, &s, err, sizeof(err)), "1/ accepted");
    CHECK(!batch_shard_parse("-1/3", 0, &s, err, sizeof(err)), "-1/3 accepted");

    /* every name in exactly one shard, and the shards roughly even */
    for (int i = 0; i < 4000; i++) {
        char name[32];
        unsigned owners = 0;
        snprintf(name, sizeof(name), "d%d.example", i);
        for (unsigned k = 0; k < 4; k++) {
            batch_shard_t t = {.k = k, .n = 4};
            if (batch_shard_mine(&t, name)) {
                owners++;
                mine[k]++;
            }
        }
        CHECK_INT(name, owners, 1);
    }
    for (unsigned k = 0; k < 4; k++)
        CHECK(mine[k] > 850 && mine[k] < 1150, "shard %u has %u of 4000", k, mine[k]);
    CHECK(batch_shard_mine(&(batch_shard_t){.k = 0, .n = 1}, "anything.example"), "1 shard");

    unsetenv("JOB_COMPLETION_INDEX");
    /* --array=5-8 */
    setenv("SLURM_ARRAY_TASK_ID", "7", 1);
    setenv("SLURM_ARRAY_TASK_MIN", "5", 1);
    setenv("SLURM_ARRAY_TASK_MAX", "8", 1);
    setenv("SLURM_ARRAY_TASK_COUNT", "4", 1);
    setenv("SLURM_ARRAY_JOB_ID", "4242", 1);
    CHECK(batch_shard_parse("auto", 0, &s, err, sizeof(err)), "slurm: %s", err);
    CHECK_INT("slurm k", s.k, 2);
    CHECK_INT("slurm n", s.n, 4);
    CHECK_STR("slurm run id", s.run_id, "slurm-4242");
    /* --array=0-6:2: tasks 0 2 4 6 are shards 0 1 2 3 */
    setenv("SLURM_ARRAY_TASK_ID", "6", 1);
    setenv("SLURM_ARRAY_TASK_MIN", "0", 1);
    setenv("SLURM_ARRAY_TASK_MAX", "6", 1);
    setenv("SLURM_ARRAY_TASK_STEP", "2", 1);
    CHECK(batch_shard_parse("auto", 0, &s, err, sizeof(err)), "stepped: %s", err);
    CHECK_INT("stepped k", s.k, 3);
    CHECK_INT("stepped n", s.n, 4);
    /* --array=1,3,5 (MIN 1, MAX 5, COUNT 3, no step that fits): refused */
    setenv("SLURM_ARRAY_TASK_ID", "5", 1);
    setenv("SLURM_ARRAY_TASK_MIN", "1", 1);
    setenv("SLURM_ARRAY_TASK_MAX", "5", 1);
    setenv("SLURM_ARRAY_TASK_COUNT", "3", 1);
    setenv("SLURM_ARRAY_TASK_STEP", "1", 1);
    CHECK(!batch_shard_parse("auto", 0, &s, err, sizeof(err)), "a listed array accepted");
    CHECK(strstr(err, "--shard-count") != NULL, "listed: %s", err);
    /* with --shard-count the task id is the shard: re-run tasks 3 and 7 of 8 */
    setenv("SLURM_ARRAY_TASK_ID", "7", 1);
    CHECK(batch_shard_parse("auto", 8, &s, err, sizeof(err)), "count: %s", err);
    CHECK_INT("count k", s.k, 7);
    CHECK_INT("count n", s.n, 8);
    setenv("SLURM_ARRAY_TASK_ID", "9", 1);
    CHECK(!batch_shard_parse("auto", 8, &s, err, sizeof(err)), "task 9 of 8 accepted");
    unsetenv("SLURM_ARRAY_TASK_ID");
    setenv("JOB_COMPLETION_INDEX", "3", 1);
    CHECK(!batch_shard_parse("auto", 0, &s, err, sizeof(err)), "k8s without a count");
    CHECK(strstr(err, "--shard-count") != NULL, "k8s: %s", err);
    CHECK(batch_shard_parse("auto", 5, &s, err, sizeof(err)), "k8s: %s", err);
    CHECK_INT("k8s k", s.k, 3);
    CHECK_INT("k8s n", s.n, 5);
    unsetenv("JOB_COMPLETION_INDEX");
    CHECK(!batch_shard_parse("auto", 5, &s, err, sizeof(err)), "auto outside a job");
}

static void test_sets(void)
{
    batch_set_t set = {0};
    batch_recent_t recent = {.window = 100};
    size_t again = 0;

    for (uint64_t i = 0; i < 5000; i++)
        CHECK(batch_set_add(&set, i * 7919), "add %llu", (unsigned long long)i);
    CHECK(!batch_set_add(&set, 0), "0 twice");
    CHECK(batch_set_has(&set, 4999 * 7919ULL), "has");
    CHECK(!batch_set_has(&set, 5), "has not");
    CHECK_INT("n", set.n, 5000);
    batch_set_clear(&set);

    /* within the window a name comes once; memory stays two windows */
    CHECK(batch_recent_add(&recent, 1), "first");
    CHECK(!batch_recent_add(&recent, 1), "duplicate");
    for (uint64_t i = 2; i < 1000; i++)
        again += !batch_recent_add(&recent, i);
    CHECK_INT("no false duplicates", again, 0);
    CHECK(!batch_recent_add(&recent, 950), "recent duplicate");
    CHECK(batch_recent_add(&recent, 1), "far duplicate scanned again");
    /* each generation: a table of at least 1024 slots, at most half full */
    CHECK(recent.gen[0].cap <= 1024 && recent.gen[1].cap <= 1024, "bounded: %zu %zu",
          recent.gen[0].cap, recent.gen[1].cap);
    batch_recent_clear(&recent);
}

static void test_reader(void)
{
    int fds[2];
    batch_reader_t r;
    char line[16];

    CHECK(pipe(fds) == 0, "pipe");
    CHECK(batch_reader_init(&r, fds[0]) == 0, "init");
    CHECK_INT("nothing yet", batch_reader_next(&r, line, sizeof(line)), BATCH_LATER);
    CHECK(write(fds[1], "a.example\nb.ex", 14) == 14, "write");
    CHECK_INT("a line", batch_reader_next(&r, line, sizeof(line)), BATCH_LINE);
    CHECK_STR("its text", line, "a.example");
    CHECK_INT("half a line", batch_reader_next(&r, line, sizeof(line)), BATCH_LATER);
    CHECK(write(fds[1], "ample\nthis-line-is-too-long-for-16\nc.example", 45) == 45, "write");
    CHECK_INT("the rest", batch_reader_next(&r, line, sizeof(line)), BATCH_LINE);
    CHECK_STR("joined", line, "b.example");
    CHECK_INT("too long", batch_reader_next(&r, line, sizeof(line)), BATCH_TOO_LONG);
    CHECK_STR("its start", line, "this-line-is-to");
    CHECK_INT("no newline yet", batch_reader_next(&r, line, sizeof(line)), BATCH_LATER);
    close(fds[1]);
    CHECK_INT("the last line", batch_reader_next(&r, line, sizeof(line)), BATCH_LINE);
    CHECK_STR("without newline", line, "c.example");
    CHECK_INT("end", batch_reader_next(&r, line, sizeof(line)), BATCH_EOF);
    close(fds[0]);

    /* a long line split across reads is skipped to its end */
    CHECK(pipe(fds) == 0, "pipe");
    batch_reader_init(&r, fds[0]);
    CHECK(write(fds[1], "0123456789abcdefghij", 20) == 20, "write");
    CHECK_INT("too long", batch_reader_next(&r, line, sizeof(line)), BATCH_TOO_LONG);
    CHECK(write(fds[1], "klmnop\nd.example\n", 17) == 17, "write");
    CHECK_INT("after the long one", batch_reader_next(&r, line, sizeof(line)), BATCH_LINE);
    CHECK_STR("next line", line, "d.example");
    close(fds[1]);
    CHECK_INT("end", batch_reader_next(&r, line, sizeof(line)), BATCH_EOF);
    close(fds[0]);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    fputs(text, f);
    fclose(f);
}

static void test_resume(void)
{
    char path[] = "/tmp/test_batch_XXXXXX";
    int fd = mkstemp(path);
    batch_set_t done = {0};
    size_t records;
    char err[512], buf[4096];
    FILE *f;

    close(fd);
    write_file(path, "{\"schema_version\":1,\"domain\":\"a.example\",\"verdict\":\"dane-valid\"}\n"
                     "{\"schema_version\":1,\"input\":\"bad line\",\"verdict\":\"invalid-input\","
                     "\"error\":\"x\"}\n"
                     "{\"schema_version\":1,\"domain\":\"b.exa");
    CHECK(batch_resume_load(path, &done, &records, err, sizeof(err)) == 0, "load: %s", err);
    CHECK_INT("records", records, 2);
    CHECK(batch_set_has(&done, batch_record_key("a.example", NULL)), "a.example done");
    CHECK(batch_set_has(&done, batch_record_key(NULL, "bad line")), "invalid line done");
    CHECK(!batch_set_has(&done, batch_record_key("b.example", NULL)), "b.example not done");
    f = fopen(path, "r");
    buf[fread(buf, 1, sizeof(buf) - 1, f)] = '\0';
    fclose(f);
    CHECK(strstr(buf, "b.exa") == NULL, "the unfinished line is cut off");
    CHECK(buf[strlen(buf) - 1] == '\n', "the file ends with a whole line");
    batch_set_clear(&done);

    write_file(path, "domain,verdict\na.example,dane-valid\n");
    CHECK(batch_resume_load(path, &done, &records, err, sizeof(err)) != 0, "a CSV file resumed");
    CHECK(strstr(err, "line 1") != NULL, "names the line: %s", err);
    batch_set_clear(&done);
    unlink(path);
    CHECK(batch_resume_load(path, &done, &records, err, sizeof(err)) == 0, "missing file: %s", err);
    CHECK_INT("records of a missing file", records, 0);
}

static void test_summary(void)
{
    batch_summary_t s = {0};
    model_finding_t f[3] = {{.code = "single-tlsa"}, {.code = "single-tlsa"}, {.code = "mx-is-cname"}};
    model_domain_t a = {.verdict = MODEL_VERDICT_DANE_VALID, .findings = f, .n_findings = 3};
    model_domain_t b = {.verdict = MODEL_VERDICT_DANE_VALID, .findings = f, .n_findings = 1};
    model_domain_t c = {.verdict = MODEL_VERDICT_NXDOMAIN};
    json_t *j;

    batch_summary_add(&s, &a);
    batch_summary_add(&s, &b);
    batch_summary_add(&s, &c);
    j = batch_summary_json(&s, NULL);
    CHECK_INT("domains", json_integer_value(json_object_get(j, "domains")), 3);
    CHECK_INT("dane-valid",
              json_integer_value(json_object_get(json_object_get(j, "verdicts"), "dane-valid")), 2);
    CHECK_INT("nxdomain",
              json_integer_value(json_object_get(json_object_get(j, "verdicts"), "nxdomain")), 1);
    CHECK(json_object_get(json_object_get(j, "verdicts"), "no-dane") == NULL, "no zero counts");
    /* a code counts once per domain */
    CHECK_INT("single-tlsa",
              json_integer_value(json_object_get(json_object_get(j, "findings"), "single-tlsa")), 2);
    CHECK_INT("mx-is-cname",
              json_integer_value(json_object_get(json_object_get(j, "findings"), "mx-is-cname")), 1);
    json_decref(j);
    batch_summary_free(&s);
}

static void test_gate(void)
{
    probegate_t *g = probegate_new(2, 0);
    probegate_t *r = probegate_new(0, 5);
    int granted = 0;

    CHECK(probegate_acquire(g, "192.0.2.1"), "1st");
    CHECK(probegate_acquire(g, "192.0.2.1"), "2nd");
    CHECK(!probegate_acquire(g, "192.0.2.1"), "3rd to one address refused");
    CHECK(probegate_acquire(g, "2001:db8::1"), "another address");
    probegate_release(g, "192.0.2.1");
    CHECK(probegate_acquire(g, "192.0.2.1"), "after a release");
    probegate_free(g);

    /* 5 a second: a burst gets one, not a hundred */
    for (int i = 0; i < 100; i++)
        granted += probegate_acquire(r, "192.0.2.1");
    CHECK(granted >= 1 && granted <= 2, "burst: %d granted", granted);
    usleep(450 * 1000);
    granted = 0;
    for (int i = 0; i < 100; i++)
        granted += probegate_acquire(r, "192.0.2.1");
    CHECK(granted >= 1 && granted <= 3, "after 0.45 s at 5/s: %d granted", granted);
    probegate_free(r);
}

int main(void)
{
    test_hash();
    test_shard();
    test_sets();
    test_reader();
    test_resume();
    test_summary();
    test_gate();
    return check_summary();
}
