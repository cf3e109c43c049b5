/* SPDX-License-Identifier: MIT */
/*
 * The shared half of pulled sources (see source.h): parse, deduplicate,
 * queue, hand over in batches from a zero-delay event so that a burst
 * read in one callback never runs the matcher inside curl's or hiredis's
 * callback, and so that the loop keeps serving the API between batches.
 */
#include "io/source.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "config/config.h"
#include "core/backoff.h"
#include "core/dedupe.h"
#include "util/log.h"
#include "util/xalloc.h"

#define SUBSYS "source"
#define NET_STEP_MS 250
#define NET_MAX_MS 16000
#define HTTP_BASE_MS 5000
#define HTTP_MAX_MS 320000
#define RATE_BASE_MS 60000
#define RATE_MAX_MS 960000
#define SSE_MAX_MS 60000
#define RETRY_AFTER_MAX_MS 3600000

static void drain_cb(evutil_socket_t fd, short what, void *arg);

void source_core_init(struct source_core *c, const struct source_env *env,
		      int index, const struct config_source *cfg, void *owner)
{
	memset(c, 0, sizeof(*c));
	c->env = *env;
	c->index = index;
	c->cfg = cfg;
	c->owner = owner;
	c->q_cap = (size_t)cfg->queue;
	c->q = xcalloc(c->q_cap, sizeof(*c->q));
	c->q_ack = xcalloc(c->q_cap, sizeof(*c->q_ack));
	c->drain_ev = evtimer_new(env->base, drain_cb, c);
	HARK_ASSERT(c->drain_ev != NULL);
	c->opts.reblog_original = cfg->reblogs == CONFIG_REBLOGS_ORIGINAL;
	if (cfg->has_fields) {
		c->fields.text = cfg->fields.text;
		c->fields.id = cfg->fields.id;
		c->fields.created_at = cfg->fields.created_at;
		c->fields.lang = cfg->fields.lang;
		c->fields.author = cfg->fields.author;
		c->fields.url = cfg->fields.url;
		c->opts.format = MENTION_FORMAT_FIELDS;
		c->opts.fields = &c->fields;
	} else {
		switch (cfg->format) {
		case CONFIG_FORMAT_X_V2:
			c->opts.format = MENTION_FORMAT_X_V2;
			break;
		case CONFIG_FORMAT_MASTODON:
			c->opts.format = MENTION_FORMAT_MASTODON;
			break;
		case CONFIG_FORMAT_FLAT:
			c->opts.format = MENTION_FORMAT_FLAT;
			break;
		case CONFIG_FORMAT_AUTO:
			c->opts.format = cfg->type == CONFIG_SOURCE_SSE
						 ? MENTION_FORMAT_MASTODON
						 : MENTION_FORMAT_AUTO;
			break;
		}
	}
}

void source_core_drop_queue(struct source_core *c)
{
	while (c->q_len > 0) {
		mention_fini(&c->q[c->q_head]);
		free(c->q_ack[c->q_head]);
		c->q_ack[c->q_head] = NULL;
		c->q_head = (c->q_head + 1) % c->q_cap;
		c->q_len--;
	}
	c->st.queued = 0;
}

void source_core_fini(struct source_core *c)
{
	source_core_drop_queue(c);
	free(c->q);
	free(c->q_ack);
	c->q = NULL;
	c->q_ack = NULL;
	if (c->drain_ev != NULL) {
		event_free(c->drain_ev);
		c->drain_ev = NULL;
	}
}

void source_core_set_error(struct source_core *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->st.last_error, sizeof(c->st.last_error), fmt, ap);
	va_end(ap);
}

static void ack(struct source_core *c, const char *id)
{
	if (id != NULL && c->ack != NULL) {
		c->ack(c->owner, id);
	}
}

static void schedule_drain(struct source_core *c)
{
	struct timeval zero = {0, 0};

	if (!evtimer_pending(c->drain_ev, NULL)) {
		evtimer_add(c->drain_ev, &zero);
	}
}

