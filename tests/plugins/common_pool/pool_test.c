#include "pool.h"
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* Jobs that wait until `want` of them run at once (or all that are left of
 * `total` do), or the deadline passes. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	int running, peak, done, want, total;
} st = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, 0};

static void rendezvous(void *arg)
{
	(void)arg;
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&st.lock);
	if (++st.running > st.peak)
		st.peak = st.running;
	pthread_cond_broadcast(&st.changed);
	while (st.running < st.want && st.done + st.running < st.total &&
	       pthread_cond_timedwait(&st.changed, &st.lock, &until) != ETIMEDOUT)
		;
	st.running--;
	st.done++;
	pthread_cond_broadcast(&st.changed);
	pthread_mutex_unlock(&st.lock);
}

static void reset(int want, int total)
{
	st.running = st.peak = st.done = 0;
	st.want = want;
	st.total = total;
}

static void test_jobs_run_at_once(void)
{
	tacws_pool *pool;
	CU_ASSERT_EQUAL_FATAL(tacws_pool_new(4, &pool), 0);
	reset(4, 4);
	long long t0 = tacws_test_now_ms();
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(tacws_pool_submit(pool, rendezvous, NULL), 0);
	tacws_pool_free(pool); /* waits for every job */
	CU_ASSERT_EQUAL(st.done, 4);
	CU_ASSERT_EQUAL(st.peak, 4);
	CU_ASSERT_TRUE(tacws_test_now_ms() - t0 < 4000); /* met, not timed out */
}

static void test_bounded_and_queued(void)
{
	/* Two threads, five jobs: never more than two at once, all of them run. */
	tacws_pool *pool;
	CU_ASSERT_EQUAL_FATAL(tacws_pool_new(2, &pool), 0);
	reset(2, 5);
	for (int i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(tacws_pool_submit(pool, rendezvous, NULL), 0);
	long long t0 = tacws_test_now_ms();
	tacws_pool_free(pool);
	CU_ASSERT_TRUE(tacws_test_now_ms() - t0 < 4000);
	CU_ASSERT_EQUAL(st.done, 5);
	CU_ASSERT_EQUAL(st.peak, 2);
	CU_ASSERT_EQUAL(tacws_pool_new(0, &pool), -EINVAL);
	CU_ASSERT_PTR_NULL(pool);
	tacws_pool_free(NULL);
}

static void *waiter(void *arg)
{
	int *fds = arg;
	int rc;
	while ((rc = tacws_thread_wait(fds[0], fds[1], -1)) >= 0)
		if (rc > 0) {
			uint64_t v;
			if (read(fds[1], &v, sizeof v) == sizeof v)
				fds[2]++;
		}
	return NULL;
}

static void test_wait_and_stop(void)
{
	int fds[3] = {eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), 0};
	CU_ASSERT_TRUE_FATAL(fds[0] >= 0 && fds[1] >= 0);
	CU_ASSERT_EQUAL(tacws_thread_wait(fds[0], fds[1], 10), 0); /* nothing ready: timeout */
	pthread_t t;
	CU_ASSERT_EQUAL_FATAL(tacws_thread_spawn(&t, waiter, fds), 0);
	uint64_t one = 1;
	CU_ASSERT_EQUAL(write(fds[1], &one, sizeof one), (ssize_t)sizeof one);
	tacws_thread_wake_join(fds[0], t); /* returns only if the thread saw the stop */
	CU_ASSERT_TRUE(fds[2] <= 1);
	close(fds[0]);
	close(fds[1]);
}

int main(void)
{
	static const tacws_test_case cases[] = {
	    {"jobs run at once on the pool's threads", test_jobs_run_at_once},
	    {"at most as many at once as threads; the rest queue", test_bounded_and_queued},
	    {"a thread waits on its fd and stops on the eventfd", test_wait_and_stop},
	    {NULL, NULL},
	};
	return tacws_test_run("pool", NULL, NULL, cases);
}
