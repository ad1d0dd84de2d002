#include "testutil.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int tacws_test_run(const char *suite, CU_InitializeFunc init, CU_CleanupFunc cleanup,
		   const tacws_test_case *cases)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	CU_pSuite s = CU_add_suite(suite, init, cleanup);
	if (!s)
		goto fail;
	for (const tacws_test_case *c = cases; c->name; c++)
		if (!CU_add_test(s, c->name, c->fn))
			goto fail;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
fail:
	CU_cleanup_registry();
	return 2;
}

char *tacws_test_mkdtemp(void)
{
	const char *base = getenv("TMPDIR");
	char tmpl[PATH_MAX];
	snprintf(tmpl, sizeof tmpl, "%s/tacws-test-XXXXXX", base && *base ? base : "/tmp");
	return mkdtemp(tmpl) ? strdup(tmpl) : NULL;
}

char *tacws_test_dir;

int tacws_test_tmpdir_init(void)
{
	tacws_test_dir = tacws_test_mkdtemp();
	return tacws_test_dir ? 0 : 1;
}

int tacws_test_tmpdir_cleanup(void)
{
	tacws_test_rmtree(tacws_test_dir);
	free(tacws_test_dir);
	tacws_test_dir = NULL;
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void tacws_test_rmtree(const char *path)
{
	if (path)
		nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int tacws_test_mkdirs(const char *dir, const char *rel)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/%s", dir, rel) >= (int)sizeof path)
		return -ENAMETOOLONG;
	for (char *p = path + strlen(dir) + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(path, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

static int write_path(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -errno;
	size_t n = strlen(text);
	int rc = fwrite(text, 1, n, f) == n ? 0 : -EIO;
	if (fclose(f) && !rc)
		rc = -errno;
	return rc;
}

int tacws_test_write_file(const char *dir, const char *rel, const char *text)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/%s", dir, rel) >= (int)sizeof path)
		return -ENAMETOOLONG;
	char *slash = strrchr(path, '/');
	if (slash > path + strlen(dir)) {
		*slash = '\0';
		int rc = tacws_test_mkdirs(dir, path + strlen(dir) + 1);
		*slash = '/';
		if (rc)
			return rc;
	}
	return write_path(path, text);
}

int tacws_test_replace_file(const char *path, const char *text)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return -ENAMETOOLONG;
	int rc = write_path(tmp, text);
	if (!rc && rename(tmp, path))
		rc = -errno;
	return rc;
}

long long tacws_test_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tacws_test_wait_cmdline(int pid, const char *want, int timeout_ms)
{
	char path[64], line[4096];
	snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
	long long deadline = tacws_test_now_ms() + timeout_ms;
	for (;;) {
		FILE *f = fopen(path, "r");
		if (!f)
			return -ESRCH;
		size_t n = fread(line, 1, sizeof line - 1, f);
		fclose(f);
		for (size_t i = 0; i + 1 < n; i++)
			if (!line[i])
				line[i] = ' ';
		line[n] = '\0';
		if (!strcmp(line, want))
			return 0;
		if (tacws_test_now_ms() >= deadline)
			return -ETIMEDOUT;
		struct timespec pause = {0, 5 * 1000000L};
		nanosleep(&pause, NULL);
	}
}
