#include "workers.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct tacws_workers {
	pthread_mutex_t lock;
	pthread_cond_t wake, idle;
	tacws_job *queue, **queue_tail;
	tacws_job *done, **done_tail;
	int busy; /* queued + running */
	int running_threads;
	bool stopping;
	void (*notify)(void *arg);
	void *notify_arg;
	int n;
	pthread_t threads[];
};

static void *worker_main(void *arg)
{
	tacws_workers *w = arg;
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->queue && !w->stopping)
			pthread_cond_wait(&w->wake, &w->lock);
		if (!w->queue)
			break;
		tacws_job *job = w->queue;
		w->queue = job->next;
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
	w->running_threads--;
	pthread_cond_broadcast(&w->idle);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int tacws_workers_start(tacws_workers **out, int n, void (*notify)(void *arg), void *arg)
{
	tacws_workers *w = calloc(1, sizeof *w + (size_t)n * sizeof(pthread_t));
	if (!w)
		return -ENOMEM;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	pthread_cond_init(&w->idle, NULL);
	w->queue_tail = &w->queue;
	w->done_tail = &w->done;
	w->notify = notify;
	w->notify_arg = arg;
	for (; w->n < n; w->n++) {
		if (pthread_create(&w->threads[w->n], NULL, worker_main, w)) {
			tacws_workers_stop(w, 0);
			return -EAGAIN;
		}
		w->running_threads++;
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
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
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

bool tacws_workers_stop(tacws_workers *w, int timeout_ms)
{
	if (!w)
		return true;
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_broadcast(&w->wake);
	while (w->running_threads > 0)
		if (pthread_cond_timedwait(&w->idle, &w->lock, &deadline) == ETIMEDOUT)
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
	/* Jobs never run are dropped with the pool; the owner still holds them. */
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->wake);
	pthread_cond_destroy(&w->idle);
	free(w);
	return true;
}
