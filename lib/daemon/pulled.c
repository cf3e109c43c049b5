/* SPDX-License-Identifier: MIT */
/*
 * The sources hark reads itself, as opposed to pushes: http-stream, sse and
 * redis-stream connections, and followed files, whose positions are kept in
 * the store so that a restart reads on from the first line not counted
 * instead of counting a file again. What they read is counted by intake;
 * connecting and reading are io/source_*'s and io/ingest's. Runs on the
 * loop.
 */
#include "daemon/pulled.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config/config.h"
#include "core/keys.h"
#include "daemon/counts.h"
#include "daemon/daemon.h"
#include "daemon/fleet.h"
#include "daemon/intake.h"
#include "io/ingest.h"
#include "io/source.h"
#include "io/source_http.h"
#include "io/source_redis.h"
#include "io/store.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

/* The sink of the pulled sources: they parsed and deduplicated already. */
static int source_mention_cb(void *arg, int source, const struct mention *m,
			     char *err, size_t errlen)
{
	struct hark *h = arg;

	if (h->phase != PHASE_SERVING) {
		snprintf(err, errlen, "daemon stopping");
		return -1;
	}
	h->received++;
	h->src_stats[source].received++;
	if (intake_admit_event_time(h, &h->src_stats[source], m, err, errlen) <
	    0) {
		return -1;
	}
	intake_count_mention(h, source, m, intake_arrival_now(h));
	return 0;
}

static void source_flush_cb(void *arg)
{
	hark_process(arg);
}

static uint64_t source_ticket_cb(void *arg)
{
	const struct hark *h = arg;

	return h->flush_seq;
}

/*
 * When every count write sent so far has been answered and none waits to
 * be sent again, everything counted before the last flush began is in the
 * store: the redis-stream sources acknowledge what they read before it.
 */
static void release_acks(struct hark *h, uint64_t through)
{
	for (size_t i = 0; i < h->cfg->n_sources; i++) {
		if (h->redis_sources[i] != NULL) {
			source_redis_stored(h->redis_sources[i], through);
		}
	}
}

static bool counts_stored(const struct hark *h)
{
	return store_up(h->store) && counts_inflight(h->counts) == 0 &&
	       counts_pending(h->counts) == 0;
}

static void lease_free(struct hark *h, size_t i);

/* Disconnects the http-stream and sse sources (leases held given up). */
static void stop_streams(struct hark *h)
{
	for (size_t i = 0; h->leases != NULL && i < h->cfg->n_sources; i++) {
		lease_free(h, i);
	}
	for (size_t i = 0; h->streams != NULL && i < h->cfg->n_sources; i++) {
		source_http_free(h->streams[i]);
		h->streams[i] = NULL;
	}
	source_http_multi_free(h->multi);
	h->multi = NULL;
}

/* Disconnects every pulled source; queued mentions are dropped. */
static void stop_pulled_sources(struct hark *h)
{
	stop_streams(h);
	for (size_t i = 0; h->redis_sources != NULL && i < h->cfg->n_sources;
	     i++) {
		source_redis_free(h->redis_sources[i]);
		h->redis_sources[i] = NULL;
	}
}

/* Connects the http-stream or sse source i. */
static void start_stream(struct hark *h, size_t i)
{
	if (h->multi == NULL) {
		h->multi = source_http_multi_new(h->base);
	}
	h->streams[i] = source_http_start(h->multi, &h->env, (int)i,
					  &h->cfg->sources[i]);
}

/* ---- leases: one reader of a stream for a fleet ---- */

/*
 * A source with lease: true, on a store that several harkd share, is read
 * only by the member holding <prefix>{fleet}:v2:lease:<source> (its id, by
 * store_claim, kept for fleet_live_ms and renewed every flush interval):
 * X allows one connection per app. The holder counts for everyone, the
 * totals being shared. When it dies its lease expires and the next member
 * to claim it connects: within fleet_live_ms and a flush interval. A holder
 * that cannot renew for fleet_live_ms disconnects (another may hold the
 * lease by then); one that stops gives it up at once.
 */
