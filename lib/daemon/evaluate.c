/* SPDX-License-Identifier: MIT */
/*
 * From counts to verdicts: buckets the watermark has closed are queued per
 * rule, their totals read back through the store (counts), and judged by
 * the rule's detector strictly in bucket order; open buckets are flushed as
 * they fill, and the detector's state is saved with the judged buckets.
 * Exactly-once evaluation across a fleet and early firing grow here; the
 * alert itself is notify's. Runs on the loop.
 */
#include "daemon/evaluate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/detect.h"
#include "core/window.h"
#include "daemon/chart.h"
#include "daemon/counts.h"
#include "daemon/daemon.h"
#include "daemon/fleet.h"
#include "daemon/intake.h"
#include "daemon/notify.h"
#include "io/store.h"
#include "util/log.h"
#include "util/timeutil.h"

/* A jump over a silent stretch closes at most a week of it as zero-count
 * buckets; older empty ones are skipped (series_pop_closed). */
#define EVALUATE_HISTORY_MS (7 * 86400000LL)

/* "now" for the watermark: in replay the idle advance is always zero. */
static int64_t watermark_now(const struct hark *h)
{
	if (h->replay) {
		return h->wm.last_arrival_ms;
	}
	return timeutil_now_ms();
}

static void free_eval(struct eval *e)
{
	closed_bucket_fini(&e->b);
	free(e);
}

void evaluate_drop_queue(struct rule_rt *r)
{
	while (r->head != NULL) {
		struct eval *e = r->head;

		r->head = e->next;
		free_eval(e);
	}
}

void evaluate_flush_open(struct hark *h, bool all)
{
	int64_t now = timeutil_mono_ms();

	if (!all && now < h->flush_at_ms) {
		return;
	}
	h->flush_at_ms = now + h->cfg->flush_interval_ms;
	/* what a redis-stream source holds its acknowledgements against */
	h->flush_seq++;
	for (size_t i = 0; i < h->cfg->n_rules; i++) {
		struct rule_rt *r = &h->rules[i];
		int64_t starts[64], counts[64];
		size_t n;

		if (r->matched_total == r->flushed_matched) {
			continue;
		}
		r->flushed_matched = r->matched_total;
		n = series_open_counts(r->series, starts, counts, 64);
		for (size_t j = 0; j < n; j++) {
			counts_put(h->counts, r->cfg->name, starts[j],
				   counts[j]);
		}
	}
}

struct chart_where evaluate_chart_where(const struct hark *h,
					const struct rule_rt *r)
{
	struct chart_where w = {
		.st = h->store,
		.prefix = h->cfg->prefix,
		.rule = r->cfg->name,
		.ttl_ms = h->cfg->retention_ms,
	};

	return w;
}

void evaluate_save_state(struct hark *h, struct rule_rt *r)
{
	size_t len;
	char *enc = detector_encode(r->det, &len);
	struct chart_where w = evaluate_chart_where(h, r);

	/* The judged buckets go with the state that judged them. */
	chart_flush(&w, &r->chart);
	r->state_dirty = false;
	/* The state outlives the counts it summarises: keep it 4× longer. */
	store_set(h->store, r->state_key, enc, len, h->cfg->retention_ms * 4,
		  NULL, NULL);
	free(enc);
}

