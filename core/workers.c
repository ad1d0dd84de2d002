#include "workers.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

/* Extra threads start when a job finds every thread busy, so snapshots that
 * hang occupy threads of their own instead of starving other feeds; they end
 * after this long without work. */
#define EXTRA_IDLE_S 5

struct tacws_workers {
	pthread_mutex_t lock;
	pthread_cond_t wake, idle_cond;
	tacws_job *queue, **queue_tail;
	tacws_job *done, **done_tail;
	int busy;	       /* queued + running */
	int queued;	       /* not taken by a thread yet */
	int idle;	       /* threads waiting for work (a woken one counts until it runs) */
	int running_threads;   /* core + extra */
	int extra, max_extra;
	bool stopping;
	void (*notify)(void *arg);
	void *notify_arg;
	int n;
	pthread_t threads[]; /* the core threads, joined at stop */
};

struct worker_arg {
	tacws_workers *w;
	bool extra;
};

static void deadline_in(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void *worker_main(void *arg)
{
	struct worker_arg *wa = arg;
	tacws_workers *w = wa->w;
	bool extra = wa->extra;
	free(wa);
	pthread_mutex_lock(&w->lock);
	for (;;) {
		bool timed_out = false;
		while (!w->queue && !w->stopping && !timed_out) {
			w->idle++;
			if (extra) {
				struct timespec ts;
				deadline_in(&ts, EXTRA_IDLE_S * 1000L);
				timed_out = pthread_cond_timedwait(&w->wake, &w->lock, &ts) == ETIMEDOUT;
			} else {
				pthread_cond_wait(&w->wake, &w->lock);
			}
			w->idle--;
		}
		if (!w->queue)
			break;
		tacws_job *job = w->queue;
		w->queue = job->next;
		w->queued--;
		if (!w->queue)
			w->queue_tail = &w->queue;
		pthread_mutex_unlock(&w->lock);

		job->run(job);

		pthread_mutex_lock(&w->lock);
		job->next = NULL;
		*w->done_tail = job;
		w->done_tail = &job->next;
		w->busy--;
		pthread_mutex_unlock(&w->lock);
		w->notify(w->notify_arg);
		pthread_mutex_lock(&w->lock);
	}
	if (extra)
		w->extra--;
	w->running_threads--;
	pthread_cond_broadcast(&w->idle_cond);
	pthread_mutex_unlock(&w->lock); /* the last touch of w: stop may free it now */
	return NULL;
}

static int start_thread(tacws_workers *w, bool extra, pthread_t *out)
{
	struct worker_arg *wa = malloc(sizeof *wa);
	if (!wa)
		return -ENOMEM;
	*wa = (struct worker_arg){w, extra};
	pthread_t t;
	if (pthread_create(&t, NULL, worker_main, wa)) {
		free(wa);
		return -EAGAIN;
	}
	if (out)
		*out = t;
	else
		pthread_detach(t);
	return 0;
}

int tacws_workers_start(tacws_workers **out, int n, void (*notify)(void *arg), void *arg)
{
	tacws_workers *w = calloc(1, sizeof *w + (size_t)n * sizeof(pthread_t));
	if (!w)
		return -ENOMEM;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	pthread_cond_init(&w->idle_cond, NULL);
	w->queue_tail = &w->queue;
	w->done_tail = &w->done;
	w->notify = notify;
	w->notify_arg = arg;
	w->max_extra = 4 * n;
	for (; w->n < n; w->n++) {
		pthread_mutex_lock(&w->lock);
		w->running_threads++;
		pthread_mutex_unlock(&w->lock);
		if (start_thread(w, false, &w->threads[w->n])) {
			pthread_mutex_lock(&w->lock);
			w->running_threads--;
			pthread_mutex_unlock(&w->lock);
			tacws_workers_stop(w, 0);
			return -EAGAIN;
		}
	}
	*out = w;
	return 0;
}

void tacws_workers_submit(tacws_workers *w, tacws_job *job)
{
	job->next = NULL;
	pthread_mutex_lock(&w->lock);
	*w->queue_tail = job;
	w->queue_tail = &job->next;
	w->busy++;
	w->queued++;
	/* More jobs waiting than threads that will take them: a thread signalled
	 * but not yet running still counts as idle, so compare counts. */
	bool grow = w->queued > w->idle && w->extra < w->max_extra && !w->stopping;
	if (grow) {
		w->extra++;
		w->running_threads++;
	}
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	if (grow && start_thread(w, true, NULL)) {
		pthread_mutex_lock(&w->lock);
		w->extra--;
		w->running_threads--;
		pthread_mutex_unlock(&w->lock);
	}
}

tacws_job *tacws_workers_take_done(tacws_workers *w)
{
	pthread_mutex_lock(&w->lock);
	tacws_job *list = w->done;
	w->done = NULL;
	w->done_tail = &w->done;
	pthread_mutex_unlock(&w->lock);
	return list;
}

int tacws_workers_busy(tacws_workers *w)
{
	pthread_mutex_lock(&w->lock);
	int n = w->busy;
	pthread_mutex_unlock(&w->lock);
	return n;
}

int tacws_workers_threads(tacws_workers *w)
{
	pthread_mutex_lock(&w->lock);
	int n = w->running_threads;
	pthread_mutex_unlock(&w->lock);
	return n;
}

bool tacws_workers_stop(tacws_workers *w, int timeout_ms)
{
	if (!w)
		return true;
	struct timespec deadline;
	deadline_in(&deadline, timeout_ms);
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_broadcast(&w->wake);
	while (w->running_threads > 0)
		if (pthread_cond_timedwait(&w->idle_cond, &w->lock, &deadline) == ETIMEDOUT)
			break;
	bool all = w->running_threads == 0;
	pthread_mutex_unlock(&w->lock);
	if (!all) {
		for (int i = 0; i < w->n; i++)
			pthread_detach(w->threads[i]);
		return false; /* w stays allocated: hung threads still use it */
	}
	for (int i = 0; i < w->n; i++)
		pthread_join(w->threads[i], NULL);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->wake);
	pthread_cond_destroy(&w->idle_cond);
	free(w);
	return true;
}
