#include "agents.h"

#include "jsonutil.h"
#include "pool.h"
#include "sources.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int tacws_adw_id_valid(const char *id)
{
	if (!id)
		return 0;
	size_t n = 0;
	for (; id[n]; n++) {
		char c = id[n];
		if (n == TACWS_ADW_ID_MAX || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		                               (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return n > 0;
}

const char *tacws_agents_repo_root(const tacws_host_api *host, tacws_plugin_ctx *ctx)
{
	return tacws_source_get(host, ctx, "repo_root");
}

int tacws_agents_path(char *buf, size_t len, const char *repo_root, const char *top,
                      const char *adw_id, const char *rel)
{
	if (!tacws_adw_id_valid(adw_id))
		return -EINVAL;
	int n = rel ? snprintf(buf, len, "%s/%s/%s/%s", repo_root, top, adw_id, rel)
	            : snprintf(buf, len, "%s/%s/%s", repo_root, top, adw_id);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int tacws_agents_is_dir(const char *repo_root, const char *top, const char *adw_id, const char *rel)
{
	char path[PATH_MAX];
	struct stat st;
	if (tacws_agents_path(path, sizeof path, repo_root, top, adw_id, rel))
		return 0;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int tacws_agents_read_json(const char *repo_root, const char *adw_id, const char *rel,
                           json_object **out, char *err, size_t errlen)
{
	char path[PATH_MAX];
	*out = NULL;
	int rc = tacws_agents_path(path, sizeof path, repo_root, "agents", adw_id, rel);
	if (rc) {
		snprintf(err, errlen, "%s", rc == -EINVAL ? "invalid adw_id" : "path too long");
		return rc;
	}
	rc = tacws_json_read_file(path, out, err, errlen);
	/* Tell "not JSON (yet)" apart from a bad id. */
	return rc == -EINVAL ? -EBADMSG : rc;
}

int tacws_agents_issue_number(json_object *state, int64_t *out)
{
	json_object *v;
	if (!json_object_object_get_ex(state, "issue_number", &v))
		return -EINVAL;
	if (json_object_is_type(v, json_type_int)) {
		*out = json_object_get_int64(v);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return -EINVAL;
	const char *s = json_object_get_string(v);
	size_t n = strlen(s);
	if (n == 0 || n > 18 || strspn(s, "0123456789") != n)
		return -EINVAL;
	*out = strtoll(s, NULL, 10);
	return 0;
}

static int cmp_run(const void *a, const void *b)
{
	return strcmp(((const tacws_agents_run *)a)->adw_id, ((const tacws_agents_run *)b)->adw_id);
}

int tacws_agents_load(const char *repo_root, tacws_agents_runs *out)
{
	char path[PATH_MAX];
	out->v = NULL;
	out->n = 0;
	if (snprintf(path, sizeof path, "%s/agents", repo_root) >= (int)sizeof path)
		return -ENAMETOOLONG;
	DIR *d = opendir(path);
	if (!d)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	size_t cap = 0;
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!tacws_adw_id_valid(de->d_name))
			continue;
		tacws_agents_run run = {0};
		memcpy(run.adw_id, de->d_name, strlen(de->d_name) + 1);
		run.err = tacws_agents_read_json(repo_root, run.adw_id, TACWS_AGENTS_STATE_FILE,
		                                 &run.state, run.reason, sizeof run.reason);
		if (run.err == -ENOENT || run.err == -ENOTDIR)
			continue;
		if (!run.err && !json_object_is_type(run.state, json_type_object)) {
			json_object_put(run.state);
			run.state = NULL;
			run.err = -EBADMSG;
			snprintf(run.reason, sizeof run.reason, "%s/%s: not a JSON object",
			         run.adw_id, TACWS_AGENTS_STATE_FILE);
		}
		if (out->n == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			tacws_agents_run *v = realloc(out->v, ncap * sizeof *v);
			if (!v) {
				json_object_put(run.state);
				rc = -ENOMEM;
				break;
			}
			out->v = v;
			cap = ncap;
		}
		out->v[out->n++] = run;
	}
	closedir(d);
	if (out->n > 1)
		qsort(out->v, out->n, sizeof *out->v, cmp_run);
	return rc;
}

void tacws_agents_runs_free(tacws_agents_runs *runs)
{
	for (size_t i = 0; i < runs->n; i++)
		json_object_put(runs->v[i].state);
	free(runs->v);
	runs->v = NULL;
	runs->n = 0;
}

struct tacws_agents_skiplog {
	pthread_mutex_t lock;
	char (*ids)[TACWS_ADW_ID_MAX + 1]; /* runs that were broken at the last report */
	size_t n;
};

int tacws_agents_skiplog_new(tacws_agents_skiplog **out)
{
	*out = calloc(1, sizeof **out);
	if (!*out)
		return -ENOMEM;
	pthread_mutex_init(&(*out)->lock, NULL);
	return 0;
}

void tacws_agents_skiplog_free(tacws_agents_skiplog *log)
{
	if (!log)
		return;
	pthread_mutex_destroy(&log->lock);
	free(log->ids);
	free(log);
}

static int skiplog_had(const tacws_agents_skiplog *log, const char *id)
{
	for (size_t i = 0; i < log->n; i++)
		if (!strcmp(log->ids[i], id))
			return 1;
	return 0;
}

void tacws_agents_skiplog_report(tacws_agents_skiplog *log, const tacws_agents_runs *runs,
                                 const tacws_host_api *host, tacws_plugin_ctx *ctx)
{
	size_t broken = 0;
	for (size_t i = 0; i < runs->n; i++)
		broken += runs->v[i].err != 0;
	char(*ids)[TACWS_ADW_ID_MAX + 1] = broken ? calloc(broken, sizeof *ids) : NULL;
	size_t n = 0;
	pthread_mutex_lock(&log->lock);
	for (size_t i = 0; i < runs->n; i++) {
		const tacws_agents_run *r = &runs->v[i];
		if (!r->err)
			continue;
		host->log(ctx, skiplog_had(log, r->adw_id) ? TACWS_LOG_DEBUG : TACWS_LOG_WARN,
		          "skipping workflow %s: %s", r->adw_id, r->reason);
		if (ids)
			memcpy(ids[n++], r->adw_id, sizeof ids[0]);
	}
	free(log->ids);
	log->ids = ids;
	log->n = n;
	pthread_mutex_unlock(&log->lock);
}

/* Watcher. */

enum watch_kind { WATCH_ROOT, WATCH_AGENTS, WATCH_RUN, WATCH_TREES };

struct watch {
	int wd;
	enum watch_kind kind;
	char id[TACWS_ADW_ID_MAX + 1];
};

/* Past this many distinct pending ids, one "everything" call is cheaper. */
#define PENDING_MAX 64

struct tacws_agents_watcher {
	char *root_dir, *agents_dir, *trees_dir;
	unsigned flags;
	tacws_agents_watch_fn fn;
	void *arg;
	int ifd, efd;
	pthread_t thread;

	struct watch *w;
	size_t nw, capw;
	int root_wd, agents_wd, trees_wd;
	long long retry_at;

	int pending_all;
	char pending[PENDING_MAX][TACWS_ADW_ID_MAX + 1];
	size_t npending;
	long long due; /* 0: nothing pending */
};

static void mark(tacws_agents_watcher *w, const char *id)
{
	if (!w->due)
		w->due = tacws_now_ms() + TACWS_AGENTS_COALESCE_MS;
	if (w->pending_all)
		return;
	if (!id || w->npending == PENDING_MAX) {
		w->pending_all = 1;
		return;
	}
	for (size_t i = 0; i < w->npending; i++)
		if (!strcmp(w->pending[i], id))
			return;
	snprintf(w->pending[w->npending++], sizeof w->pending[0], "%s", id);
}

static void flush(tacws_agents_watcher *w)
{
	if (w->pending_all)
		w->fn(w->arg, NULL);
	else
		for (size_t i = 0; i < w->npending; i++)
			w->fn(w->arg, w->pending[i]);
	w->pending_all = 0;
	w->npending = 0;
	w->due = 0;
}

static struct watch *find_wd(tacws_agents_watcher *w, int wd)
{
	for (size_t i = 0; i < w->nw; i++)
		if (w->w[i].wd == wd)
			return &w->w[i];
	return NULL;
}

static void forget_wd(tacws_agents_watcher *w, int wd)
{
	for (size_t i = 0; i < w->nw; i++)
		if (w->w[i].wd == wd) {
			w->w[i] = w->w[--w->nw];
			return;
		}
}

static int add_watch(tacws_agents_watcher *w, const char *path, uint32_t mask, enum watch_kind kind,
                     const char *id)
{
	int wd = inotify_add_watch(w->ifd, path, mask);
	if (wd < 0)
		return -errno;
	struct watch *old = find_wd(w, wd);
	if (old)
		return wd;
	if (w->nw == w->capw) {
		size_t cap = w->capw ? w->capw * 2 : 32;
		struct watch *v = realloc(w->w, cap * sizeof *v);
		if (!v) {
			inotify_rm_watch(w->ifd, wd);
			return -ENOMEM;
		}
		w->w = v;
		w->capw = cap;
	}
	w->w[w->nw] = (struct watch){.wd = wd, .kind = kind};
	snprintf(w->w[w->nw].id, sizeof w->w[0].id, "%s", id ? id : "");
	w->nw++;
	return wd;
}

#define RUN_MASK                                                                                   \
	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR |       \
	 IN_DONT_FOLLOW)
#define TOP_MASK                                                                                   \
	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF |     \
	 IN_ONLYDIR)

static void watch_run(tacws_agents_watcher *w, const char *id)
{
	char path[PATH_MAX];
	if (!tacws_adw_id_valid(id) ||
	    snprintf(path, sizeof path, "%s/%s", w->agents_dir, id) >= (int)sizeof path)
		return;
	add_watch(w, path, RUN_MASK, WATCH_RUN, id);
}

/* Adds watches for every run folder; inotify hands back the same wd for a
 * folder already watched, so this is safe to repeat after an overflow. */
static void watch_all_runs(tacws_agents_watcher *w)
{
	DIR *d = opendir(w->agents_dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)))
		if (tacws_adw_id_valid(de->d_name))
			watch_run(w, de->d_name);
	closedir(d);
}

