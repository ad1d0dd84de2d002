#include "pool.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

int tacws_thread_spawn(pthread_t *thread, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = -pthread_create(thread, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

int tacws_thread_wait(int stop_fd, int fd, int timeout_ms)
{
	struct pollfd fds[2] = {{.fd = stop_fd, .events = POLLIN}, {.fd = fd, .events = POLLIN}};
	int rc = poll(fds, 2, timeout_ms);
	if ((rc < 0 && errno != EINTR) || (rc > 0 && fds[0].revents))
		return -1;
	return rc > 0 && fds[1].revents ? 1 : 0;
}

void tacws_thread_wake_join(int efd, pthread_t thread)
{
	uint64_t one = 1;
	while (write(efd, &one, sizeof one) < 0 && errno == EINTR)
		;
	pthread_join(thread, NULL);
}

struct job {
	tacws_pool_fn fn;
	void *arg;
	struct job *next;
};

struct tacws_pool {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct job *head, *tail;
	int stopping;
	unsigned n;
	pthread_t threads[];
};

static void *worker(void *arg)
{
	tacws_pool *p = arg;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->head && !p->stopping)
			pthread_cond_wait(&p->wake, &p->lock);
		struct job *j = p->head;
		if (!j)
			break; /* stopping, and nothing is left */
		p->head = j->next;
		if (!p->head)
			p->tail = NULL;
		pthread_mutex_unlock(&p->lock);
		j->fn(j->arg);
		free(j);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static void stop_and_join(tacws_pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->n; i++)
		pthread_join(p->threads[i], NULL);
}

int tacws_pool_new(unsigned threads, tacws_pool **out)
{
	*out = NULL;
	if (threads < 1 || threads > 64)
		return -EINVAL;
	tacws_pool *p = calloc(1, sizeof *p + threads * sizeof p->threads[0]);
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	int rc = 0;
	for (; p->n < threads; p->n++) {
		rc = tacws_thread_spawn(&p->threads[p->n], worker, p);
		if (rc)
			break;
	}
	if (rc) {
		stop_and_join(p);
		pthread_cond_destroy(&p->wake);
		pthread_mutex_destroy(&p->lock);
		free(p);
		return rc;
	}
	*out = p;
	return 0;
}

int tacws_pool_submit(tacws_pool *p, tacws_pool_fn fn, void *arg)
{
	struct job *j = malloc(sizeof *j);
	if (!j)
		return -ENOMEM;
	*j = (struct job){.fn = fn, .arg = arg};
	pthread_mutex_lock(&p->lock);
	if (p->tail)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

void tacws_pool_free(tacws_pool *p)
{
	if (!p)
		return;
	stop_and_join(p);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
