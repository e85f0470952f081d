/* test_loop.c - the event loop: timer order, cancellation (also from
 * callbacks), fd readiness, unwatching the running fd, termination. */
#include "check.h"
#include "loop.h"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

static char trace[64];
static size_t n_trace;

static void note(loop_t *loop, void *arg)
{
    (void)loop;
    if (n_trace < sizeof(trace) - 1)
        trace[n_trace++] = (char)(intptr_t)arg;
}

static void test_timer_order(void)
{
    loop_t *loop = loop_new();
    n_trace = 0;
    loop_timer_add(loop, 30, note, (void *)'c');
    loop_timer_add(loop, 10, note, (void *)'a');
    loop_timer_add(loop, 20, note, (void *)'b');
    loop_timer_add(loop, 10, note, (void *)'A'); /* same deadline: insertion order */
    loop_timer_t *gone = loop_timer_add(loop, 15, note, (void *)'x');
    loop_timer_cancel(loop, gone);
    CHECK_INT("loop_run", loop_run(loop), 0);
    trace[n_trace] = 0;
    CHECK_STR("timer order", trace, "aAbc");
    loop_free(loop);
}

static loop_timer_t *victim;

static void cancel_victim(loop_t *loop, void *arg)
{
    note(loop, arg);
    loop_timer_cancel(loop, victim);
}

static void test_cancel_from_callback(void)
{
    loop_t *loop = loop_new();
    n_trace = 0;
    loop_timer_add(loop, 1, cancel_victim, (void *)'k');
    victim = loop_timer_add(loop, 5, note, (void *)'v');
    loop_timer_add(loop, 6, note, (void *)'w');
    loop_run(loop);
    trace[n_trace] = 0;
    CHECK_STR("cancel from callback", trace, "kw");
    loop_free(loop);
}

static int reads;

static void on_readable(loop_t *loop, int fd, unsigned events, void *arg)
{
    char buf[16];
    (void)arg;
    CHECK(events & LOOP_READ, "events %u lack LOOP_READ", events);
    reads += (int)read(fd, buf, sizeof(buf));
    loop_unwatch(loop, fd); /* unwatch the fd whose callback is running */
}

static void write_later(loop_t *loop, void *arg)
{
    (void)loop;
    CHECK_INT("write", write((int)(intptr_t)arg, "hello", 5), 5);
}

static void test_fd_readiness(void)
{
    int p[2];
    loop_t *loop = loop_new();
    CHECK_INT("pipe", pipe(p), 0);
    reads = 0;
    CHECK_INT("watch", loop_watch(loop, p[0], LOOP_READ, on_readable, NULL), 0);
    loop_timer_add(loop, 5, write_later, (void *)(intptr_t)p[1]);
    uint64_t start = loop_now_ms(loop);
    CHECK_INT("loop_run", loop_run(loop), 0);
    CHECK_INT("bytes read", reads, 5);
    CHECK(loop_now_ms(loop) - start >= 5, "returned after %llu ms, want >= 5",
          (unsigned long long)(loop_now_ms(loop) - start));
    close(p[0]);
    close(p[1]);
    loop_free(loop);
}

static int rearms;

static void rearm(loop_t *loop, void *arg)
{
    (void)arg;
    if (++rearms < 1000)
        loop_timer_add(loop, 0, rearm, NULL);
}

static void test_zero_delay_chain(void)
{
    loop_t *loop = loop_new();
    rearms = 0;
    loop_timer_add(loop, 0, rearm, NULL);
    loop_run(loop);
    CHECK_INT("zero-delay chain ran to the end", rearms, 1000);
    loop_free(loop);
}

static void stopper(loop_t *loop, void *arg)
{
    note(loop, arg);
    loop_stop(loop);
}

static void test_stop_leaves_timers(void)
{
    loop_t *loop = loop_new();
    n_trace = 0;
    loop_timer_add(loop, 1, stopper, (void *)'s');
    loop_timer_add(loop, 50, note, (void *)'n');
    loop_run(loop);
    trace[n_trace] = 0;
    CHECK_STR("stop", trace, "s");
    loop_free(loop); /* frees the pending timer: no leak under ASan */
}

static void test_many_timers(void)
{
    enum { N = 5000 };
    static loop_timer_t *t[N];
    loop_t *loop = loop_new();
    n_trace = 0;
    for (int i = 0; i < N; i++)
        t[i] = loop_timer_add(loop, (uint64_t)(i * 7919 % 13), note, (void *)'m');
    for (int i = 0; i < N; i += 2)
        loop_timer_cancel(loop, t[i]);
    n_trace = 0;
    loop_run(loop);
    /* note() stops recording at 63; count through the heap instead */
    CHECK_INT("timers that ran (capped trace)", n_trace, 63);
    loop_free(loop);
}

int main(void)
{
    test_timer_order();
    test_cancel_from_callback();
    test_fd_readiness();
    test_zero_delay_chain();
    test_stop_leaves_timers();
    test_many_timers();
    return check_summary();
}
