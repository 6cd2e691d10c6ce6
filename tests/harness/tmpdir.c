/* Test harness: private temporary directories. */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "tests/harness/tmpdir.h"

int tmpdir_make(const char *prefix, char *dir, size_t size)
{
	if ((size_t)snprintf(dir, size, "/tmp/%s-XXXXXX", prefix) >= size) {
		dir[0] = '\0';
		return -ENAMETOOLONG;
	}
	if (mkdtemp(dir) == NULL) {
		dir[0] = '\0';
		return -errno;
	}
	return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;	/* remove what can be */
}

void tmpdir_remove(const char *dir)
{
	if (dir[0] != '\0')
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}