static void evaluate(struct hark *h, struct rule_rt *r, struct eval *e)
{
	struct detect_result res;
	int64_t next = detector_next_start(r->det);

	if (next != INT64_MIN && e->b.start_ms < next) {
		/* Already evaluated before a restart: counted, not re-judged. */
		return;
	}
	if (r->begin_ms != INT64_MIN) {
		/* (a no-op unless a reload rebuilt the detector meanwhile) */
		detector_begin(r->det, r->begin_ms, r->begin_from_ms);
		r->begin_ms = INT64_MIN;
	}
	/* The chart's band costs a bisection a bucket: replay shows none. */
	detector_set_band(r->det, !h->replay);
	detector_step(r->det, e->b.start_ms, e->total, &res);
	r->last_count = e->total;
	r->has_last = true;
	log_debug("detect",
		  "rule=%s start=%lld count=%lld baseline=%.2f "
		  "score=%.2f threshold=%.2f span=%d state=%s reason=%s",
		  r->cfg->name, (long long)res.start_ms, (long long)res.count,
		  res.baseline, res.score, res.threshold, res.span,
		  detect_state_name(res.state), detect_reason_name(res.reason));
	/* Only a notification reads the bucket's samples and tops: most
	 * buckets never rank or copy them. */
	if (res.action != DETECT_NONE) {
		closed_bucket_fill(&e->b);
	}
	if (res.action == DETECT_FIRE) {
		r->fired_total++;
		h->alerts_total++;
		notify_decided(h, r, &res, e, "firing");
	} else if (res.action == DETECT_RESOLVE) {
		r->resolved_total++;
		r->firing = false;
		closed_bucket_fini(&r->fired_b);
		notify_decided(h, r, &res, e, "resolved");
	}
	/* Replay's store is a fresh in-memory one read by nobody, and
	 * encoding every rule's state after every bucket was a quarter of
	 * its time. */
	if (h->replay) {
		return;
	}
	{
		struct chart_where w = evaluate_chart_where(h, r);

		bool warm = res.state == DETECT_STATE_WARMING;
		struct point p = {
			.start_ms = res.start_ms,
			.count = res.count,
			.baseline = warm ? NAN : res.baseline,
			.state = res.state,
			.low = warm ? NAN : res.low,
			.high = warm ? NAN : res.high,
		};

		chart_add(&w, &r->chart, &p);
	}
	if (res.action != DETECT_NONE) {
		/* What receivers were told is never judged again. */
		evaluate_save_state(h, r);
	} else {
		r->state_dirty = true;
	}
}

void evaluate_save_dirty(struct hark *h)
{
	for (size_t i = 0; i < h->cfg->n_rules; i++) {
		if (h->rules[i].state_dirty) {
			evaluate_save_state(h, &h->rules[i]);
		}
	}
}

static void drain_rule(struct hark *h, struct rule_rt *r)
{
	while (r->head != NULL && r->head->done) {
		struct eval *e = r->head;

		r->head = e->next;
		if (r->head == NULL) {
			r->tail = NULL;
		}
		/* Stopping before the fleet passed it: not judged here (nor
		 * anything after it); the state saved stays before it, and a
		 * restart judges it again from the stored totals. */
		r->abandoned |= !e->final;
		if (!r->abandoned) {
			evaluate(h, r, e);
		}
		/* the bucket's tallies and ring, to the next bucket to open */
		series_reclaim(r->series, &e->b);
		free_eval(e);
	}
}

static void eval_cb(void *arg, int status, long long value)
{
	struct eval *e = arg;
	struct hark *h = e->h;

	h->inflight--;
	if (status != 0) {
		/* The store is down: judge on the total read before, else
		 * on what this process counted (counts keeps the write for
		 * when it is back). */
		if (e->total < 0) {
			e->total = e->b.count;
		}
		e->final = true;
	} else {
		e->total = value;
	}
	if (!e->final && h->phase == PHASE_SERVING) {
		/* Others may still write this bucket: read it again once the
		 * fleet has passed it (evaluate_fleet_moved). */
		e->waiting = true;
		h->fleet_waiting++;
		return;
	}
	e->done = true;
	drain_rule(h, &h->rules[e->rule]);
}

/* Reads e's total (again), final when the fleet has passed it now. */
static void read_total(struct hark *h, struct rule_rt *r, struct eval *e)
{
	e->final = fleet_final(h, e->b.end_ms, r->cfg->lateness_ms);
	h->inflight++;
	/* With nothing counted here, the total still comes from the store
	 * (a run before a restart, another daemon), and no key is made. */
	counts_close(h->counts, r->cfg->name, e->b.start_ms, e->b.count,
		     eval_cb, e);
}

void evaluate_fleet_moved(struct hark *h)
{
	for (size_t i = 0; i < h->cfg->n_rules; i++) {
		struct rule_rt *r = &h->rules[i];

		for (struct eval *e = r->head; e != NULL; e = e->next) {
			if (!e->waiting) {
				continue;
			}
			/* Buckets pass in order: none after this one can. */
			if (!fleet_final(h, e->b.end_ms, r->cfg->lateness_ms)) {
				break;
			}
			e->waiting = false;
			h->fleet_waiting--;
			read_total(h, r, e);
		}
	}
}

