/*
 * Finding live processes by command line, for plugins that report whether a
 * worker runs (adw_monitor's "running" status, system_status's process check).
 *
 * A command line is /proc/<pid>/cmdline with its NUL-separated arguments
 * joined by single spaces ("python adw_sdlc_iso.py 42 77c90e61"). Processes
 * with an empty command line (kernel threads, zombies), processes that exit
 * during the scan and the calling process itself are never matched.
 *
 * Every function returns 0 or a negative errno and may be called from any
 * thread; nothing here keeps global state.
 */
#ifndef TACWS_PROC_H
#define TACWS_PROC_H

#include <stddef.h>
#include <sys/types.h>

/* Scans every live process once. *found is 1 when some command line contains
 * substring (case-sensitive), else 0; when pid is not NULL it receives the
 * first matching process id (0 when none). Returns 0, -EINVAL for a NULL or
 * empty substring, or -errno when /proc cannot be read. */
int tacws_proc_find(const char *substring, int *found, pid_t *pid);

/*
 * A snapshot of the command lines of all live processes, for callers that
 * look for many substrings at once (one /proc scan instead of one per
 * substring). Owned by the caller: free it with tacws_proc_list_free. A
 * list is read-only once made and may be shared between threads.
 */
typedef struct tacws_proc_list tacws_proc_list;

/* Reads the snapshot into *out. Returns 0, -ENOMEM, or -errno when /proc
 * cannot be read (then *out is NULL). */
int tacws_proc_list_read(tacws_proc_list **out);

/* 1 when some command line of list contains substring, else 0; stores the
 * matching pid in *pid when pid is not NULL. Returns -EINVAL for a NULL or
 * empty substring. */
int tacws_proc_list_find(const tacws_proc_list *list, const char *substring, pid_t *pid);

/* Number of processes in the snapshot. */
size_t tacws_proc_list_count(const tacws_proc_list *list);

/* Frees list; NULL is fine. */
void tacws_proc_list_free(tacws_proc_list *list);

#endif
