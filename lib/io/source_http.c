/* SPDX-License-Identifier: MIT */
/*
 * http-stream and sse sources (see source_http.h). The curl glue follows
 * deliver.c: one event per socket curl watches, one timer for curl's own
 * timeouts. Each source adds a stall timer (no byte for stall_timeout →
 * reconnect) and a reconnect timer on the plan of source.c. Framing is
 * core/ndjson.c or core/sse.c; parsing and queueing are io/source.c.
 */
#include "io/source_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "config/config.h"
#include "core/ndjson.h"
#include "core/sse.h"
#include "io/curlev.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#define SUBSYS "source"
#define TOKEN_MAX_BYTES 8192
#define ERROR_BODY_BYTES 200

struct source_http_multi {
	struct event_base *base; /* borrowed */
	struct curlev *curl;
	CURLM *multi; /* borrowed from curl */
};

struct source_http {
	struct source_core core;
	struct source_http_multi *m;     /* borrowed */
	const struct config_source *cfg; /* borrowed */
	bool sse;
	CURL *easy;                 /* non-NULL while connected */
	struct curl_slist *headers; /* owned while easy is */
	char errbuf[CURL_ERROR_SIZE];
	struct ndjson nd;
	struct sse_parser sp;
	struct event *stall_ev;
	struct event *retry_ev;
	int64_t connected_at_ms; /* mono: transfer started */
	int64_t last_byte_ms;    /* mono */
	long status;             /* HTTP status of this connection */
	bool got_status;
	bool paused;
	char err_body[ERROR_BODY_BYTES + 1];
	size_t err_body_len;
	unsigned attempt;              /* failures since the last healthy run */
	enum source_failure last_kind; /* each kind's plan starts afresh */
	uint64_t rng;
};

static void connect_now(struct source_http *s);

/* ---- the shared multi handle ---- */

static void transfer_done(struct source_http *s, CURLcode rc);

/* A finished transfer, from curlev (priv is the source). */
static void transfer_done_cb(void *owner, void *priv, CURL *easy, CURLcode rc)
{
	HARK_UNUSED(owner);
	HARK_UNUSED(easy);
	transfer_done(priv, rc);
}

struct source_http_multi *source_http_multi_new(struct event_base *base)
{
	struct source_http_multi *m = xcalloc(1, sizeof(*m));

	m->base = base;
	m->curl = curlev_new(base, transfer_done_cb, m);
	if (m->curl == NULL) {
		free(m);
		return NULL;
	}
	m->multi = curlev_multi(m->curl);
	return m;
}

void source_http_multi_free(struct source_http_multi *m)
{
	if (m == NULL) {
		return;
	}
	curlev_free(m->curl);
	free(m);
}

/* ---- one source ---- */

static uint32_t next_rnd(struct source_http *s)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	return (uint32_t)(s->rng >> 32);
}

static void set_state(struct source_http *s, enum source_state st)
{
	if (s->core.st.state != st) {
		log_debug(SUBSYS, "source=%s state=%s", s->cfg->name,
			  source_state_name(st));
	}
	s->core.st.state = st;
}

static void on_line(void *arg, const char *line, size_t len)
{
	struct source_http *s = arg;

	source_core_offer(&s->core, line, len, NULL);
}

static void on_event(void *arg, const struct sse_event *ev)
{
	struct source_http *s = arg;

	/* Mastodon: update (new status), status.update (an edit, same id:
	 * dedupe keeps it from counting twice), delete (only counted);
	 * notification, filters_changed, … are not mentions. A generic SSE
	 * stream sends unnamed events ("message"). */
	if (strcmp(ev->type, "update") == 0 ||
	    strcmp(ev->type, "status.update") == 0 ||
	    strcmp(ev->type, "message") == 0) {
		source_core_offer(&s->core, ev->data, ev->data_len, NULL);
	} else if (strcmp(ev->type, "delete") == 0) {
		s->core.st.deletes++;
	}
}

