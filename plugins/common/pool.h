/*
 * A small fixed pool of threads for plugins that run several blocking jobs
 * per poll (system_status's health checks), so a poll neither starts threads
 * of its own nor waits for one job after another. Made once in init, reused
 * by every poll, freed in fini.
 *
 * Every function returns 0 or a negative errno and may be called from any
 * thread but the pool's own.
 */
#ifndef TACWS_POOL_H
#define TACWS_POOL_H

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
