/*
 * A pool of threads that run snapshot jobs off the event loop: n threads
 * always, and up to 4n more while every thread is busy (a hung snapshot then
 * holds a thread of its own, not the other feeds' turn). Jobs go
 * in with tacws_workers_submit from the loop thread; finished jobs come back
 * through tacws_workers_take_done, and the `notify` callback (called on the
 * worker thread) tells the loop to look (lws_cancel_service).
 */
#ifndef TACWS_WORKERS_H
#define TACWS_WORKERS_H

#include <stdbool.h>

typedef struct tacws_job tacws_job;
typedef struct tacws_workers tacws_workers;

struct tacws_job {
	tacws_job *next;
	void (*run)(tacws_job *job); /* on a worker thread */
};

/* Starts n threads. Returns 0 or -errno. */
int tacws_workers_start(tacws_workers **out, int n, void (*notify)(void *arg), void *arg);

/* Queues job; it runs once, on some worker. */
void tacws_workers_submit(tacws_workers *w, tacws_job *job);

/* Removes and returns the finished jobs, oldest first (a list via ->next). */
tacws_job *tacws_workers_take_done(tacws_workers *w);

/* Number of jobs queued or running. */
int tacws_workers_busy(tacws_workers *w);

/* Number of threads now, extra ones included. */
int tacws_workers_threads(tacws_workers *w);

/* Stops taking jobs, waits up to timeout_ms for running ones, joins the
 * threads. Returns true when every thread ended; false means a snapshot is
 * hung, and the caller must not unload plugins (the threads are detached). */
bool tacws_workers_stop(tacws_workers *w, int timeout_ms);

#endif
