/* SPDX-License-Identifier: MIT */
/*
 * The canonical alert and its renderings: the webhook body of DESIGN §6
 * (version 1) and the one-line text of the log receiver. Pure.
 */
#ifndef HARK_CORE_RENDER_H
#define HARK_CORE_RENDER_H

#include <stddef.h>
#include <stdint.h>

struct mention;

struct alert {
	char id[33];        /* stable across retries: rule, window, status */
	const char *rule;   /* borrowed */
	const char *status; /* "firing" or "resolved" */
	int64_t window_start_ms;
	int64_t window_end_ms;
	int64_t count;
	double baseline;
	double ratio;
	double score;
	const struct mention *samples; /* borrowed */
	size_t n_samples;
};

/* Fills a->id from rule, window start and status (hex of a 128-bit hash). */
void render_alert_id(struct alert *a);
/* The webhook body, JSON with the fixed fields; caller frees. */
char *render_webhook(const struct alert *a, size_t *len_out);
/* "ALERT firing rule=brand window=… count=240 baseline=31.2 …"; caller
 * frees. */
char *render_text(const struct alert *a);

#endif