struct pulled_lease {
	char *key;
	bool held;
	bool inflight;
	int64_t next_ms;    /* monotonic: the next claim */
	int64_t renewed_ms; /* monotonic: the last claim won */
	char *holder;       /* as last read; NULL: none or unknown */
};

struct lease_ctx {
	struct hark *h;
	size_t source;
};

static void holder_cb(void *arg, int status, const char *val, size_t len)
{
	struct lease_ctx *c = arg;
	struct pulled_lease *l =
		c->h->leases != NULL ? c->h->leases[c->source] : NULL;

	free(c);
	if (l == NULL || l->held) {
		return;
	}
	free(l->holder);
	l->holder = status == 0 && val != NULL ? xstrndup(val, len) : NULL;
}

static void lease_cb(void *arg, int status, long long won)
{
	struct lease_ctx *c = arg;
	struct hark *h = c->h;
	size_t i = c->source;
	struct pulled_lease *l = h->leases != NULL ? h->leases[i] : NULL;
	const char *name = h->cfg->sources[i].name;
	int64_t mono = timeutil_mono_ms();

	if (l == NULL || h->phase != PHASE_SERVING) {
		free(c);
		return;
	}
	l->inflight = false;
	if (status == 0 && won == 1) {
		free(c);
		l->renewed_ms = mono;
		if (!l->held) {
			l->held = true;
			free(l->holder);
			l->holder = xstrdup(counts_writer(h->counts));
			log_info("pulled", "source=%s lease taken: reading it",
				 name);
			start_stream(h, i);
		}
		return;
	}
	if (l->held &&
	    (status == 0 || mono - l->renewed_ms > fleet_live_ms(h))) {
		l->held = false;
		log_warn("pulled", "source=%s lease %s: disconnecting", name,
			 status == 0 ? "held by another instance"
				     : "not renewed in time");
		source_http_free(h->streams[i]);
		h->streams[i] = NULL;
	}
	if (status == 0 && !l->held) {
		store_get(h->store, l->key, holder_cb, c);
		return;
	}
	free(c);
}

static void lease_step(struct hark *h, size_t i)
{
	struct pulled_lease *l = h->leases[i];
	int64_t mono = timeutil_mono_ms();
	struct lease_ctx *c;

	if (l == NULL || l->inflight || mono < l->next_ms) {
		return;
	}
	l->next_ms = mono + h->cfg->flush_interval_ms;
	l->inflight = true;
	c = xcalloc(1, sizeof(*c));
	c->h = h;
	c->source = i;
	store_claim(h->store, l->key, counts_writer(h->counts),
		    fleet_live_ms(h), lease_cb, c);
}

static void lease_free(struct hark *h, size_t i)
{
	struct pulled_lease *l = h->leases[i];

	if (l == NULL) {
		return;
	}
	if (l->held) {
		store_release(h->store, l->key, counts_writer(h->counts), NULL,
			      NULL);
	}
	free(l->key);
	free(l->holder);
	free(l);
	h->leases[i] = NULL;
}

void pulled_leases_json(const struct hark *h, cJSON *arr)
{
	for (size_t i = 0; h->leases != NULL && i < h->cfg->n_sources; i++) {
		const struct pulled_lease *l = h->leases[i];
		cJSON *o;

		if (l == NULL) {
			continue;
		}
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "source", h->cfg->sources[i].name);
		if (l->holder != NULL) {
			cJSON_AddStringToObject(o, "holder", l->holder);
		} else {
			cJSON_AddNullToObject(o, "holder");
		}
		cJSON_AddBoolToObject(o, "self", l->held);
		cJSON_AddItemToArray(arr, o);
	}
}

