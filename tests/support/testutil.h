/* Small helpers shared by the CUnit tests. */
#ifndef TACWS_TESTUTIL_H
#define TACWS_TESTUTIL_H

#include <CUnit/CUnit.h>
#include <stddef.h>

typedef struct tacws_test_case {
	const char *name;
	CU_TestFunc fn;
} tacws_test_case;

/* Runs one suite of NULL-terminated cases with the basic interface and
 * returns the process exit code (0 when every test passed). */
int tacws_test_run(const char *suite, CU_InitializeFunc init, CU_CleanupFunc cleanup,
		   const tacws_test_case *cases);

/* A fresh folder under $TMPDIR (or /tmp); the caller frees the string.
 * tacws_test_rmtree removes it with everything inside. */
char *tacws_test_mkdtemp(void);
void tacws_test_rmtree(const char *path);

/* A suite's scratch folder: tacws_test_tmpdir_init (a CU_InitializeFunc)
 * makes a fresh one in tacws_test_dir, tacws_test_tmpdir_cleanup removes it. */
extern char *tacws_test_dir;
int tacws_test_tmpdir_init(void);
int tacws_test_tmpdir_cleanup(void);

/* Writes text to dir/rel, creating parent folders. Returns 0 or -errno. */
int tacws_test_write_file(const char *dir, const char *rel, const char *text);

/* Replaces the file at path with text atomically (a temp file beside it, renamed over it),
 * so a reader sees the old or the new content whole. Returns 0 or -errno. */
int tacws_test_replace_file(const char *path, const char *text);

/* Makes dir/rel and its parents. Returns 0 or -errno. */
int tacws_test_mkdirs(const char *dir, const char *rel);

/* Waits until process pid's command line (arguments joined by spaces) is want, as after
 * a fork the child's exec replaces it. Returns 0, -ETIMEDOUT, or -ESRCH when pid is gone. */
int tacws_test_wait_cmdline(int pid, const char *want, int timeout_ms);

/* Milliseconds on a monotonic clock. */
long long tacws_test_now_ms(void);

#endif
