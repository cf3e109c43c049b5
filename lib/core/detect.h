/* SPDX-License-Identifier: MIT */
/*
 * Spike and drop detection for one rule's bucket series, with the alert
 * lifecycle (fire once at onset, stay firing silently, resolve after a
 * normal stretch, cooldown). Baseline: a robust recent level plus the
 * time-of-day profile of previous days and, once a week is in the history,
 * the day-of-week profile, learned from counts cleaned of the anomalies
 * they contained, each scaled by a level factor (the last day's counts over
 * what it said) so that a lasting shift is followed before it holds it.
 * Test: count-aware (dispersion learned from recent residuals and, for
 * spikes, successive differences), a spike on the window's least bucket or
 * a sustained rise, a drop on the window's sum by its deviance, with
 * min_count and min_ratio guards on each bucket; a spike must also beat
 * the records of what the stream did without an alert over three weeks.
 * Pure and deterministic; the state round-trips through
 * detector_encode/decode.
 */
#ifndef HARK_CORE_DETECT_H
#define HARK_CORE_DETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/xalloc.h"

enum detect_direction {
	DETECT_UP,
	DETECT_DOWN,
	DETECT_BOTH,
};

struct detect_params {
	int64_t bucket_ms;
	enum detect_direction direction;
	double threshold;    /* score needed to fire */
	int64_t min_count;   /* up: count >= min_count; down: baseline >= */
	double min_ratio;    /* up: count >= ratio * baseline; down: inverse */
	int64_t cooldown_ms; /* after a resolve, no new firing for this long */
	int64_t warmup_ms;   /* history needed before the first alert */
	int64_t history_ms;  /* kept history, default 15d */
	int window;          /* buckets in the test; all of them must be off */
};

/* The longest window, in buckets. */
#define DETECT_MAX_WINDOW 12

/* Fills the documented defaults for a bucket size. */
void detect_params_default(struct detect_params *p, int64_t bucket_ms);

enum detect_state {
	DETECT_STATE_WARMING, /* not enough history to alert */
	DETECT_STATE_OK,
	DETECT_STATE_FIRING,
};

enum detect_action {
	DETECT_NONE,
	DETECT_FIRE,    /* send a firing notification */
	DETECT_RESOLVE, /* send a resolved notification */
};

struct detect_result {
	int64_t start_ms; /* the bucket evaluated */
	int64_t end_ms;
	int64_t count;
	double baseline; /* expected count */
	double ratio;    /* count / baseline (baseline floored at 0.5) */
	double score;    /* signed: > 0 above the baseline */
	bool anomalous;  /* this bucket alone passed the test */
	enum detect_state state; /* after this bucket */
	enum detect_action action;
	int64_t fired_start_ms; /* while firing: start of the firing window */
	/* On a spike's DETECT_FIRE: the highest count the stream reached
	 * without an alert over the last record_days days (the record it
	 * beat or came near); record_days 0: none (a drop, or no record). */
	int64_t record;
	int record_days;
};

struct detector;

/* p is copied. Free with detector_free. */
struct detector *detector_new(const struct detect_params *p);
void detector_free(struct detector *d);
/*
 * Evaluates the closed bucket [start_ms, start_ms + bucket) with count.
 * Buckets must come in increasing order; a gap is filled with zeros (up to
 * the history length). Fills *out.
 */
void detector_step(struct detector *d, int64_t start_ms, int64_t count,
		   struct detect_result *out);
/*
 * Ends a firing from outside (its rule was removed): the lifecycle goes back
 * to ok (or warming) and the cooldown starts at the next bucket, as after a
 * resolve, so a state saved now does not fire on again. Returns false when
 * it was not firing.
 */
bool detector_end_firing(struct detector *d);
/*
 * The record a spike of the next bucket has to beat: the highest count the
 * stream reached without an alert over the last *days days (0: none yet).
 */
int64_t detector_record(const struct detector *d, int *days);
/* Start of the next bucket expected, or INT64_MIN before the first. */
int64_t detector_next_start(const struct detector *d);
/* The expected count of the next bucket (0 before any history). */
double detector_baseline(const struct detector *d);
enum detect_state detector_state(const struct detector *d);
/* The last result (zeroed before the first step). */
const struct detect_result *detector_last(const struct detector *d);
const char *detect_state_name(enum detect_state s);

/*
 * Serializes the whole state (history, level, lifecycle) to text; caller
 * frees. detector_decode restores it into a detector made with the same
 * bucket size and returns -1 (leaving d unchanged) on bad or incompatible
 * text.
 */
char *detector_encode(const struct detector *d, size_t *len_out);
int detector_decode(struct detector *d, const char *text,
		    size_t len) HARK_MUST_CHECK;

#endif
