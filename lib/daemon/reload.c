/* SPDX-License-Identifier: MIT */
/*
 * SIGHUP: a new config's rules are compiled off the loop (cmd/harkd's
 * reloader thread calls reload_compile), then applied on the loop once
 * nothing in flight names a rule by its index: a rule kept by name and
 * bucket carries its counts, open buckets and learned state over, an added
 * one reads its saved state, a removed one is resolved and dropped. What
 * may not change without a restart is refused here, before anything moves.
 */
#include "daemon/reload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/detect.h"
#include "core/match.h"
#include "daemon/daemon.h"
#include "daemon/evaluate.h"
#include "daemon/intake.h"
#include "daemon/notify.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

/* Nothing in flight refers to a rule by its index: no bucket total or
 * saved state awaited from the store. */
static bool quiescent(const struct hark *h)
{
	if (h->inflight > 0 ||
	    (h->intake != NULL && !intake_quiet(h->intake))) {
		return false;
	}
	for (size_t i = 0; i < h->cfg->n_rules; i++) {
		/* An eval holds its rule's index until evaluated: none may
		 * be queued (each in flight is counted in inflight too). */
		if (h->rules[i].load_inflight || h->rules[i].head != NULL) {
			return false;
		}
	}
	return true;
}

/*
 * Moves the runtime of old rule o into r for its new config cr (same name
 * and bucket): counts, open buckets, history, lifecycle stay; changed
 * detection settings carry the learned state over; the rule's own words
 * are excluded from its top terms again; repeats restart when its notify
 * list changed.
 */
static void rule_move(struct hark *h, struct rule_rt *r, struct rule_rt *o,
		      const struct config_rule *cr)
{
	const struct config_rule *was = o->cfg;
	struct detect_params pa, pb;

	*r = *o;
	memset(o, 0, sizeof(*o));
	r->cfg = cr;
	hark_detect_params(was, &pa);
	hark_detect_params(cr, &pb);
	if (memcmp(&pa, &pb, sizeof(pa)) != 0) {
		struct detector *d = detector_new(&pb);
		size_t len;
		char *enc = detector_encode(r->det, &len);

		if (detector_decode(d, enc, len) == 0) {
			detector_free(r->det);
			r->det = d;
		} else {
			detector_free(d); /* cannot happen: same bucket */
		}
		free(enc);
	}
	hark_exclude_rule_terms(h, cr, r->series);
	if (was->n_notify != cr->n_notify ||
	    memcmp(was->notify, cr->notify,
		   cr->n_notify * sizeof(cr->notify[0])) != 0) {
		free(r->repeat_at_ms);
		free(r->repeats);
		r->repeat_at_ms =
			xcalloc(cr->n_notify + 1, sizeof(*r->repeat_at_ms));
		r->repeats = xcalloc(cr->n_notify + 1, sizeof(*r->repeats));
	}
}

/*
 * A rule removed by a reload while it was firing: its receivers are told it
 * resolved (the last evaluated bucket's figures, no samples), so none keeps
 * an open alert, and its saved state stops firing, so that adding it back
 * later does not resume the episode.
 */
static void resolve_removed(struct hark *h, struct rule_rt *r)
{
	struct detect_result res;
	struct eval e;

	if (!detector_end_firing(r->det)) {
		return;
	}
	/* The resolve detector_end_firing left, with the episode's start. */
	res = *detector_last(r->det);
	memset(&e, 0, sizeof(e));
	e.h = h;
	e.b.start_ms = res.start_ms;
	e.b.end_ms = res.end_ms;
	e.b.count = res.count;
	r->resolved_total++;
	notify_alert(h, r, &res, &e, "resolved");
	log_info("reload", "rule=%s removed while firing: resolved",
		 r->cfg->name);
	evaluate_save_state(h, r);
}

/* Swaps in the accepted config's rules and matcher (see
 * reload_compiled). */
