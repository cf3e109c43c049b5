/* SPDX-License-Identifier: MIT */
/*
 * SIGHUP's work, off the event loop: a worker thread reads the
 * configuration file and compiles its rules (10,000 rules take about
 * 0.3 s), then the loop hands the result to hark_reload_compiled or
 * reports why not. A HUP that comes while one is running is remembered and
 * read once it is done, so the newest file always wins.
 */
#ifndef HARK_HARKD_RELOADER_H
#define HARK_HARKD_RELOADER_H

#include <stdbool.h>

struct event_base;
struct hark;
struct reloader;

/* path is borrowed; level_override: --log-level was given, so the file's
 * log_level is not applied. NULL when the wake-up pipe cannot be made. */
struct reloader *reloader_new(struct event_base *base, struct hark *h,
			      const char *path, bool level_override);
/* A SIGHUP (on the loop). */
void reloader_hup(struct reloader *r);
/* Waits for a running worker, then frees. NULL is fine. */
void reloader_free(struct reloader *r);

#endif
