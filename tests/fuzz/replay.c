/* replay.c - runs a libFuzzer target over files, without libFuzzer: the
 * committed corpus becomes an ordinary test in every build.
 *
 *   replay_smtp DIR|FILE...
 *
 * Every regular file given, or found directly in a directory given, is
 * passed once to LLVMFuzzerTestOneInput.  A crash or sanitizer report is
 * the failure; an unreadable path or an empty run fails too.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Corpus files are small; anything bigger is not ours. */
#define REPLAY_FILE_MAX ((size_t)64 << 20)

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = -1;

    if (f == NULL) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    for (;;) {
        size_t n;

        if (len == cap) {
            uint8_t *grown;

            cap = cap ? cap * 2 : 4096;
            if (cap > REPLAY_FILE_MAX) {
                fprintf(stderr, "%s: larger than %zu bytes\n", path, REPLAY_FILE_MAX);
                goto done;
            }
            grown = realloc(buf, cap);
            if (grown == NULL) {
                fprintf(stderr, "%s: out of memory\n", path);
                goto done;
            }
            buf = grown;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        fprintf(stderr, "%s: read error\n", path);
        goto done;
    }
    LLVMFuzzerTestOneInput(buf, len);
    rc = 0;
done:
    free(buf);
    fclose(f);
    return rc;
}

/* Regular files directly in dir, in name order so that runs compare. */
static int replay_dir(const char *dir, size_t *passed, size_t *failed)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);

    if (n < 0) {
        fprintf(stderr, "%s: %s\n", dir, strerror(errno));
        return -1;
    }
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat st;

        if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name) < (int)sizeof(path) &&
            stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            if (replay_file(path) == 0)
                (*passed)++;
            else
                (*failed)++;
        }
        free(names[i]);
    }
    free(names);
    return 0;
}

int main(int argc, char **argv)
{
    size_t passed = 0, failed = 0;

    for (int i = 1; i < argc; i++) {
        struct stat st;

        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
            failed++;
        } else if (S_ISDIR(st.st_mode)) {
            if (replay_dir(argv[i], &passed, &failed) != 0)
                failed++;
        } else if (replay_file(argv[i]) == 0) {
            passed++;
        } else {
            failed++;
        }
    }
    if (passed + failed == 0) {
        fprintf(stderr, "usage: %s DIR|FILE...: no input found\n", argv[0]);
        failed++;
    }
    printf("%zu passed, %zu failed\n", passed, failed);
    return failed ? 1 : 0;
}