/* Starts the http-stream, sse and redis-stream sources. */
static void start_pulled_sources(struct hark *h)
{
	const struct config *cfg = h->cfg;

	h->env.base = h->base;
	h->env.dedupe = intake_ids_seen(h);
	h->env.sink.mention = source_mention_cb;
	h->env.sink.flush = source_flush_cb;
	h->env.sink.ticket = source_ticket_cb;
	h->env.sink.arg = h;
	for (size_t i = 0; i < cfg->n_sources; i++) {
		const struct config_source *src = &cfg->sources[i];
		char err[256];

		switch (src->type) {
		case CONFIG_SOURCE_HTTP_STREAM:
		case CONFIG_SOURCE_SSE:
			if (src->lease && h->fleet != NULL) {
				/* connected once its lease is held */
				h->leases[i] =
					xcalloc(1, sizeof(*h->leases[i]));
				h->leases[i]->key =
					keys_lease(cfg->prefix, src->name);
				lease_step(h, i);
				break;
			}
			start_stream(h, i);
			break;
		case CONFIG_SOURCE_REDIS_STREAM:
			h->redis_sources[i] = source_redis_start(
				&h->env, (int)i, src, cfg->redis_url, err,
				sizeof(err));
			if (h->redis_sources[i] == NULL) {
				log_error("hark", "source=%s: %s", src->name,
					  err);
			}
			break;
		case CONFIG_SOURCE_HTTP_PUSH:
		case CONFIG_SOURCE_FILE:
			break;
		}
	}
}

/* How often the file sources' positions are saved while serving: what a
 * crash may read again. A stop saves them exactly. */
#define PULLED_FILE_SAVE_MS 2000

struct file_ctx {
	struct hark *h;
	size_t source;
	struct ingest_pos pos;
};

static void start_file(struct hark *h, size_t i, const struct ingest_pos *saved)
{
	h->file_pos[i].started = true;
	h->files[i] = ingest_file_start_at(h->base, h, (int)i,
					   &h->cfg->sources[i], saved);
}

static void file_loaded_cb(void *arg, int status, const char *val, size_t len)
{
	struct file_ctx *c = arg;
	struct hark *h = c->h;
	size_t i = c->source;
	struct file_pos *fp = &h->file_pos[i];
	const char *name = h->cfg->sources[i].name;
	struct ingest_pos pos;

	free(c);
	h->inflight--;
	fp->loading = false;
	if (h->phase != PHASE_SERVING || fp->started) {
		return;
	}
	if (status != 0) {
		/* Reading from the start would count the file again:
		 * asked again by the tick until the store answers. */
		if (!fp->warned) {
			log_warn("hark",
				 "source=%s: the store cannot say where "
				 "the last run stopped; waiting for it",
				 name);
		}
		fp->warned = true;
		return;
	}
	if (val == NULL) {
		start_file(h, i, NULL);
		return;
	}
	if (ingest_pos_decode(&pos, val, len) < 0) {
		log_warn("hark",
			 "source=%s: saved position unreadable; "
			 "reading from the start",
			 name);
		start_file(h, i, NULL);
		return;
	}
	fp->has_saved = true;
	fp->saved = pos;
	start_file(h, i, &pos);
}

/* Starts the file sources, the resuming ones once the store said where. */
static void start_files(struct hark *h)
{
	for (size_t i = 0; i < h->cfg->n_sources; i++) {
		const struct config_source *src = &h->cfg->sources[i];
		struct file_pos *fp = &h->file_pos[i];
		struct file_ctx *c;
		char *key;

		if (src->type != CONFIG_SOURCE_FILE || fp->started ||
		    fp->loading) {
			continue;
		}
		if (src->start_at != CONFIG_START_RESUME) {
			start_file(h, i, NULL);
			continue;
		}
		c = xcalloc(1, sizeof(*c));
		c->h = h;
		c->source = i;
		fp->loading = true;
		h->inflight++;
		key = keys_file(h->cfg->prefix, src->name);
		store_get(h->store, key, file_loaded_cb, c);
		free(key);
	}
}

static bool same_pos(const struct ingest_pos *a, const struct ingest_pos *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->offset == b->offset &&
	       a->size == b->size;
}

