/* check.h - the smallest test harness that says "got X, want Y".
 *
 * A test file defines test functions, calls CHECK* in them, and ends
 * main with `return check_summary();`, which prints the closing
 * "N passed, N failed" line and returns the exit status.
 */
#ifndef DANESCAN_CHECK_H
#define DANESCAN_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (cond) {                                                        \
            check_passed++;                                                \
        } else {                                                           \
            check_failed++;                                                \
            fprintf(stderr, "%s:%d: FAIL: ", __FILE__, __LINE__);          \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
        }                                                                  \
    } while (0)

#define CHECK_INT(name, got, want)                                         \
    CHECK((long long)(got) == (long long)(want), "%s: got %lld, want %lld", \
          (name), (long long)(got), (long long)(want))

static inline int check_str_eq(const char *got, const char *want)
{
    return (got == NULL && want == NULL) ||
           (got != NULL && want != NULL && strcmp(got, want) == 0);
}

static inline const char *check_str_show(const char *s)
{
    return s ? s : "(null)";
}

#define CHECK_STR(name, got, want)                                         \
    CHECK(check_str_eq((got), (want)), "%s: got \"%s\", want \"%s\"",      \
          (name), check_str_show(got), check_str_show(want))

static inline int check_summary(void)
{
    printf("%d passed, %d failed\n", check_passed, check_failed);
    return check_failed ? 1 : 0;
}

#endif
