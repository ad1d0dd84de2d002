/*
 * Watching one file for plugins that serve a document (qc_metrics): inotify
 * on the file's folder, so a file that is missing, replaced by a rename
 * (the usual atomic write) or deleted and written again is followed.
 *
 * fn(arg) runs on the watcher's own thread after the file was written and
 * closed, moved into place, created or removed. Events read together give
 * one call. A missing folder is looked for again every TACWS_FILEWATCH_RETRY_MS
 * (fn runs once it appears). fn must be quick (e.g. host->poll_now) and must
 * not call tacws_filewatch_stop.
 */
#ifndef TACWS_FILEWATCH_H
#define TACWS_FILEWATCH_H

#define TACWS_FILEWATCH_RETRY_MS 2000

typedef struct tacws_filewatch tacws_filewatch;
typedef void (*tacws_filewatch_fn)(void *arg);

/* Starts the watcher thread; path is copied. Returns 0, -EINVAL for a path
 * without a file name, -ENOMEM, or -errno from inotify, eventfd or
 * pthread_create (then *out is NULL). */
int tacws_filewatch_start(const char *path, tacws_filewatch_fn fn, void *arg,
                          tacws_filewatch **out);

/* Stops and joins the thread and frees w; fn is not called after it returns.
 * NULL is fine. */
void tacws_filewatch_stop(tacws_filewatch *w);

#endif