static void drop_kind(tacws_agents_watcher *w, enum watch_kind kind)
{
	for (size_t i = 0; i < w->nw;) {
		if (w->w[i].kind == kind) {
			inotify_rm_watch(w->ifd, w->w[i].wd);
			w->w[i] = w->w[--w->nw];
		} else {
			i++;
		}
	}
}

static void try_watch_tops(tacws_agents_watcher *w)
{
	/* Catches agents/ or trees/ appearing at once rather than at the next retry. */
	if (w->root_wd < 0)
		w->root_wd = add_watch(w, w->root_dir, IN_CREATE | IN_MOVED_TO | IN_ONLYDIR,
		                       WATCH_ROOT, NULL);
	if (w->agents_wd < 0) {
		w->agents_wd = add_watch(w, w->agents_dir, TOP_MASK, WATCH_AGENTS, NULL);
		if (w->agents_wd >= 0) {
			watch_all_runs(w);
			mark(w, NULL);
		}
	}
	if ((w->flags & TACWS_AGENTS_WATCH_TREES) && w->trees_wd < 0) {
		w->trees_wd = add_watch(w, w->trees_dir, TOP_MASK, WATCH_TREES, NULL);
		if (w->trees_wd >= 0)
			mark(w, NULL);
	}
	int missing = w->root_wd < 0 || w->agents_wd < 0 ||
	              ((w->flags & TACWS_AGENTS_WATCH_TREES) && w->trees_wd < 0);
	w->retry_at = missing ? tacws_now_ms() + TACWS_AGENTS_RETRY_MS : 0;
}

