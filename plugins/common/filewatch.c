#include "filewatch.h"

#include "jsonutil.h"
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#define FOLDER_MASK                                                                                \
	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_DELETE_SELF |   \
	 IN_MOVE_SELF | IN_ONLYDIR)

struct tacws_filewatch {
	char *dir, *name;
	tacws_filewatch_fn fn;
	void *arg;
	int ifd, efd, wd;
	long long retry_at; /* 0: the folder is watched */
	pthread_t thread;
};

/* Watches the folder, or schedules another try; 1 when it just became watched. */
static int try_watch(tacws_filewatch *w)
{
	w->wd = inotify_add_watch(w->ifd, w->dir, FOLDER_MASK);
	w->retry_at = w->wd < 0 ? tacws_now_ms() + TACWS_FILEWATCH_RETRY_MS : 0;
	return w->wd >= 0;
}

/* 1 when the events in buf concern the file (or the folder itself went away). */
static int read_events(tacws_filewatch *w)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	int hit = 0;
	ssize_t n;
	while ((n = read(w->ifd, buf, sizeof buf)) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			p += sizeof *ev + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				hit = 1;
			} else if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
				/* The folder is gone: the file with it. Look for a new one. */
				if (ev->wd == w->wd && !w->retry_at) {
					inotify_rm_watch(w->ifd, w->wd);
					w->wd = -1;
					w->retry_at = tacws_now_ms() + TACWS_FILEWATCH_RETRY_MS;
					hit = 1;
				}
			} else if (ev->len && !strcmp(ev->name, w->name)) {
				hit = 1;
			}
		}
	}
	return hit;
}

static void *watch_thread(void *arg)
{
	tacws_filewatch *w = arg;
	for (;;) {
		long long now = tacws_now_ms();
		if (w->retry_at && now >= w->retry_at && try_watch(w))
			w->fn(w->arg);
		int timeout = w->retry_at ? (int)(w->retry_at > now ? w->retry_at - now : 0) : -1;
		int rc = tacws_thread_wait(w->efd, w->ifd, timeout);
		if (rc < 0)
			break;
		if (rc > 0 && read_events(w))
			w->fn(w->arg);
	}
	return NULL;
}

static void free_watch(tacws_filewatch *w)
{
	if (w->ifd >= 0)
		close(w->ifd);
	if (w->efd >= 0)
		close(w->efd);
	free(w->dir);
	free(w->name);
	free(w);
}

int tacws_filewatch_start(const char *path, tacws_filewatch_fn fn, void *arg,
                          tacws_filewatch **out)
{
	*out = NULL;
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	if (!*name)
		return -EINVAL;
	tacws_filewatch *w = calloc(1, sizeof *w);
	if (!w)
		return -ENOMEM;
	w->fn = fn;
	w->arg = arg;
	w->ifd = w->efd = w->wd = -1;
	w->dir = slash ? (slash == path ? strdup("/") : strndup(path, (size_t)(slash - path)))
	               : strdup(".");
	w->name = strdup(name);
	if (!w->dir || !w->name) {
		free_watch(w);
		return -ENOMEM;
	}
	w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	w->efd = eventfd(0, EFD_CLOEXEC);
	if (w->ifd < 0 || w->efd < 0) {
		int rc = -errno;
		free_watch(w);
		return rc;
	}
	try_watch(w);

	int rc = tacws_thread_spawn(&w->thread, watch_thread, w);
	if (rc) {
		free_watch(w);
		return rc;
	}
	*out = w;
	return 0;
}

void tacws_filewatch_stop(tacws_filewatch *w)
{
	if (!w)
		return;
	tacws_thread_wake_join(w->efd, w->thread);
	free_watch(w);
}
