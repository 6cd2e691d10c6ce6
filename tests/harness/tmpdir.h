/* Test harness: a private temporary directory per test, removed with everything in it. */
#ifndef TESTS_HARNESS_TMPDIR_H
#define TESTS_HARNESS_TMPDIR_H

#include <stddef.h>

/* Create a new directory "/tmp/<prefix>-XXXXXX" and put its path in 'dir' ('size' bytes,
 * "" on failure). Returns 0 or -errno. */
int tmpdir_make(const char *prefix, char *dir, size_t size);

/* Remove 'dir' and everything below it. Nothing happens when 'dir' is "". */
void tmpdir_remove(const char *dir);

/* Remove the directories "/tmp/<prefix>-<pid>-*" whose test process <pid> is gone (it died
 * without its .fini). */
void tmpdir_sweep(const char *prefix);

#endif