static void top_gone(tacws_agents_watcher *w, enum watch_kind kind)
{
	if (kind == WATCH_AGENTS) {
		drop_kind(w, WATCH_RUN);
		drop_kind(w, WATCH_AGENTS);
		w->agents_wd = -1;
	} else {
		drop_kind(w, WATCH_TREES);
		w->trees_wd = -1;
	}
	mark(w, NULL);
	if (!w->retry_at)
		w->retry_at = tacws_now_ms();
}

static void handle_event(tacws_agents_watcher *w, const struct inotify_event *ev)
{
	if (ev->mask & IN_Q_OVERFLOW) {
		if (w->agents_wd >= 0)
			watch_all_runs(w);
		mark(w, NULL);
		return;
	}
	struct watch *wt = find_wd(w, ev->wd);
	if (!wt)
		return;
	const char *name = ev->len ? ev->name : "";
	switch (wt->kind) {
	case WATCH_ROOT:
		if (ev->mask & IN_IGNORED) {
			forget_wd(w, ev->wd);
			w->root_wd = -1;
			if (!w->retry_at)
				w->retry_at = tacws_now_ms() + TACWS_AGENTS_RETRY_MS;
		} else if ((ev->mask & IN_ISDIR) &&
		           (!strcmp(name, "agents") || !strcmp(name, "trees"))) {
			try_watch_tops(w);
		}
		break;
	case WATCH_AGENTS:
		if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
			top_gone(w, WATCH_AGENTS);
			return;
		}
		if (!tacws_adw_id_valid(name))
			return;
		if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_CREATE | IN_MOVED_TO)))
			watch_run(w, name);
		if (ev->mask & IN_MOVED_FROM)
			for (size_t i = 0; i < w->nw; i++)
				if (w->w[i].kind == WATCH_RUN && !strcmp(w->w[i].id, name)) {
					inotify_rm_watch(w->ifd, w->w[i].wd);
					w->w[i] = w->w[--w->nw];
					break;
				}
		mark(w, name);
		break;
	case WATCH_RUN: {
		char id[TACWS_ADW_ID_MAX + 1];
		memcpy(id, wt->id, sizeof id);
		if (ev->mask & IN_IGNORED)
			forget_wd(w, ev->wd);
		mark(w, id);
		break;
	}
	case WATCH_TREES:
		if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))
			top_gone(w, WATCH_TREES);
		else if (tacws_adw_id_valid(name))
			mark(w, name);
		break;
	}
}

