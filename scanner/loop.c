/* loop.c - epoll and a binary heap of timers. */
#include "loop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define LOOP_MAX_EVENTS 256

typedef struct {
    loop_io_cb cb;
    void *arg;
    unsigned events;            /* 0: not watched */
} loop_fd_t;

struct loop_timer {
    uint64_t when;
    uint64_t seq;               /* ties break in insertion order */
    size_t slot;                /* index in the heap */
    loop_timer_cb cb;
    void *arg;
};

struct loop {
    int epfd;
    loop_fd_t *fds;
    size_t n_fds;               /* size of fds[] */
    size_t n_watched;
    loop_timer_t **heap;
    size_t n_timers, cap_timers;
    uint64_t seq;
    uint64_t now;
    bool stop;
};

static uint64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

loop_t *loop_new(void)
{
    loop_t *loop = calloc(1, sizeof(*loop));
    if (loop == NULL)
        return NULL;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0) {
        free(loop);
        return NULL;
    }
    loop->now = monotonic_ms();
    return loop;
}

void loop_free(loop_t *loop)
{
    if (loop == NULL)
        return;
    for (size_t i = 0; i < loop->n_timers; i++)
        free(loop->heap[i]);
    free(loop->heap);
    free(loop->fds);
    close(loop->epfd);
    free(loop);
}

uint64_t loop_now_ms(const loop_t *loop)
{
    return loop->now;
}

/* ------------------------------------------------------------------ fds */

static uint32_t to_epoll(unsigned events)
{
    return (events & LOOP_READ ? EPOLLIN : 0) | (events & LOOP_WRITE ? EPOLLOUT : 0);
}

int loop_watch(loop_t *loop, int fd, unsigned events, loop_io_cb cb, void *arg)
{
    struct epoll_event ev = {.events = to_epoll(events), .data.fd = fd};
    loop_fd_t *slot;

    if (fd < 0) {
        errno = EBADF;
        return -1;
    }
    if (events == 0) {
        loop_unwatch(loop, fd);
        return 0;
    }
    if ((size_t)fd >= loop->n_fds) {
        size_t n = loop->n_fds ? loop->n_fds : 64;
        while (n <= (size_t)fd)
            n *= 2;
        loop_fd_t *fds = realloc(loop->fds, n * sizeof(*fds));
        if (fds == NULL)
            return -1;
        memset(fds + loop->n_fds, 0, (n - loop->n_fds) * sizeof(*fds));
        loop->fds = fds;
        loop->n_fds = n;
    }
    slot = &loop->fds[fd];
    if (epoll_ctl(loop->epfd, slot->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) < 0)
        return -1;
    if (slot->events == 0)
        loop->n_watched++;
    slot->cb = cb;
    slot->arg = arg;
    slot->events = events;
    return 0;
}

void loop_unwatch(loop_t *loop, int fd)
{
    if (fd < 0 || (size_t)fd >= loop->n_fds || loop->fds[fd].events == 0)
        return;
    /* the fd may already be closed: then the kernel dropped it for us */
    epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
    memset(&loop->fds[fd], 0, sizeof(loop->fds[fd]));
    loop->n_watched--;
}

/* --------------------------------------------------------------- timers */

static bool earlier(const loop_timer_t *a, const loop_timer_t *b)
{
    return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static void heap_set(loop_t *loop, size_t i, loop_timer_t *t)
{
    loop->heap[i] = t;
    t->slot = i;
}

static void heap_up(loop_t *loop, size_t i)
{
    loop_timer_t *t = loop->heap[i];
    while (i > 0 && earlier(t, loop->heap[(i - 1) / 2])) {
        heap_set(loop, i, loop->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_set(loop, i, t);
}

static void heap_down(loop_t *loop, size_t i)
{
    loop_timer_t *t = loop->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= loop->n_timers)
            break;
        if (child + 1 < loop->n_timers && earlier(loop->heap[child + 1], loop->heap[child]))
            child++;
        if (!earlier(loop->heap[child], t))
            break;
        heap_set(loop, i, loop->heap[child]);
        i = child;
    }
    heap_set(loop, i, t);
}

static void heap_remove(loop_t *loop, size_t i)
{
    loop->n_timers--;
    if (i == loop->n_timers)
        return;
    loop_timer_t *moved = loop->heap[loop->n_timers];
    heap_set(loop, i, moved);
    heap_down(loop, i);
    heap_up(loop, moved->slot);
}

loop_timer_t *loop_timer_add(loop_t *loop, uint64_t delay_ms, loop_timer_cb cb, void *arg)
{
    loop_timer_t *t;

    if (loop->n_timers == loop->cap_timers) {
        size_t cap = loop->cap_timers ? 2 * loop->cap_timers : 64;
        loop_timer_t **heap = realloc(loop->heap, cap * sizeof(*heap));
        if (heap == NULL)
            return NULL;
        loop->heap = heap;
        loop->cap_timers = cap;
    }
    t = malloc(sizeof(*t));
    if (t == NULL)
        return NULL;
    t->when = monotonic_ms() + delay_ms;
    t->seq = loop->seq++;
    t->cb = cb;
    t->arg = arg;
    heap_set(loop, loop->n_timers++, t);
    heap_up(loop, t->slot);
    return t;
}

void loop_timer_cancel(loop_t *loop, loop_timer_t *timer)
{
    if (timer == NULL)
        return;
    heap_remove(loop, timer->slot);
    free(timer);
}

/* ----------------------------------------------------------------- run */

void loop_stop(loop_t *loop)
{
    loop->stop = true;
}

static void run_due_timers(loop_t *loop)
{
    /* Only timers due now: one added by a callback for "now" waits for
     * the next round, so a zero-delay chain cannot starve the fds. */
    uint64_t until = loop->now;
    uint64_t last_seq = loop->seq;

    while (loop->n_timers > 0 && !loop->stop) {
        loop_timer_t *t = loop->heap[0];
        if (t->when > until || t->seq >= last_seq)
            break;
        heap_remove(loop, 0);
        loop_timer_cb cb = t->cb;
        void *arg = t->arg;
        free(t);
        cb(loop, arg);
    }
}

int loop_run(loop_t *loop)
{
    struct epoll_event events[LOOP_MAX_EVENTS];

    loop->stop = false;
    while (!loop->stop && (loop->n_watched > 0 || loop->n_timers > 0)) {
        int timeout = -1, n;

        loop->now = monotonic_ms();
        if (loop->n_timers > 0) {
            uint64_t when = loop->heap[0]->when;
            timeout = when <= loop->now ? 0 : (int)(when - loop->now);
        }
        n = epoll_wait(loop->epfd, events, LOOP_MAX_EVENTS, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        loop->now = monotonic_ms();
        for (int i = 0; i < n && !loop->stop; i++) {
            int fd = events[i].data.fd;
            unsigned what = 0;
            /* looked up again: an earlier callback may have unwatched it */
            if ((size_t)fd >= loop->n_fds || loop->fds[fd].events == 0)
                continue;
            if (events[i].events & (EPOLLIN | EPOLLHUP))
                what |= LOOP_READ;
            if (events[i].events & EPOLLOUT)
                what |= LOOP_WRITE;
            if (events[i].events & EPOLLERR)
                what |= LOOP_ERROR | (loop->fds[fd].events & (LOOP_READ | LOOP_WRITE));
            loop->fds[fd].cb(loop, fd, what, loop->fds[fd].arg);
        }
        run_due_timers(loop);
    }
    return 0;
}
