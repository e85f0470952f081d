/* loop.h - one epoll event loop per worker: file descriptors and timers.
 *
 * Single-threaded. Callbacks may watch, unwatch, add and cancel freely,
 * including the fd or timer whose callback is running: the loop looks an
 * fd's entry up again before every dispatch and never touches a timer
 * after handing it to its callback.
 */
#ifndef DANESCAN_LOOP_H
#define DANESCAN_LOOP_H

#include <stdint.h>

typedef struct loop loop_t;
typedef struct loop_timer loop_timer_t;

enum { LOOP_READ = 1, LOOP_WRITE = 2, LOOP_ERROR = 4 };

typedef void (*loop_io_cb)(loop_t *loop, int fd, unsigned events, void *arg);
typedef void (*loop_timer_cb)(loop_t *loop, void *arg);

loop_t *loop_new(void);
void loop_free(loop_t *loop);

/* Watch fd for `events` (LOOP_READ|LOOP_WRITE), replacing an earlier
 * watch of the same fd; events == 0 unwatches.  -1 with errno on failure. */
int loop_watch(loop_t *loop, int fd, unsigned events, loop_io_cb cb, void *arg);
void loop_unwatch(loop_t *loop, int fd);

/* Call cb once, delay_ms from now.  The handle is valid until the callback
 * starts or loop_timer_cancel is called; NULL on allocation failure. */
loop_timer_t *loop_timer_add(loop_t *loop, uint64_t delay_ms, loop_timer_cb cb, void *arg);
void loop_timer_cancel(loop_t *loop, loop_timer_t *timer);

/* Monotonic milliseconds, as of the last wake-up. */
uint64_t loop_now_ms(const loop_t *loop);

/* Dispatch until nothing is watched and no timer is pending, or until
 * loop_stop.  0, or -1 with errno when epoll fails. */
int loop_run(loop_t *loop);
void loop_stop(loop_t *loop);

#endif