static size_t write_cb(char *p, size_t size, size_t n, void *arg)
{
	struct source_http *s = arg;
	size_t len = size * n;
	size_t room;

	if (!s->got_status) {
		curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &s->status);
		s->got_status = true;
		if (s->status / 100 == 2) {
			set_state(s, SOURCE_STREAMING);
			log_info(SUBSYS, "source=%s connected status=%ld",
				 s->cfg->name, s->status);
		}
	}
	s->last_byte_ms = timeutil_mono_ms();
	if (s->status / 100 != 2) {
		/* An error body, kept short for last_error. */
		room = ERROR_BODY_BYTES - s->err_body_len;
		if (room > len) {
			room = len;
		}
		memcpy(s->err_body + s->err_body_len, p, room);
		s->err_body_len += room;
		s->err_body[s->err_body_len] = '\0';
		return len;
	}
	if (source_core_full(&s->core)) {
		/* curl keeps this chunk and offers it again on resume. */
		s->paused = true;
		source_core_paused(&s->core);
		return CURL_WRITEFUNC_PAUSE;
	}
	if (s->sse) {
		sse_feed(&s->sp, p, len);
	} else {
		ndjson_feed(&s->nd, p, len, on_line, s);
	}
	return len;
}

static void resume_cb(void *owner)
{
	struct source_http *s = owner;

	if (s->easy != NULL && s->paused) {
		s->paused = false;
		/* Time spent paused is not a stall. */
		s->last_byte_ms = timeutil_mono_ms();
		curl_easy_pause(s->easy, CURLPAUSE_CONT);
	}
}

static void teardown(struct source_http *s)
{
	if (s->easy != NULL) {
		curl_multi_remove_handle(s->m->multi, s->easy);
		curl_easy_cleanup(s->easy);
		s->easy = NULL;
	}
	curl_slist_free_all(s->headers);
	s->headers = NULL;
	evtimer_del(s->stall_ev);
	s->paused = false;
	/* A line or event cut by the disconnect never counts. */
	if (s->sse) {
		sse_reset(&s->sp);
	} else {
		ndjson_reset(&s->nd);
	}
}

static void schedule_reconnect(struct source_http *s, enum source_failure k,
			       int64_t retry_after_ms)
{
	int64_t delay;
	struct timeval tv;

	if (s->attempt > 0 && k != s->last_kind) {
		s->attempt = 0;
	}
	s->last_kind = k;
	s->attempt++;
	delay = source_reconnect_delay_ms(k, s->attempt, s->sse,
					  s->sse ? s->sp.retry_ms : 0,
					  retry_after_ms, next_rnd(s));
	s->core.st.last_delay_ms = delay;
	s->core.st.reconnects++;
	set_state(s, SOURCE_BACKOFF);
	log_info(SUBSYS, "source=%s reconnect in %lldms attempt=%u error=%s",
		 s->cfg->name, (long long)delay, s->attempt,
		 s->core.st.last_error);
	timeutil_tv(delay, &tv);
	evtimer_add(s->retry_ev, &tv);
}

static void transfer_done(struct source_http *s, CURLcode rc)
{
	curl_off_t retry_after = -1;
	long status = 0;
	int64_t now = timeutil_mono_ms();
	bool was_streaming;
	enum source_failure k;

	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(s->easy, CURLINFO_RETRY_AFTER, &retry_after);
	was_streaming = status / 100 == 2 && s->got_status;
	if (was_streaming &&
	    now - s->connected_at_ms >= SOURCE_HTTP_HEALTHY_MS) {
		s->attempt = 0;
	}
	teardown(s);
	if (s->sse && status == 204) {
		/* SSE: 204 No Content means "do not reconnect". */
		source_core_set_error(&s->core, "HTTP 204: server ended");
		set_state(s, SOURCE_FINISHED);
		log_warn(SUBSYS,
			 "source=%s server answered 204, not "
			 "reconnecting",
			 s->cfg->name);
		return;
	}
	if (rc != CURLE_OK) {
		source_core_set_error(&s->core, "%s",
				      s->errbuf[0] != '\0'
					      ? s->errbuf
					      : curl_easy_strerror(rc));
		k = SOURCE_FAIL_NETWORK;
	} else if (was_streaming) {
		source_core_set_error(&s->core, "server closed the stream");
		k = SOURCE_FAIL_NETWORK;
	} else {
		source_core_set_error(&s->core, "HTTP %ld: %s", status,
				      s->err_body);
		k = status == 429 ? SOURCE_FAIL_RATE_LIMIT : SOURCE_FAIL_HTTP;
	}
	/* curl reports 0 when there was no Retry-After header. */
	if (k == SOURCE_FAIL_NETWORK || status < 400 || retry_after <= 0) {
		retry_after = -1;
	}
	schedule_reconnect(s, k,
			   retry_after >= 0 ? (int64_t)retry_after * 1000 : -1);
}

