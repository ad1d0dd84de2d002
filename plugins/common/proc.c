#include "proc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Longer command lines are cut: nobody looks for a pattern after 1 MiB. */
#define CMDLINE_MAX (1024 * 1024)

struct proc_entry {
	pid_t pid;
	char *cmdline;
};

struct tacws_proc_list {
	struct proc_entry *v;
	size_t n, cap;
};

/* The command line of pid with its arguments joined by spaces; NULL when the
 * process is gone, unreadable, or has no command line. */
static char *read_cmdline(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 512, len = 0;
	char *buf = malloc(cap);
	if (!buf) {
		close(fd);
		return NULL;
	}
	for (;;) {
		if (len + 1 >= cap) {
			char *bigger = cap < CMDLINE_MAX ? realloc(buf, cap * 2) : NULL;
			if (!bigger)
				break; /* keep what fits */
			buf = bigger;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	while (len > 0 && buf[len - 1] == '\0')
		len--;
	if (len == 0) {
		free(buf);
		return NULL;
	}
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[len] = '\0';
	return buf;
}

static int parse_pid(const char *name, pid_t *pid)
{
	if (!isdigit((unsigned char)name[0]))
		return -EINVAL;
	char *end;
	long v = strtol(name, &end, 10);
	if (*end || v <= 0)
		return -EINVAL;
	*pid = (pid_t)v;
	return 0;
}

void tacws_proc_list_free(tacws_proc_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->n; i++)
		free(list->v[i].cmdline);
	free(list->v);
	free(list);
}

int tacws_proc_list_read(tacws_proc_list **out)
{
	*out = NULL;
	DIR *d = opendir("/proc");
	if (!d)
		return -errno;
	tacws_proc_list *list = calloc(1, sizeof *list);
	if (!list) {
		closedir(d);
		return -ENOMEM;
	}
	pid_t self = getpid();
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		pid_t pid;
		if (parse_pid(de->d_name, &pid) || pid == self)
			continue;
		char *cmdline = read_cmdline(pid);
		if (!cmdline)
			continue;
		if (list->n == list->cap) {
			size_t cap = list->cap ? list->cap * 2 : 256;
			struct proc_entry *v = realloc(list->v, cap * sizeof *v);
			if (!v) {
				free(cmdline);
				rc = -ENOMEM;
				break;
			}
			list->v = v;
			list->cap = cap;
		}
		list->v[list->n++] = (struct proc_entry){pid, cmdline};
	}
	closedir(d);
	if (rc) {
		tacws_proc_list_free(list);
		return rc;
	}
	*out = list;
	return 0;
}

int tacws_proc_list_find(const tacws_proc_list *list, const char *substring, pid_t *pid)
{
	if (pid)
		*pid = 0;
	if (!list || !substring || !*substring)
		return -EINVAL;
	for (size_t i = 0; i < list->n; i++)
		if (strstr(list->v[i].cmdline, substring)) {
			if (pid)
				*pid = list->v[i].pid;
			return 1;
		}
	return 0;
}

size_t tacws_proc_list_count(const tacws_proc_list *list)
{
	return list ? list->n : 0;
}

int tacws_proc_find(const char *substring, int *found, pid_t *pid)
{
	*found = 0;
	if (pid)
		*pid = 0;
	if (!substring || !*substring)
		return -EINVAL;
	tacws_proc_list *list;
	int rc = tacws_proc_list_read(&list);
	if (rc)
		return rc;
	rc = tacws_proc_list_find(list, substring, pid);
	tacws_proc_list_free(list);
	if (rc < 0)
		return rc;
	*found = rc;
	return 0;
}
