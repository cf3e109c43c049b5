/* SPDX-License-Identifier: MIT */
/*
 * The fleet (see fleet.h): announcements out, members in, and the one
 * question evaluation asks, whether a bucket is final for everyone.
 */
#include "daemon/fleet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config/config.h"
#include "core/keys.h"
#include "core/members.h"
#include "core/prom.h"
#include "core/texthash.h"
#include "daemon/counts.h"
#include "daemon/daemon.h"
#include "daemon/evaluate.h"
#include "daemon/pulled.h"
#include "io/store.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/timeutil.h"

struct fleet {
	struct hark *h; /* borrowed */
	char *key;
	const char *id; /* counts_writer's, borrowed */
	int64_t interval_ms;
	int64_t live_ms;
	int64_t next_ms; /* monotonic: the next announcement */
	bool inflight;
	bool known; /* an announcement was answered */
	bool down;  /* the last one failed: going on alone */
	bool left;
	int64_t base_ms;        /* h's, announced (confirm_base) */
	int64_t next_base_ms;   /* h's, as evaluate set it last */
	int64_t others_ms;      /* members_base of the last answer */
	int64_t read_ms;        /* wall clock of the last answer */
	int64_t start_ms;       /* wall clock: when this member started */
	struct member *members; /* the last answer's */
	size_t n_members;
	uint64_t beats;
	uint64_t beats_failed;
};

struct fleet *fleet_new(struct hark *h)
{
	struct fleet *f;

	if (h->replay || strcmp(store_kind(h->store), "redis") != 0) {
		return NULL;
	}
	f = xcalloc(1, sizeof(*f));
	f->h = h;
	f->key = keys_members(h->cfg->prefix);
	f->id = counts_writer(h->counts);
	f->interval_ms = h->cfg->flush_interval_ms;
	f->live_ms = FLEET_LIVE_BEATS * f->interval_ms;
	if (f->live_ms < FLEET_LIVE_MIN_MS) {
		f->live_ms = FLEET_LIVE_MIN_MS;
	}
	f->base_ms = INT64_MIN;
	f->next_base_ms = INT64_MIN;
	f->others_ms = INT64_MIN;
	f->start_ms = timeutil_now_ms();
	f->members = xcalloc(MEMBERS_MAX, sizeof(*f->members));
	return f;
}

void fleet_free(struct fleet *f)
{
	if (f == NULL) {
		return;
	}
	free(f->members);
	free(f->key);
	free(f);
}

void fleet_set_base(struct hark *h, int64_t base_ms)
{
	if (h->fleet != NULL) {
		h->fleet->next_base_ms = base_ms;
	}
}

/*
 * The watermark announced is one whose count writes are all answered: the
 * one evaluate set last, once no count write is in flight or waiting to be
 * sent again (then every write issued before it was set is in the store).
 * On one Redis the writes and the announcement share a connection and
 * this costs nothing; on a Cluster they go to different nodes.
 */
static void confirm_base(struct hark *h)
{
	struct fleet *f = h->fleet;

	if (counts_inflight(h->counts) == 0 && counts_pending(h->counts) == 0) {
		f->base_ms = f->next_base_ms;
	}
}

static void beat_cb(void *arg, int status, const char *val, size_t len)
{
	struct hark *h = arg;
	struct fleet *f = h->fleet;
	int64_t now = timeutil_now_ms();
	bool was_down;

	if (f == NULL) {
		return; /* answered after the fleet was left */
	}
	f->inflight = false;
	was_down = f->down;
	if (status != 0) {
		f->beats_failed++;
		f->down = true;
		if (!was_down) {
			log_warn("fleet", "cannot announce this instance; "
					  "judging buckets alone until the "
					  "store answers");
		}
		evaluate_fleet_moved(h);
		return;
	}
	f->down = false;
	f->known = true;
	f->read_ms = now;
	f->n_members =
		members_parse(val != NULL ? val : "", val != NULL ? len : 0,
			      now, f->live_ms, f->id, f->members, MEMBERS_MAX);
	f->others_ms = members_base(f->members, f->n_members, now, f->live_ms);
	for (size_t i = 0; i < f->n_members; i++) {
		if (members_gone(&f->members[i], now, FLEET_GONE_MS)) {
			store_hash(h->store, f->key, f->members[i].id, NULL, 0,
				   NULL, NULL);
		}
	}
	if (was_down) {
		log_info("fleet", "announcing again; %zu members",
			 f->n_members);
	}
	evaluate_fleet_moved(h);
}

void fleet_tick(struct hark *h)
{
	struct fleet *f = h->fleet;
	int64_t mono = timeutil_mono_ms();
	char val[128];

	if (f == NULL || f->inflight || f->left || mono < f->next_ms) {
		return;
	}
	f->next_ms = mono + f->interval_ms;
	f->inflight = true;
	f->beats++;
	confirm_base(h);
	members_format(val, sizeof(val), timeutil_now_ms(), f->base_ms,
		       h->received, f->start_ms);
	/* The hash outlives a day without any member. */
	store_hash(h->store, f->key, f->id, val, 86400 * 1000LL, beat_cb, h);
}

bool fleet_final(const struct hark *h, int64_t end_ms, int64_t lateness_ms)
{
	const struct fleet *f = h->fleet;

	if (f == NULL || f->down || f->left) {
		return true;
	}
	if (!f->known) {
		return false;
	}
	return f->others_ms == INT64_MAX ||
	       (f->others_ms != INT64_MIN &&
		f->others_ms - lateness_ms >= end_ms);
}

