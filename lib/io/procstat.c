/* SPDX-License-Identifier: MIT */
/* The process's own figures (see procstat.h). */
#include "io/procstat.h"

#include <dirent.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

void procstat_read(struct procstat *ps)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned long vm = 0, rss = 0;
	struct rusage ru;
	struct rlimit rl;
	FILE *f;
	DIR *d;

	ps->resident_bytes = ps->virtual_bytes = -1;
	ps->cpu_seconds = ps->open_fds = ps->max_fds = -1;
	f = fopen("/proc/self/statm", "r");
	if (f != NULL) {
		if (fscanf(f, "%lu %lu", &vm, &rss) == 2 && page > 0) {
			ps->virtual_bytes = (double)vm * (double)page;
			ps->resident_bytes = (double)rss * (double)page;
		}
		fclose(f);
	}
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		ps->cpu_seconds = (double)ru.ru_utime.tv_sec +
				  (double)ru.ru_stime.tv_sec +
				  ((double)ru.ru_utime.tv_usec +
				   (double)ru.ru_stime.tv_usec) /
					  1e6;
	}
	d = opendir("/proc/self/fd");
	if (d != NULL) {
		long n = 0;

		while (readdir(d) != NULL) {
			n++;
		}
		closedir(d);
		/* ".", ".." and the directory's own descriptor */
		ps->open_fds = (double)(n >= 3 ? n - 3 : 0);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		ps->max_fds =
			rl.rlim_cur == RLIM_INFINITY ? -1 : (double)rl.rlim_cur;
	}
}