static void file_saved_cb(void *arg, int status, long long value)
{
	struct file_ctx *c = arg;
	struct file_pos *fp = &c->h->file_pos[c->source];

	HARK_UNUSED(value);
	c->h->inflight--;
	fp->saving = false;
	if (status == 0) {
		fp->has_saved = true;
		fp->saved = c->pos;
	}
	free(c);
}

/* force (at stop): written even when unchanged or a save is in flight;
 * the store applies commands in order, so the last one stays. */
static void save_file_pos(struct hark *h, size_t i, bool force)
{
	struct file_pos *fp = &h->file_pos[i];
	struct ingest_pos pos;
	struct file_ctx *c;
	char *key, *text;

	if (h->files[i] == NULL || !ingest_file_position(h->files[i], &pos)) {
		return;
	}
	if (!force &&
	    (fp->saving || (fp->has_saved && same_pos(&pos, &fp->saved)))) {
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->h = h;
	c->source = i;
	c->pos = pos;
	fp->saving = true;
	h->inflight++;
	key = keys_file(h->cfg->prefix, h->cfg->sources[i].name);
	text = ingest_pos_encode(&pos);
	store_set(h->store, key, text, strlen(text), 0, file_saved_cb, c);
	free(key);
	free(text);
}

static void save_file_positions(struct hark *h)
{
	int64_t now = timeutil_mono_ms();

	if (now < h->file_save_ms) {
		return;
	}
	h->file_save_ms = now + PULLED_FILE_SAVE_MS;
	for (size_t i = 0; i < h->cfg->n_sources; i++) {
		save_file_pos(h, i, false);
	}
}

void pulled_init(struct hark *h)
{
	const struct config *cfg = h->cfg;

	h->files = xcalloc(cfg->n_sources + 1, sizeof(*h->files));
	h->file_pos = xcalloc(cfg->n_sources + 1, sizeof(*h->file_pos));
	h->streams = xcalloc(cfg->n_sources + 1, sizeof(*h->streams));
	h->redis_sources =
		xcalloc(cfg->n_sources + 1, sizeof(*h->redis_sources));
	h->leases = xcalloc(cfg->n_sources + 1, sizeof(*h->leases));
}

void pulled_start(struct hark *h)
{
	start_pulled_sources(h);
	start_files(h);
	h->file_save_ms = timeutil_mono_ms() + PULLED_FILE_SAVE_MS;
}

void pulled_tick(struct hark *h)
{
	for (size_t i = 0; i < h->cfg->n_sources; i++) {
		lease_step(h, i);
	}
	if (counts_stored(h)) {
		release_acks(h, h->flush_seq);
	}
	start_files(h);
	save_file_positions(h);
}

void pulled_stop(struct hark *h)
{
	for (size_t i = 0; i < h->cfg->n_sources; i++) {
		save_file_pos(h, i, true);
		ingest_file_free(h->files[i]);
		h->files[i] = NULL;
		/* kept until the last counts are stored (pulled_finish) */
		source_redis_pause(h->redis_sources[i]);
	}
	stop_streams(h);
}

void pulled_finish(struct hark *h)
{
	bool stored = counts_stored(h);

	for (size_t i = 0; i < h->cfg->n_sources; i++) {
		if (h->redis_sources[i] == NULL) {
			continue;
		}
		if (stored) {
			source_redis_finish(h->redis_sources[i]);
		} else {
			/* not all stored: the entries stay pending, to be
			 * read again by whoever comes next */
			log_warn("pulled",
				 "source=%s: %zu entries left unacknowledged "
				 "(their counts were not all stored)",
				 h->cfg->sources[i].name,
				 source_redis_held(h->redis_sources[i]));
		}
	}
}

void pulled_fini(struct hark *h)
{
	if (h->files != NULL) {
		for (size_t i = 0; i < h->cfg->n_sources; i++) {
			ingest_file_free(h->files[i]);
		}
		free(h->files);
	}
	free(h->file_pos);
	stop_pulled_sources(h);
	free(h->streams);
	free(h->redis_sources);
	free(h->leases);
}
