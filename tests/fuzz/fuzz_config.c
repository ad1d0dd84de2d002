/* The INI loader, on a real file rewritten for each input. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

__attribute__((destructor)) static void remove_file(void)
{
	if (path[0])
		unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!path[0]) {
		const char *tmp = getenv("TMPDIR");
		snprintf(path, sizeof path, "%s/tacws-fuzz-config-%ld.ini", tmp ? tmp : "/tmp",
		         (long)getpid());
	}
	FILE *f = fopen(path, "wb");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	tacws_config *cfg = NULL;
	char err[512];
	if (!tacws_config_load(path, &cfg, err, sizeof err))
		tacws_config_free(cfg);
	return 0;
}