static void read_events(tacws_agents_watcher *w)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t n = read(w->ifd, buf, sizeof buf);
		if (n <= 0)
			return;
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			handle_event(w, ev);
			p += sizeof *ev + ev->len;
		}
	}
}

static void *watch_thread(void *arg)
{
	tacws_agents_watcher *w = arg;
	for (;;) {
		long long now = tacws_now_ms();
		if (w->retry_at && now >= w->retry_at)
			try_watch_tops(w);
		if (w->due && now >= w->due)
			flush(w);
		long long next = w->due;
		if (w->retry_at && (!next || w->retry_at < next))
			next = w->retry_at;
		int timeout = next ? (int)(next > now ? next - now : 0) : -1;
		int rc = tacws_thread_wait(w->efd, w->ifd, timeout);
		if (rc < 0)
			break;
		if (rc > 0)
			read_events(w);
	}
	return NULL;
}

int tacws_agents_watch_start(const char *repo_root, unsigned flags, tacws_agents_watch_fn fn,
                             void *arg, tacws_agents_watcher **out)
{
	*out = NULL;
	tacws_agents_watcher *w = calloc(1, sizeof *w);
	if (!w)
		return -ENOMEM;
	w->flags = flags;
	w->fn = fn;
	w->arg = arg;
	w->ifd = w->efd = -1;
	w->root_wd = w->agents_wd = w->trees_wd = -1;
	int rc = -ENOMEM;
	if (!(w->root_dir = strdup(repo_root)))
		goto fail;
	if (asprintf(&w->agents_dir, "%s/agents", repo_root) < 0) {
		w->agents_dir = NULL;
		goto fail;
	}
	if (asprintf(&w->trees_dir, "%s/trees", repo_root) < 0) {
		w->trees_dir = NULL;
		goto fail;
	}
	w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	w->efd = eventfd(0, EFD_CLOEXEC);
	if (w->ifd < 0 || w->efd < 0) {
		rc = -errno;
		goto fail;
	}
	try_watch_tops(w);
	/* Nothing changed yet: the first snapshot reads the tree anyway. */
	w->pending_all = 0;
	w->npending = 0;
	w->due = 0;

	rc = tacws_thread_spawn(&w->thread, watch_thread, w);
	if (rc)
		goto fail;
	*out = w;
	return 0;
fail:
	if (w->ifd >= 0)
		close(w->ifd);
	if (w->efd >= 0)
		close(w->efd);
	free(w->root_dir);
	free(w->agents_dir);
	free(w->trees_dir);
	free(w->w);
	free(w);
	return rc;
}