int64_t fleet_live_ms(const struct hark *h)
{
	return h->fleet != NULL ? h->fleet->live_ms : FLEET_LIVE_MIN_MS;
}

bool fleet_claims(const struct hark *h)
{
	return h->fleet != NULL;
}

enum outbox_owner fleet_owner(void *arg, const char *id)
{
	const struct fleet *f = ((struct hark *)arg)->fleet;

	if (f == NULL || !f->known) {
		return f == NULL ? OUTBOX_OWNER_GONE : OUTBOX_OWNER_UNKNOWN;
	}
	for (size_t i = 0; i < f->n_members; i++) {
		if (strcmp(f->members[i].id, id) == 0) {
			return f->members[i].live || f->members[i].self
				       ? OUTBOX_OWNER_LIVE
				       : OUTBOX_OWNER_GONE;
		}
	}
	return OUTBOX_OWNER_ABSENT;
}

void fleet_leave(struct hark *h)
{
	struct fleet *f = h->fleet;

	if (f == NULL || f->left) {
		return;
	}
	f->left = true;
	/* After the last count writes, on the same connection: the others
	 * stop waiting for this member once its counts are in. */
	store_hash(h->store, f->key, f->id, NULL, 0, NULL, NULL);
}

/* RFC 3339 UTC with milliseconds, or null for INT64_MIN. */
static void add_time(cJSON *o, const char *name, int64_t ms)
{
	char t[32];

	if (ms == INT64_MIN || ms == INT64_MAX) {
		cJSON_AddNullToObject(o, name);
		return;
	}
	timeutil_format_rfc3339_ms(ms, t);
	cJSON_AddStringToObject(o, name, t);
}

/* One member of GET /v1/cluster. */
static cJSON *member_json(const char *id, bool self, bool live, int64_t seen,
			  int64_t base, uint64_t received, int64_t now)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddBoolToObject(o, "self", self);
	cJSON_AddBoolToObject(o, "live", live);
	add_time(o, "seen", seen);
	cJSON_AddNumberToObject(o, "seen_ago_ms", (double)(now - seen));
	add_time(o, "watermark", base);
	if (base != INT64_MIN) {
		cJSON_AddNumberToObject(o, "lag_ms", (double)(now - base));
	} else {
		cJSON_AddNullToObject(o, "lag_ms");
	}
	cJSON_AddNumberToObject(o, "received", (double)received);
	return o;
}

void fleet_json(struct hark *h, struct buf *out)
{
	struct fleet *f = h->fleet;
	cJSON *root = cJSON_CreateObject(), *arr;
	int64_t now = timeutil_now_ms();
	char *text;
	bool self_listed = false;

	cJSON_AddStringToObject(root, "instance", counts_writer(h->counts));
	cJSON_AddStringToObject(root, "store", store_kind(h->store));
	cJSON_AddBoolToObject(root, "fleet", f != NULL);
	arr = cJSON_AddArrayToObject(root, "members");
	for (size_t i = 0; f != NULL && i < f->n_members; i++) {
		const struct member *m = &f->members[i];

		self_listed |= m->self;
		/* this member's figures are its own, current ones */
		cJSON_AddItemToArray(
			arr,
			member_json(m->id, m->self, m->self || m->live,
				    m->beat_ms,
				    m->self ? f->base_ms : m->base_ms,
				    m->self ? h->received : m->received, now));
	}
	if (!self_listed) {
		/* alone, or not announced yet: this process all the same */
		cJSON_AddItemToArray(
			arr,
			member_json(counts_writer(h->counts), true, true, now,
				    f != NULL ? f->base_ms : INT64_MIN,
				    h->received, now));
	}
	pulled_leases_json(h, cJSON_AddArrayToObject(root, "leases"));
	text = cJSON_PrintUnformatted(root);
	if (buf_append(out, text, strlen(text)) < 0) {
		buf_reset(out);
	}
	free(text);
	cJSON_Delete(root);
}

void fleet_metrics(struct hark *h, struct prom_page *pg)
{
	struct fleet *f = h->fleet;
	size_t live = 0;

	if (f == NULL) {
		return;
	}
	for (size_t i = 0; i < f->n_members; i++) {
		live += f->members[i].live || f->members[i].self;
	}
	prom_family(pg, "hark_fleet_members", "gauge",
		    "Instances announced on this store and prefix and live "
		    "(this one included), as of the last announcement.");
	prom_sample(pg, "hark_fleet_members", NULL, 0, "%zu", live);
	prom_family(pg, "hark_fleet_announcements_failed_total", "counter",
		    "Announcements the store did not take (the instance "
		    "judged alone meanwhile).");
	prom_sample(pg, "hark_fleet_announcements_failed_total", NULL, 0,
		    "%llu", (unsigned long long)f->beats_failed);
	prom_family(pg, "hark_fleet_sent_by_others_total", "counter",
		    "Notifications this instance reached and another "
		    "member claimed and sent.");
	prom_sample(pg, "hark_fleet_sent_by_others_total", NULL, 0, "%llu",
		    (unsigned long long)h->claims_lost);
	prom_family(pg, "hark_fleet_waiting_buckets", "gauge",
		    "Closed buckets waiting for the other instances to pass "
		    "them.");
	prom_sample(pg, "hark_fleet_waiting_buckets", NULL, 0, "%zu",
		    h->fleet_waiting);
}