static void stall_cb(evutil_socket_t fd, short what, void *arg)
{
	struct source_http *s = arg;
	int64_t idle = timeutil_mono_ms() - s->last_byte_ms;
	struct timeval tv;

	HARK_UNUSED(fd);
	HARK_UNUSED(what);
	if (s->easy == NULL) {
		return;
	}
	if (s->paused || idle < s->cfg->stall_timeout_ms) {
		timeutil_tv(s->paused ? s->cfg->stall_timeout_ms
				      : s->cfg->stall_timeout_ms - idle,
			    &tv);
		evtimer_add(s->stall_ev, &tv);
		return;
	}
	teardown(s);
	source_core_set_error(&s->core, "stalled: no byte for %lldms",
			      (long long)idle);
	schedule_reconnect(s, SOURCE_FAIL_NETWORK, -1);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	HARK_UNUSED(fd);
	HARK_UNUSED(what);
	connect_now(arg);
}

/* The token file is read at each connect so that a rotated token is
 * picked up without a reload. It is small and local. */
static char *read_token(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (f == NULL) {
		snprintf(err, errlen, "token_file: cannot open %s", path);
		return NULL;
	}
	buf = xmalloc(TOKEN_MAX_BYTES + 1);
	n = fread(buf, 1, TOKEN_MAX_BYTES, f);
	fclose(f);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
			 buf[n - 1] == ' ' || buf[n - 1] == '\t')) {
		buf[--n] = '\0';
	}
	if (n == 0 || strpbrk(buf, "\r\n") != NULL) {
		snprintf(err, errlen, "token_file: %s is empty or not one line",
			 path);
		free(buf);
		return NULL;
	}
	return buf;
}

static int build_headers(struct source_http *s, char *err, size_t errlen)
{
	const struct config_source *c = s->cfg;
	char *token = NULL;
	char *h;

	if (c->token_file != NULL && c->token_file[0] != '\0') {
		token = read_token(c->token_file, err, errlen);
		if (token == NULL) {
			return -1;
		}
	} else if (c->token != NULL && c->token[0] != '\0') {
		token = xstrdup(c->token);
	}
	if (token != NULL) {
		h = xasprintf("Authorization: Bearer %s", token);
		s->headers = curl_slist_append(s->headers, h);
		free(h);
		free(token);
	}
	if (s->sse) {
		s->headers = curl_slist_append(s->headers,
					       "Accept: text/event-stream");
		s->headers = curl_slist_append(s->headers,
					       "Cache-Control: no-cache");
		if (s->sp.last_id[0] != '\0') {
			h = xasprintf("Last-Event-ID: %s", s->sp.last_id);
			s->headers = curl_slist_append(s->headers, h);
			free(h);
		}
	}
	for (size_t i = 0; i < c->n_headers; i++) {
		h = xasprintf("%s: %s", c->headers[i].name,
			      c->headers[i].value);
		s->headers = curl_slist_append(s->headers, h);
		free(h);
	}
	return 0;
}

