/* SPDX-License-Identifier: MIT */
/*
 * Spike and drop detection for one rule's bucket series, with the alert
 * lifecycle. In one paragraph: the usual count of a bucket is the median of
 * the same time of day over the past week (or of the same weekday over the
 * past weeks, whichever has predicted this stream better), learned from
 * counts cleaned of what was anomalous, times a recent level factor; an
 * EWMA level stands in before a day is known. Counts and their usual are
 * compared on the variance-stabilised scale 2*sqrt(x + 3/8), where Poisson
 * noise is about N(0, 1), widened by an over-dispersion learned from the
 * stream's own residuals and by the uncertainty of the usual level, over
 * several spans (one bucket, 15 minutes, 1 and 4 hours); each span's
 * threshold is the normal quantile that spends the rule's false-alarm
 * budget per week. A spike must also exceed the usual by a few mentions and
 * a ratio, and be bigger than the stream's ordinary daily bursts. Fire
 * once, resolve when back to normal, then a cooldown in which only a
 * clearly bigger peak re-fires (an escalation of the same episode).
 * Pure and deterministic; the state round-trips through
 * detector_encode/decode (a compact binary image).
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
	/* A fixed score every span must reach; 0: each span's threshold is
	 * derived from false_alarms. */
	double threshold;
	/* Expected false alarms per week on a stream that behaves as its
	 * learned model says (the budget the thresholds spend). */
	double false_alarms;
	int64_t min_count;   /* up: span count >= this; down: usual >= this */
	int64_t min_excess;  /* |span count - usual| >= this */
	double min_ratio;    /* up: count >= ratio * usual; down: inverse */
	double escalation;   /* re-fire when the excess is this many times
			       the episode's peak excess */
	int64_t cooldown_ms; /* after a resolve, only escalations */
	int64_t warmup_ms;   /* counting time needed before the first alert */
	int64_t novelty_ms;  /* > 0: a spike must beat the highest count of
				this long (alerts and today included) */
	int window;          /* shortest span tested, in buckets */
};

/* The longest `window`, in buckets. */
#define DETECT_MAX_WINDOW 12
/* The longest novelty period. */
#define DETECT_MAX_NOVELTY_DAYS 60

/* Fills the documented defaults for a bucket size. */
void detect_params_default(struct detect_params *p, int64_t bucket_ms);

enum detect_state {
	DETECT_STATE_WARMING, /* not enough history to alert */
	DETECT_STATE_OK,
	DETECT_STATE_FIRING,
};

enum detect_action {
	DETECT_NONE,
	DETECT_FIRE,    /* send a firing notification (or an escalation) */
	DETECT_RESOLVE, /* send a resolved notification */
};

/* Why the last bucket did (not) alert. */
enum detect_reason {
	DETECT_WHY_NONE,      /* no bucket yet */
	DETECT_WHY_WARMING,   /* counting for less than the warmup */
	DETECT_WHY_NORMAL,    /* no span past its threshold */
	DETECT_WHY_GUARD,     /* past the threshold but not min_count,
				 min_excess or min_ratio */
	DETECT_WHY_BURSTS,    /* no bigger than the stream's daily bursts */
	DETECT_WHY_NOVELTY,   /* not above the novelty period's highest */
	DETECT_WHY_COOLDOWN,  /* in the cooldown, not clearly bigger */
	DETECT_WHY_FIRED,     /* a new episode */
	DETECT_WHY_ESCALATED, /* a clearly bigger peak of the episode */
	DETECT_WHY_FIRING,    /* still off, episode going on */
	DETECT_WHY_RESOLVED,
};

struct detect_result {
	int64_t start_ms; /* the bucket evaluated */
	int64_t end_ms;
	int64_t count;
	double baseline;  /* the bucket's usual count */
	double ratio;     /* count / baseline (baseline floored at 0.5) */
	double score;     /* signed: > 0 above the usual, strongest span */
	double threshold; /* what that span's score had to reach */
	/* The span the score is of: its length in buckets, its count and
	 * its usual count (the whole span). */
	int span;
	int64_t span_count;
	double span_baseline;
	bool anomalous;  /* some span passed every test */
	bool escalation; /* on DETECT_FIRE: a bigger peak, same episode */
	enum detect_reason reason;
	enum detect_state state; /* after this bucket */
	enum detect_action action;
	int64_t fired_start_ms; /* while firing: the episode's first bucket */
	/* With novelty: the highest count per bucket over the span that the
	 * stream reached over record_days days (today so far and alerts
	 * included), which the spike beat; record_days 0: none. */
	int64_t record;
	int record_days;
	/* With detector_set_band: the counts this one bucket could have
	 * had and still scored within its one-bucket threshold both ways,
	 * against the same usual and spread (what a chart shades as
	 * "usual"); NAN without, and for a bucket not tested. */
	double low, high;
};

struct detector;

/* p is copied. Free with detector_free. */
struct detector *detector_new(const struct detect_params *p);
void detector_free(struct detector *d);
/*
 * Whether detector_step fills each result's low and high (about 40 score
 * evaluations a bucket: the daemon's chart wants them, replay does not).
 */
void detector_set_band(struct detector *d, bool on);
/*
 * The rule started counting at from_ms, in the bucket that starts at
 * start_ms: the warmup runs from start_ms and the buckets before the first
 * step count as zeros. When from_ms is past start_ms that first bucket
 * holds only a part of its mentions: it is reported warming and teaches
 * nothing (its count would read as a drop, then the next as a jump). Only
 * before the first step; later calls do nothing.
 */
void detector_begin(struct detector *d, int64_t start_ms, int64_t from_ms);
/*
 * Evaluates the closed bucket [start_ms, start_ms + bucket) with count.
 * Buckets must come in increasing order; the buckets of a gap are learned
 * as zeros (not alerted on). Fills *out.
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
 * With novelty: the highest count per bucket the stream reached over the
 * last *days days, today so far and alerts included (0: novelty off or no
 * bucket yet).
 */
int64_t detector_record(const struct detector *d, int *days);
/* Start of the next bucket expected, or INT64_MIN before the first. */
int64_t detector_next_start(const struct detector *d);
/* When the warmup ends (INT64_MIN before the first bucket). */
int64_t detector_warm_at(const struct detector *d);
/* The expected count of the next bucket (0 before any history). */
double detector_baseline(const struct detector *d);
enum detect_state detector_state(const struct detector *d);
/* The last result (zeroed before the first step). */
const struct detect_result *detector_last(const struct detector *d);
const char *detect_state_name(enum detect_state s);
/* "warming", "normal", "guard", "bursts", "novelty", "cooldown", "fired",
 * "escalated", "firing", "resolved" ("" for DETECT_WHY_NONE). */
const char *detect_reason_name(enum detect_reason r);

/*
 * Serializes the whole state to a binary image; caller frees.
 * detector_decode restores it into a detector made with the same bucket
 * size and returns -1 (leaving d unchanged) on a bad, older or incompatible
 * image: the caller then starts learning afresh.
 */
char *detector_encode(const struct detector *d, size_t *len_out);
int detector_decode(struct detector *d, const char *buf,
		    size_t len) HARK_MUST_CHECK;

#endif