/*
 * The queue may run over q_cap by what one transport callback holds (a
 * curl write of at most CURL_MAX_WRITE_SIZE bytes, one XREADGROUP batch):
 * the callback is all or nothing, so fullness is checked before it
 * starts, and the ring grows to absorb the rest.
 */
static void push(struct source_core *c, struct mention *m, const char *id)
{
	size_t slot;

	if (c->q_len == c->q_cap) {
		size_t ncap = c->q_cap * 2;
		struct mention *nq = xcalloc(ncap, sizeof(*nq));
		char **na = xcalloc(ncap, sizeof(*na));

		for (size_t i = 0; i < c->q_len; i++) {
			nq[i] = c->q[(c->q_head + i) % c->q_cap];
			na[i] = c->q_ack[(c->q_head + i) % c->q_cap];
		}
		free(c->q);
		free(c->q_ack);
		c->q = nq;
		c->q_ack = na;
		c->q_cap = ncap;
		c->q_head = 0;
	}
	slot = (c->q_head + c->q_len) % c->q_cap;
	c->q[slot] = *m;
	c->q_ack[slot] = id != NULL ? xstrdup(id) : NULL;
	c->q_len++;
	c->st.queued = c->q_len;
	schedule_drain(c);
}

enum mention_result source_core_offer(struct source_core *c, const char *json,
				      size_t len, const char *ack_id)
{
	struct mention m;
	char err[SOURCE_ERROR_BYTES];
	enum mention_result r;

	c->st.received++;
	/* http-stream and sse lines are held to max_line by their framing;
	 * a redis-stream field arrives whole, so it is held here. */
	if (len > c->cfg->max_line_bytes) {
		snprintf(err, sizeof(err),
			 "longer than max_line (%" PRIu64 " bytes)",
			 c->cfg->max_line_bytes);
		r = MENTION_REJECTED;
	} else {
		r = mention_parse_as(&m, &c->opts, json, len, err, sizeof(err));
	}
	switch (r) {
	case MENTION_OK:
		break;
	case MENTION_REJECTED:
		c->st.rejected++;
		log_debug(SUBSYS, "source=%s rejected: %s", c->cfg->name, err);
		ack(c, ack_id);
		return r;
	case MENTION_STREAM_ERROR:
		c->st.stream_errors++;
		source_core_set_error(c, "stream error: %s", err);
		log_warn(SUBSYS, "source=%s stream error: %s", c->cfg->name,
			 err);
		ack(c, ack_id);
		return r;
	case MENTION_SKIPPED:
		c->st.skipped++;
		ack(c, ack_id);
		return r;
	}
	if (c->env.dedupe != NULL &&
	    dedupe_check(c->env.dedupe, config_source_scope(c->cfg), m.id,
			 strlen(m.id)) == DEDUPE_DUPLICATE) {
		c->st.duplicates++;
		mention_fini(&m);
		ack(c, ack_id);
		return r;
	}
	m.source = xstrdup(c->cfg->name);
	push(c, &m, ack_id);
	return r;
}

bool source_core_full(const struct source_core *c)
{
	return c->q_len >= (size_t)c->cfg->queue;
}

void source_core_paused(struct source_core *c)
{
	if (!c->want_resume) {
		c->st.pauses++;
		log_debug(SUBSYS, "source=%s queue full, reading paused",
			  c->cfg->name);
	}
	c->want_resume = true;
	schedule_drain(c);
}

static void drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct source_core *c = arg;
	struct source_sink *s = &c->env.sink;
	char err[SOURCE_ERROR_BYTES];
	size_t n = 0;

	HARK_UNUSED(fd);
	HARK_UNUSED(what);
	while (c->q_len > 0 && n < SOURCE_DRAIN_BATCH) {
		struct mention *m = &c->q[c->q_head];
		char *id = c->q_ack[c->q_head];

		if (s->mention(s->arg, c->index, m, err, sizeof(err)) == 0) {
			c->st.accepted++;
		} else {
			c->st.rejected++;
			log_debug(SUBSYS, "source=%s refused: %s", c->cfg->name,
				  err);
		}
		ack(c, id);
		mention_fini(m);
		free(id);
		c->q_ack[c->q_head] = NULL;
		c->q_head = (c->q_head + 1) % c->q_cap;
		c->q_len--;
		n++;
	}
	c->st.queued = c->q_len;
	if (n > 0 && s->flush != NULL) {
		s->flush(s->arg);
	}
	if (c->after_batch != NULL) {
		c->after_batch(c->owner);
	}
	if (c->q_len > 0) {
		schedule_drain(c);
	}
	if (c->want_resume && c->q_len <= (size_t)c->cfg->queue / 2) {
		c->want_resume = false;
		if (c->resume != NULL) {
			c->resume(c->owner);
		}
	}
}

