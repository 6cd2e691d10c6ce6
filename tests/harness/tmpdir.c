/* Test harness: private temporary directories. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

void tmpdir_sweep(const char *prefix)
{
	DIR *d = opendir("/tmp");
	size_t len = strlen(prefix);
	struct dirent *e;
	char path[300];
	int pid;

	while (d != NULL && (e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, prefix, len) != 0 || e->d_name[len] != '-' ||
		    sscanf(e->d_name + len + 1, "%d-", &pid) != 1 || pid <= 0 ||
		    kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "/tmp/%s", e->d_name);
		tmpdir_remove(path);
	}
	if (d != NULL)
		closedir(d);
}