void tacws_agents_watch_stop(tacws_agents_watcher *w)
{
	if (!w)
		return;
	tacws_thread_wake_join(w->efd, w->thread);
	close(w->ifd);
	close(w->efd);
	free(w->root_dir);
	free(w->agents_dir);
	free(w->trees_dir);
	free(w->w);
	free(w);
}

/* Runs on the watcher thread. */
static void feed_changed(void *arg, const char *adw_id)
{
	tacws_agents_feed *f = arg;
	f->host->poll_now(f->ctx, f->base, f->per_run ? adw_id : NULL);
}

int tacws_agents_feed_start(tacws_agents_feed *f, const tacws_host_api *host,
                            tacws_plugin_ctx *ctx, const tacws_feed_desc *desc,
                            unsigned watch_flags)
{
	memset(f, 0, sizeof *f);
	f->host = host;
	f->ctx = ctx;
	size_t n = strcspn(desc->endpoint, "/");
	snprintf(f->base, sizeof f->base, "%.*s", (int)n, desc->endpoint);
	f->per_run = desc->endpoint[n] != '\0';
	int rc = host->feed_register(ctx, desc);
	if (rc)
		return rc == -ENOENT ? 0 : rc;
	rc = tacws_agents_skiplog_new(&f->skiplog);
	if (rc)
		return rc;
	rc = tacws_agents_watch_start(tacws_agents_repo_root(host, ctx), watch_flags, feed_changed,
	                              f, &f->watcher);
	if (rc)
		host->log(ctx, TACWS_LOG_WARN, "no watcher on agents/ (%s): polling only",
		          strerror(-rc));
	return 0;
}

int tacws_agents_feed_load(tacws_agents_feed *f, tacws_agents_runs *runs, char *err,
                           size_t errlen)
{
	const char *root = tacws_agents_repo_root(f->host, f->ctx);
	int rc = tacws_agents_load(root, runs);
	if (rc) {
		snprintf(err, errlen, "reading %s/agents: %s", root, strerror(-rc));
		tacws_agents_runs_free(runs);
		return rc;
	}
	tacws_agents_skiplog_report(f->skiplog, runs, f->host, f->ctx);
	return 0;
}

void tacws_agents_feed_stop(tacws_agents_feed *f)
{
	tacws_agents_watch_stop(f->watcher);
	tacws_agents_skiplog_free(f->skiplog);
	f->watcher = NULL;
	f->skiplog = NULL;
}
