/* SPDX-License-Identifier: MIT */
/*
 * Reload (daemon/reload.c): compile a new config's rules, accept or refuse
 * the config, and apply it once quiescent. The contracts are those of
 * hark.h's hark_compile_rules and hark_reload_*, which call these.
 */
#ifndef HARK_DAEMON_RELOAD_H
#define HARK_DAEMON_RELOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "util/xalloc.h"

struct config;
struct hark;
struct matcher;

/* hark_compile_rules: may run off the loop (reads only h's folding table). */
struct matcher *reload_compile(const struct hark *h, const struct config *n,
			       char *err, size_t errlen);
/* hark_reload_check. */
int reload_check(const struct hark *h, const struct config *n, char *err,
		 size_t errlen);
/* hark_reload_compiled. */
int reload_compiled(struct hark *h, struct config *n, struct matcher *m,
		    char *err, size_t errlen) HARK_MUST_CHECK;
/* hark_reload_failed. */
void reload_failed(struct hark *h, const char *why);
/* hark_reload_pending. */
bool reload_pending(const struct hark *h);
/* Each tick while serving: applies an accepted reload once quiescent;
 * gives up waiting for the saved state of added rules after the load
 * deadline. */
void reload_step(struct hark *h);

#endif
