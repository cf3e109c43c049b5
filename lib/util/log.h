/* SPDX-License-Identifier: MIT */
/*
 * The logger: one line per record on stderr, "LEVEL subsys: message k=v".
 * Under systemd (JOURNAL_STREAM set) lines carry a <N> syslog priority and
 * no timestamp. The level is the only mutable global in lib/.
 */
#ifndef HARK_UTIL_LOG_H
#define HARK_UTIL_LOG_H

#include <stdbool.h>

#include "util/xalloc.h"

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

void log_set_level(enum log_level level);
/* Parses "error", "warn", "info", "debug"; returns -1 on anything else. */
int log_level_parse(const char *s, enum log_level *out) HARK_MUST_CHECK;
bool log_enabled(enum log_level level);
void log_write(enum log_level level, const char *subsys, const char *fmt, ...)
	HARK_PRINTF(3, 4);

#define log_error(sub, ...) log_write(LOG_LEVEL_ERROR, sub, __VA_ARGS__)
#define log_warn(sub, ...) log_write(LOG_LEVEL_WARN, sub, __VA_ARGS__)
#define log_info(sub, ...) log_write(LOG_LEVEL_INFO, sub, __VA_ARGS__)
#define log_debug(sub, ...)                                           \
	do {                                                          \
		if (log_enabled(LOG_LEVEL_DEBUG)) {                   \
			log_write(LOG_LEVEL_DEBUG, sub, __VA_ARGS__); \
		}                                                     \
	} while (0)

#endif
