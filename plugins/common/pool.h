/*
 * Threads for plugins: a helper to start one that takes no signals, one to
 * stop a thread that polls an eventfd, and a small fixed pool of threads for plugins that run several blocking jobs
 * per poll (system_status's health checks), so a poll neither starts threads
 * of its own nor waits for one job after another. Made once in init, reused
 * by every poll, freed in fini.
 *
 * Every function returns 0 or a negative errno and may be called from any
 * thread but the pool's own.
 */
#ifndef TACWS_POOL_H
#define TACWS_POOL_H

#include <pthread.h>

/* pthread_create with every signal blocked in the new thread: signals belong
 * to the host's threads. Returns 0 or -errno. */
int tacws_thread_spawn(pthread_t *thread, void *(*fn)(void *), void *arg);

/* For a thread that waits on fd and returns when the eventfd stop_fd is
 * readable: waits up to timeout_ms (-1: no bound). Returns 1 when fd is
 * readable, 0 when the time ran out or a signal came, -1 when the thread
 * should return (stop_fd readable, or poll failed). */
int tacws_thread_wait(int stop_fd, int fd, int timeout_ms);

/* Makes the eventfd efd readable (the thread's cue to return) and joins thread. */
void tacws_thread_wake_join(int efd, pthread_t thread);

typedef struct tacws_pool tacws_pool;
typedef void (*tacws_pool_fn)(void *arg);

/* Starts threads (1 to 64) that block every signal. Returns 0, -EINVAL,
 * -ENOMEM or -errno from pthread_create (then *out is NULL). */
int tacws_pool_new(unsigned threads, tacws_pool **out);

/* Queues fn(arg) to run on one of the threads, first come first served.
 * Returns 0, or -ENOMEM (fn is then not run). */
int tacws_pool_submit(tacws_pool *pool, tacws_pool_fn fn, void *arg);

/* Runs what is queued, waits for every job to return, joins the threads and
 * frees pool. NULL is fine. */
void tacws_pool_free(tacws_pool *pool);

#endif