static void apply_reload(struct hark *h)
{
	struct config *n = h->reload_cfg;
	struct config *old = h->cfg;
	struct rule_rt *rules = xcalloc(n->n_rules + 1, sizeof(*rules));
	bool *kept = xcalloc(old->n_rules + 1, sizeof(*kept));
	size_t added = 0, kept_n = 0, removed = 0;

	for (size_t i = 0; i < n->n_rules; i++) {
		const struct config_rule *cr = &n->rules[i];
		long j = config_find_rule(old, cr->name);

		if (j >= 0 && !kept[j] &&
		    old->rules[j].bucket_ms == cr->bucket_ms) {
			kept[j] = true;
			rule_move(h, &rules[i], &h->rules[j], cr);
			kept_n++;
		} else {
			/* New, or a new bucket size: its saved state (of
			 * the other size) is read and refused as at start. */
			hark_rule_init(h, n, i, &rules[i]);
			added++;
		}
	}
	for (size_t j = 0; j < old->n_rules; j++) {
		if (!kept[j]) {
			if (h->rules[j].state_dirty) {
				evaluate_save_state(h, &h->rules[j]);
			}
			resolve_removed(h, &h->rules[j]);
			hark_rule_fini(&h->rules[j]);
			removed++;
		}
	}
	free(kept);
	free(h->rules);
	h->rules = rules;
	free(h->match_ids);
	h->match_ids = xcalloc(n->n_rules + 1, sizeof(*h->match_ids));
	if (h->intake != NULL) {
		intake_set_matcher(h->intake, h->reload_matcher, n->n_rules);
	}
	matcher_free(h->matcher);
	h->matcher = h->reload_matcher;
	h->reload_matcher = NULL;
	h->retired = xreallocarray(h->retired, h->n_retired + 1,
				   sizeof(*h->retired));
	h->retired[h->n_retired++] = old;
	h->cfg = n;
	h->reload_cfg = NULL;
	h->reloads_applied++;
	h->last_reload_ms = timeutil_now_ms();
	free(h->last_reload_error);
	h->last_reload_error = NULL;
	h->rule_load_deadline_ms = timeutil_mono_ms() + HARK_LOAD_DEADLINE_MS;
	log_info("reload",
		 "applied %s: rules=%zu kept=%zu added=%zu "
		 "removed=%zu",
		 n->path, n->n_rules, kept_n, added, removed);
	evaluate_load_rules(h);
}

void reload_step(struct hark *h)
{
	if (h->reload_cfg != NULL && h->intake != NULL) {
		/* Chunks already parsed name rules by their old index: the
		 * workers pause until those are counted and the new matcher
		 * is theirs. */
		intake_hold(h->intake, true);
	}
	if (h->reload_cfg != NULL && quiescent(h)) {
		apply_reload(h);
		if (h->intake != NULL) {
			intake_hold(h->intake, false);
		}
	}
	for (size_t i = 0; i < h->cfg->n_rules; i++) {
		struct rule_rt *r = &h->rules[i];

		if (r->loaded || r->load_inflight) {
			continue;
		}
		if (timeutil_mono_ms() >= h->rule_load_deadline_ms) {
			log_warn("reload",
				 "rule=%s: store unreachable, starting "
				 "without its saved state",
				 r->cfg->name);
			intake_rule_loaded(h, r);
		} else {
			evaluate_load_rules(h);
			break;
		}
	}
}

struct matcher *reload_compile(const struct hark *h, const struct config *n,
			       char *err, size_t errlen)
{
	struct matcher *m = matcher_new(h->fold);

	if (hark_build_matcher(m, n, err, errlen) < 0) {
		matcher_free(m);
		return NULL;
	}
	return m;
}

int reload_check(const struct hark *h, const struct config *n, char *err,
		 size_t errlen)
{
	if (h->phase != PHASE_SERVING && h->phase != PHASE_LOADING) {
		snprintf(err, errlen, "not serving");
		return -1;
	}
	if (n->fixed_digest != h->cfg->fixed_digest) {
		snprintf(err, errlen,
			 "store, http, sources or receivers "
			 "changed: restart required (restart harkd to apply "
			 "them; nothing applied: rules, external_url and "
			 "log_level reload live)");
		return -1;
	}
	return 0;
}

int reload_compiled(struct hark *h, struct config *n, struct matcher *m,
		    char *err, size_t errlen)
{
	if (reload_check(h, n, err, errlen) < 0) {
		reload_failed(h, err);
		matcher_free(m);
		config_fini(n);
		free(n);
		return -1;
	}
	if (h->reload_cfg != NULL) {
		/* A newer file wins over one still waiting. */
		config_fini(h->reload_cfg);
		free(h->reload_cfg);
		matcher_free(h->reload_matcher);
	}
	h->reload_cfg = n;
	h->reload_matcher = m;
	if (h->phase == PHASE_SERVING) {
		reload_step(h);
	}
	if (h->reload_cfg != NULL) {
		log_info("reload",
			 "accepted %s; applied once the store has "
			 "answered the %zu requests in flight",
			 n->path, h->inflight);
	}
	return 0;
}

void reload_failed(struct hark *h, const char *why)
{
	h->reloads_failed++;
	h->last_reload_ms = timeutil_now_ms();
	free(h->last_reload_error);
	h->last_reload_error = xstrdup(why);
}

bool reload_pending(const struct hark *h)
{
	return h->reload_cfg != NULL;
}