const char *source_state_name(enum source_state s)
{
	switch (s) {
	case SOURCE_CONNECTING:
		return "connecting";
	case SOURCE_STREAMING:
		return "streaming";
	case SOURCE_BACKOFF:
		return "backoff";
	case SOURCE_FINISHED:
		return "finished";
	case SOURCE_STOPPED:
		return "stopped";
	}
	return "unknown";
}

void source_stats_json(const struct source_stats *st, const char *name,
		       const char *type, cJSON *obj)
{
	cJSON_AddStringToObject(obj, "name", name);
	cJSON_AddStringToObject(obj, "type", type);
	cJSON_AddStringToObject(obj, "state", source_state_name(st->state));
	cJSON_AddNumberToObject(obj, "received", (double)st->received);
	cJSON_AddNumberToObject(obj, "accepted", (double)st->accepted);
	cJSON_AddNumberToObject(obj, "duplicates", (double)st->duplicates);
	cJSON_AddNumberToObject(obj, "rejected", (double)st->rejected);
	cJSON_AddNumberToObject(obj, "reconnects", (double)st->reconnects);
	cJSON_AddNumberToObject(obj, "stream_errors",
				(double)st->stream_errors);
	cJSON_AddNumberToObject(obj, "skipped", (double)st->skipped);
	cJSON_AddNumberToObject(obj, "deletes", (double)st->deletes);
	cJSON_AddNumberToObject(obj, "keepalives", (double)st->keepalives);
	cJSON_AddNumberToObject(obj, "overlong", (double)st->overlong);
	cJSON_AddNumberToObject(obj, "partial", (double)st->partial);
	cJSON_AddNumberToObject(obj, "pauses", (double)st->pauses);
	cJSON_AddNumberToObject(obj, "queued", (double)st->queued);
	cJSON_AddNumberToObject(obj, "last_delay_ms",
				(double)st->last_delay_ms);
	if (st->last_error[0] != '\0') {
		cJSON_AddStringToObject(obj, "last_error", st->last_error);
	} else {
		cJSON_AddNullToObject(obj, "last_error");
	}
}

static int64_t doubling(unsigned attempt, int64_t base, int64_t max)
{
	int64_t d = base;

	for (unsigned i = 1; i < attempt && d < max; i++) {
		d = d > max / 2 ? max : d * 2;
	}
	return d > max ? max : d;
}

int64_t source_reconnect_delay_ms(enum source_failure k, unsigned attempt,
				  bool sse, int64_t base_ms,
				  int64_t retry_after_ms, uint32_t rnd)
{
	int64_t d;

	if (attempt < 1) {
		attempt = 1;
	}
	if (retry_after_ms >= 0) {
		return retry_after_ms > RETRY_AFTER_MAX_MS ? RETRY_AFTER_MAX_MS
							   : retry_after_ms;
	}
	if (k == SOURCE_FAIL_RATE_LIMIT) {
		return doubling(attempt, RATE_BASE_MS, RATE_MAX_MS);
	}
	if (sse) {
		if (base_ms < 1) {
			base_ms = 1000;
		}
		return backoff_delay_ms(
			attempt, base_ms,
			base_ms > SSE_MAX_MS ? base_ms : SSE_MAX_MS, rnd);
	}
	if (k == SOURCE_FAIL_HTTP) {
		return doubling(attempt, HTTP_BASE_MS, HTTP_MAX_MS);
	}
	d = (int64_t)attempt * NET_STEP_MS;
	return d > NET_MAX_MS ? NET_MAX_MS : d;
}