void evaluate_abandon_waiting(struct hark *h)
{
	for (size_t i = 0; i < h->cfg->n_rules; i++) {
		struct rule_rt *r = &h->rules[i];

		for (struct eval *e = r->head; e != NULL; e = e->next) {
			if (e->waiting) {
				e->waiting = false;
				h->fleet_waiting--;
				e->done = true;
			}
		}
		drain_rule(h, r);
	}
}

void evaluate_process(struct hark *h)
{
	int64_t now = watermark_now(h);

	if (h->phase != PHASE_SERVING && h->phase != PHASE_STOPPING) {
		return;
	}
	bool all = true;

	intake_begin_rules(h);
	for (size_t i = 0; i < h->cfg->n_rules; i++) {
		struct rule_rt *r = &h->rules[i];
		int64_t wm = h->flush_all
				     ? window_bucket_start(h->wm.max_event_ms,
							   r->cfg->bucket_ms) +
					       r->cfg->bucket_ms
				     : watermark_at(&h->wm, r->cfg->lateness_ms,
						    now);
		size_t max_gap =
			(size_t)(EVALUATE_HISTORY_MS / r->cfg->bucket_ms);
		struct closed_bucket b;

		if (!r->loaded) {
			all = false;
			continue;
		}
		while (series_pop_closed_lazy(r->series, wm, max_gap, &b)) {
			struct eval *e = xcalloc(1, sizeof(*e));

			e->h = h;
			e->rule = i;
			e->b = b;
			e->total = -1;
			if (r->tail != NULL) {
				r->tail->next = e;
			} else {
				r->head = e;
			}
			r->tail = e;
			read_total(h, r, e);
		}
	}
	/* What this daemon's writes have reached, for the fleet: every
	 * bucket its watermark closed was written above, before the next
	 * announcement goes out on the same connection. */
	if (all && !h->flush_all) {
		fleet_set_base(h, h->wm.has_event ? watermark_at(&h->wm, 0, now)
						  : INT64_MIN);
	}
}

/* ---- start-up and reload: the saved states read back ---- */

struct load_ctx {
	struct hark *h;
	size_t rule;
};

static void load_cb(void *arg, const int status, const char *val, size_t len)
{
	struct load_ctx *c = arg;
	struct hark *h = c->h;
	struct rule_rt *r = &h->rules[c->rule];

	free(c);
	r->load_inflight = false;
	if (r->loaded ||
	    (h->phase != PHASE_LOADING && h->phase != PHASE_SERVING)) {
		return;
	}
	if (status != 0) {
		return; /* retried by the tick until the deadline */
	}
	if (val != NULL) {
		if (detector_decode(r->det, val, len) == 0) {
			int64_t next = detector_next_start(r->det);

			if (next != INT64_MIN) {
				series_set_next(r->series, next);
			}
			log_info("hark",
				 "rule=%s state restored baseline=%.1f "
				 "state=%s",
				 r->cfg->name, detector_baseline(r->det),
				 detect_state_name(detector_state(r->det)));
		} else {
			/* Text states of the previous detector, or a
			 * state of another bucket size: refused whole. */
			log_warn("hark",
				 "rule=%s saved detector state is from an "
				 "older version or another bucket; learning "
				 "again",
				 r->cfg->name);
		}
	}
	intake_rule_loaded(h, r);
	if (h->phase == PHASE_LOADING && hark_all_loaded(h)) {
		hark_begin_serving(h);
	}
}

void evaluate_load_rules(struct hark *h)
{
	for (size_t i = 0; i < h->cfg->n_rules; i++) {
		struct rule_rt *r = &h->rules[i];
		struct load_ctx *c;

		if (r->loaded || r->load_inflight) {
			continue;
		}
		c = xcalloc(1, sizeof(*c));
		c->h = h;
		c->rule = i;
		r->load_inflight = true;
		store_get(h->store, r->state_key, load_cb, c);
	}
}
