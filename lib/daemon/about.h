/* SPDX-License-Identifier: MIT */
/*
 * What a rule's buckets are about (daemon/about.c): every judged bucket's
 * terms ranked against the rule's usual share of each (core/emerge), the
 * emerging ones handed to its notification, its tops and emerging terms
 * written to the store for the dashboard (core/tops), and the model saved
 * with the detector's state. GET /v1/rules/{name}/top reads them back, or
 * the open bucket from memory. Loop only.
 */
#ifndef HARK_DAEMON_ABOUT_H
#define HARK_DAEMON_ABOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/tops.h"

struct hark;
struct rule_rt;
struct eval;
struct render_emerging;

/* A bucket's emerging terms, by value (an eval is copied whole on its way
 * to a fleet claim, and a firing's are kept for its repeats). */
struct about_emerging {
	size_t n;
	struct {
		char term[64];
		int64_t count;
		double usual, ratio;
	} v[TOPS_EMERGING];
};

/* Rule r's model, for a bucket size; NULL-safe free. */
void about_rule_init(struct rule_rt *r);
void about_rule_fini(struct rule_rt *r);

/*
 * e's bucket was judged (after the detector, before its notification):
 * ranks its terms into e->emerging, writes its tops (not in replay), and
 * learns it.
 */
void about_judged(struct hark *h, struct rule_rt *r, struct eval *e);
/* Writes r's tops waiting (with its chart points). */
void about_flush(struct hark *h, struct rule_rt *r);

/* Points out[0..em->n) at em's terms for an alert body; returns em->n. */
size_t about_render(const struct about_emerging *em,
		    struct render_emerging *out);

/*
 * The state value saved for r: the detector's image det (det_len bytes)
 * followed by the model's (caller frees). about_state_load reads one back
 * into r's model and points *det, *det_len at the detector's part; a value
 * of an older version (the detector's image alone) leaves the model empty.
 */
char *about_state_save(const struct rule_rt *r, const char *det, size_t det_len,
		       size_t *len);
void about_state_load(struct rule_rt *r, const char *val, size_t len,
		      const char **det, size_t *det_len);

/* An answer made later: JSON text, or status -1 (the store failed). */
typedef void about_text_fn(void *arg, int status, const char *text, size_t len);
/*
 * GET /v1/rules/{name}/top?at=: the bucket holding at_ms (INT64_MIN: the
 * current one), from memory while it is open (with its samples), else from
 * the store. Returns -1 for an unknown rule (cb not called).
 */
int about_top(struct hark *h, const char *rule, int64_t at_ms,
	      about_text_fn *cb, void *arg);

#endif