static void connect_now(struct source_http *s)
{
	char err[SOURCE_ERROR_BYTES];
	struct timeval tv;
	CURLMcode mc;

	HARK_ASSERT(s->easy == NULL);
	set_state(s, SOURCE_CONNECTING);
	if (build_headers(s, err, sizeof(err)) < 0) {
		curl_slist_free_all(s->headers);
		s->headers = NULL;
		source_core_set_error(&s->core, "%s", err);
		schedule_reconnect(s, SOURCE_FAIL_HTTP, -1);
		return;
	}
	s->easy = curl_easy_init();
	HARK_ASSERT(s->easy != NULL);
	s->errbuf[0] = '\0';
	s->err_body_len = 0;
	s->err_body[0] = '\0';
	s->got_status = false;
	s->status = 0;
	curl_easy_setopt(s->easy, CURLOPT_URL, s->cfg->url);
	curl_easy_setopt(s->easy, CURLOPT_PRIVATE, (char *)(void *)s);
	curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->headers);
	curl_easy_setopt(s->easy, CURLOPT_ERRORBUFFER, s->errbuf);
	curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->easy, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)s->cfg->connect_timeout_ms);
	curl_easy_setopt(s->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	/* X compresses on request; curl decodes before write_cb. */
	curl_easy_setopt(s->easy, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(s->easy, CURLOPT_USERAGENT,
			 "hark/"
			 "1");
	curl_easy_setopt(s->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	s->connected_at_ms = timeutil_mono_ms();
	s->last_byte_ms = s->connected_at_ms;
	mc = curl_multi_add_handle(s->m->multi, s->easy);
	if (mc != CURLM_OK) {
		source_core_set_error(&s->core, "%s", curl_multi_strerror(mc));
		teardown(s);
		schedule_reconnect(s, SOURCE_FAIL_NETWORK, -1);
		return;
	}
	timeutil_tv(s->cfg->stall_timeout_ms, &tv);
	evtimer_add(s->stall_ev, &tv);
}

struct source_http *source_http_start(struct source_http_multi *m,
				      const struct source_env *env, int index,
				      const struct config_source *cfg)
{
	struct source_http *s = xcalloc(1, sizeof(*s));

	s->m = m;
	s->cfg = cfg;
	s->sse = cfg->type == CONFIG_SOURCE_SSE;
	source_core_init(&s->core, env, index, cfg, s);
	s->core.resume = resume_cb;
	ndjson_init(&s->nd, (size_t)cfg->max_line_bytes);
	sse_init(&s->sp, (size_t)cfg->max_line_bytes,
		 (size_t)cfg->max_line_bytes, on_event, s);
	s->stall_ev = evtimer_new(env->base, stall_cb, s);
	s->retry_ev = evtimer_new(env->base, retry_cb, s);
	HARK_ASSERT(s->stall_ev != NULL && s->retry_ev != NULL);
	s->rng = ((uint64_t)timeutil_now_ms() << 20) ^ (uint64_t)getpid() ^
		 (uint64_t)(uintptr_t)s;
	if (s->rng == 0) {
		s->rng = 0x9E3779B97F4A7C15ULL;
	}
	log_info(SUBSYS, "source=%s type=%s starting", cfg->name,
		 s->sse ? "sse" : "http-stream");
	connect_now(s);
	return s;
}

struct source_stats source_http_stats(const struct source_http *s)
{
	struct source_stats st = s->core.st;

	if (s->sse) {
		st.keepalives += s->sp.comments;
		st.overlong += s->sp.dropped;
	} else {
		st.keepalives += s->nd.keepalives;
		st.overlong += s->nd.overlong;
		st.partial += s->nd.partial;
	}
	return st;
}

const char *source_http_last_event_id(const struct source_http *s)
{
	return s->sp.last_id;
}

void source_http_free(struct source_http *s)
{
	if (s == NULL) {
		return;
	}
	teardown(s);
	event_free(s->stall_ev);
	event_free(s->retry_ev);
	ndjson_fini(&s->nd);
	sse_fini(&s->sp);
	source_core_fini(&s->core);
	free(s);
}
