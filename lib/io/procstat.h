/* SPDX-License-Identifier: MIT */
/*
 * The process's own figures, as every Prometheus client library exports
 * them (process_*): resident and virtual memory, CPU time, open and
 * maximum file descriptors. Read from /proc/self (memory-backed: no disk
 * I/O) and getrlimit when /metrics is asked.
 */
#ifndef HARK_IO_PROCSTAT_H
#define HARK_IO_PROCSTAT_H

struct procstat {
	double resident_bytes;
	double virtual_bytes;
	double cpu_seconds; /* user + system */
	double open_fds;    /* < 0: unknown */
	double max_fds;     /* the soft limit; < 0: unknown */
};

/* Fills *ps; a figure that cannot be read is left < 0. */
void procstat_read(struct procstat *ps);

#endif
