/* SPDX-License-Identifier: MIT */
/*
 * Delivery glue: one libcurl multi handle driven by the libevent loop (one
 * event per socket curl watches, one timer for curl's timeouts), retries
 * as loop timers on the backoff plan, and the log receiver. Webhooks are
 * signed per Standard Webhooks at each attempt; e-mail goes through
 * curl's SMTP on the same multi; Alertmanager alerts are re-sent while
 * firing. A 410 disables its receiver. With a store, every notification
 * lives in a durable outbox (io/outbox.c: one entry per notification in the
 * receiver's hash) from before its first attempt until it is delivered or
 * dead-lettered, so a restart, or another member of a fleet, resumes it.
 * Runs on the loop thread only.
 */
#include "io/deliver.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <event2/event.h>

#include "hark-config.h"
#include "config/config.h"
#include "core/backoff.h"
#include "core/keys.h"
#include "core/mention.h"
#include "core/mime.h"
#include "core/outbox_entry.h"
#include "core/render.h"
#include "core/sign.h"
#include "io/curlev.h"
#include "io/outbox.h"
#include "io/store.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

/* CURLINFO_RETRY_AFTER is 7.66; Debian 12 ships 7.88. */
#if LIBCURL_VERSION_NUM < 0x074200
#error "hark needs libcurl >= 7.66"
#endif

#define SUBSYS "deliver"
#define RETRY_BASE_MS 1000
#define RETRY_MAX_MS 60000
/* A receiver asking for more than this is treated as asking for this. */
#define RETRY_AFTER_MAX_S 300
#define CONNECT_TIMEOUT_MAX_MS 5000
#define DEFAULT_TIMEOUT_MS 10000

struct deliver;

/* A socket curl asked us to watch; freed on CURL_POLL_REMOVE. */
/*
 * One delivery, owned by the in-flight operation: freed in job_end, which
 * runs for every outcome (sent, failed, abandoned at the drain deadline),
 * or, parked in the outbox for the next run, by deliver_free.
 */
struct job {
	struct deliver *d; /* borrowed */
	struct job *prev;
	struct job *next;
	const struct config_receiver *r; /* borrowed, outlives the job */
	size_t receiver_index;
	char *id;
	char *body;
	size_t len;
	char *url;          /* where this delivery goes */
	char *url_log;      /* "scheme://host/…" */
	unsigned attempt;   /* attempts started so far */
	bool slot_reserved; /* the rate limit already gave this attempt a slot */
	size_t read_off;    /* SMTP upload position */
	struct curl_slist *rcpt; /* SMTP recipients */
	struct curl_slist *headers;
	/* headers + this attempt's signature */
	struct curl_slist *attempt_headers;
	CURL *easy;             /* non-NULL while an attempt is running */
	struct event *retry_ev; /* pending while waiting for the next attempt */
	char errbuf[CURL_ERROR_SIZE];
	/* Ordering: a job waits while an older job of its receiver with the
	 * same key (the rule) is alive. NULL: no ordering. */
	char *key;
	int64_t created_ms;       /* wall clock, when first queued */
	unsigned attempts_before; /* made by earlier runs (from the outbox) */
	char *last_error;
	bool durable;    /* in the outbox */
	bool persisting; /* its outbox write is out: the attempt waits */
	bool taken;      /* another member sends it: dropped once idle */
	uint64_t seq;    /* queueing order, kept in the outbox */
	bool started;    /* its first attempt was scheduled */
	bool due;        /* its first attempt runs at the next start_ev */
	/* Kept in the outbox for the next run (drain): not attempted again,
	 * not counted in n_jobs, freed by deliver_free. */
	bool parked;
};

struct receiver_state {
	struct deliver_stats stats;
	/* Last attempt failed: the failure was logged, the next is not. */
	bool failing;
	/* Answered 410 Gone: nothing more is sent to it until a reload. */
	bool disabled;
	int64_t next_slot_ms; /* rate limit: the next free send time */
	bool keys_loaded;
	int n_keys; /* 0: unsigned; -1: the secret is bad, nothing is sent */
	struct sign_key *keys;
	char *tmpl; /* the template file's text, read once */
	bool tmpl_loaded;
	const struct config_receiver *r; /* borrowed; set on first use */
	uint64_t n_pending;              /* durable jobs, parked included */
	uint64_t pending_bytes;
	size_t resumed; /* taken over from the outbox since the last look */
	size_t dropped; /* ... and not queued (expired, already pending) */
	/* Firing alerts held for the receiver's group_wait, oldest first,
	 * sent as one message when group_timer fires. */
	struct held *grp;
	size_t n_grp;
	const struct config_receiver *grp_r; /* borrowed */
	struct rs_timer *grp_timer;
};

/* A firing alert held for group_wait: a deep copy, as deliver_alert's
 * alert is borrowed for the call only. */
struct held {
	struct alert a;
	char *rule;
	char *external_url;
	struct mention *samples;
	struct render_label *labels;
	struct render_top *tops[3];
	struct render_emerging *emerging;
};

/* Argument of a receiver's retry timer (receiver states move on realloc). */
struct rs_timer {
	struct deliver *d; /* borrowed */
	size_t index;
	struct event *ev;
};

/* An alert firing at an Alertmanager receiver, re-sent every resend_ms
 * with endsAt pushed ahead, until it resolves. */
struct am_firing {
	struct deliver *d; /* borrowed */
	struct am_firing *next;
	const struct config_receiver *r; /* borrowed */
	size_t receiver_index;
	char *rule;
	char *id;
	char *body; /* render_am_alerts output; endsAt rewritten per send */
	struct event *ev;
};

struct deliver {
	struct event_base *base; /* borrowed */
	struct curlev *curl;     /* the multi handle on the loop */
	CURLM *multi;            /* borrowed from curl */
	struct event *drain_ev;  /* drain deadline, and calling done */
	struct event *start_ev; /* first attempts of due jobs, in queue order */
	struct job *jobs;       /* oldest first */
	struct job *jobs_tail;
	size_t n_jobs;     /* not parked */
	struct outbox *ob; /* NULL: no store, no outbox */
	uint64_t seq;      /* the last job's */
	bool store_closed; /* the drain finished: no more store commands */
	struct receiver_state *rs;
	size_t n_rs;
	struct am_firing *firing;
	uint64_t rng;
	bool draining;
	int64_t deadline_ms;
	void (*done)(void *arg);
	void *done_arg;
};

enum verdict {
	VERDICT_SENT,
	VERDICT_RETRY,
	VERDICT_PERMANENT,
	VERDICT_GONE, /* 410: the receiver is gone for good */
};

static const char *or_empty_(const char *s)
{
	return s != NULL ? s : "";
}

__attribute__((noreturn)) static void fatal(const char *what)
{
	log_error(SUBSYS, "%s failed (out of memory?)", what);
	abort();
}

static void written_hook(void *arg, size_t index, const char *id);
static void adopted_hook(void *arg, size_t index, struct outbox_entry *e);
static void scanned_hook(void *arg, size_t index, size_t adopted);
static void taken_hook(void *arg, size_t index, const char *id,
		       const char *owner);
static void settled_hook(void *arg);
static void job_drop(struct job *j);

static uint32_t next_rand(struct deliver *d)
{
	uint64_t x = d->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	d->rng = x;
	return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

static struct receiver_state *receiver(struct deliver *d, size_t index)
{
	if (index >= d->n_rs) {
		d->rs = xreallocarray(d->rs, index + 1, sizeof(*d->rs));
		memset(d->rs + d->n_rs, 0,
		       (index + 1 - d->n_rs) * sizeof(*d->rs));
		d->n_rs = index + 1;
	}
	return &d->rs[index];
}

/* Paths, queries and userinfo carry tokens: logs get scheme and host. */
static char *url_for_log(const char *url)
{
	const char *sep;
	const char *host;
	const char *end;
	const char *p;

	if (url == NULL) {
		return xstrdup("(no url)");
	}
	sep = strstr(url, "://");
	if (sep == NULL) {
		return xstrdup("(invalid url)");
	}
	host = sep + 3;
	end = host + strcspn(host, "/?#");
	for (p = host; p < end; p++) {
		if (*p == '@') {
			host = p + 1;
		}
	}
	return xasprintf("%.*s://%.*s/\xe2\x80\xa6", (int)(sep - url), url,
			 (int)(end - host), host);
}

static bool has_crlf(const char *s)
{
	return strpbrk(s, "\r\n") != NULL;
}

static struct curl_slist *add_header(struct curl_slist *list, const char *line)
{
	struct curl_slist *n = curl_slist_append(list, line);

	if (n == NULL) {
		fatal("curl_slist_append");
	}
	return n;
}

static struct curl_slist *build_headers(const struct config_receiver *r,
					const char *id)
{
	struct curl_slist *list = NULL;
	bool own_type = false;
	char *line;
	size_t i;

	for (i = 0; i < r->n_headers; i++) {
		if (strcasecmp(r->headers[i].name, "Content-Type") == 0) {
			own_type = true;
		}
	}
	if (!own_type) {
		list = add_header(list, "Content-Type: application/json");
	}
	/* Without this curl waits up to 1 s for a 100 Continue on big bodies. */
	list = add_header(list, "Expect:");
	line = xasprintf("webhook-id: %s", id);
	list = add_header(list, line);
	free(line);
	for (i = 0; i < r->n_headers; i++) {
		const struct config_header *h = &r->headers[i];

		if (has_crlf(h->name) || has_crlf(h->value)) {
			log_warn(SUBSYS,
				 "header skipped: receiver=%s name=%s "
				 "reason=line break",
				 r->name, h->name);
			continue;
		}
		/* "Name:" would make curl drop the header; "Name;" sends it empty. */
		if (h->value[0] == '\0') {
			line = xasprintf("%s;", h->name);
		} else {
			line = xasprintf("%s: %s", h->name, h->value);
		}
		list = add_header(list, line);
		free(line);
	}
	return list;
}

static bool store_usable(const struct deliver *d)
{
	return d->ob != NULL && !d->store_closed;
}

/* Outbox writes not settled yet: a drain waits for them. */
static bool io_busy(const struct deliver *d)
{
	return d->ob != NULL && outbox_busy(d->ob);
}

static void arm_drain(struct deliver *d)
{
	struct timeval tv;

	if (d->n_jobs == 0 && !io_busy(d)) {
		timeutil_tv(0, &tv);
	} else {
		timeutil_tv(d->deadline_ms - timeutil_mono_ms(), &tv);
	}
	evtimer_add(d->drain_ev, &tv);
}

/* Ends the job's attempt in flight and its retry timer, if any. */
static void job_stop(struct job *j)
{
	struct deliver *d = j->d;

	if (j->easy != NULL) {
		curl_multi_remove_handle(d->multi, j->easy);
		curl_easy_cleanup(j->easy);
		j->easy = NULL;
	}
	if (j->retry_ev != NULL) {
		event_free(j->retry_ev);
		j->retry_ev = NULL;
	}
}

static void job_free(struct job *j)
{
	struct deliver *d = j->d;

	job_stop(j);
	if (j->prev != NULL) {
		j->prev->next = j->next;
	} else {
		d->jobs = j->next;
	}
	if (j->next != NULL) {
		j->next->prev = j->prev;
	} else {
		d->jobs_tail = j->prev;
	}
	if (!j->parked) {
		d->n_jobs--;
	}
	curl_slist_free_all(j->headers);
	curl_slist_free_all(j->attempt_headers);
	curl_slist_free_all(j->rcpt);
	free(j->last_error);
	free(j->key);
	free(j->url_log);
	free(j->url);
	free(j->body);
	free(j->id);
	free(j);
}

/* ---- the durable outbox (io/outbox.c) ---- */

/* The entry of a notification, borrowing its strings. */
static struct outbox_entry entry_of(const struct deliver *d, const char *id,
				    const char *rule, const char *body,
				    size_t len, int64_t created_ms,
				    unsigned attempts, uint64_t seq)
{
	struct outbox_entry e;

	e.id = (char *)id;
	e.rule = (char *)rule;
	e.owner = (char *)outbox_self(d->ob);
	e.created_ms = created_ms;
	e.seq = seq;
	e.attempts = attempts;
	e.body = (char *)body;
	e.len = len;
	return e;
}

/* Records a notification given up on (the newest kept, capped). body is
 * len bytes. */
static void dead_letter(struct deliver *d, const struct config_receiver *r,
			size_t index, const char *id, const char *rule,
			const char *body, size_t len, int64_t created_ms,
			unsigned attempts, const char *reason)
{
	struct receiver_state *rs = receiver(d, index);
	struct outbox_entry e;

	rs->stats.deadletter++;
	log_warn(SUBSYS,
		 "dead letter: receiver=%s id=%s attempts=%u "
		 "reason=%s",
		 r->name, id, attempts, reason);
	if (!store_usable(d) || has_crlf(id) || strchr(id, ' ') != NULL) {
		return;
	}
	e = entry_of(d, id, rule, body, len, created_ms, attempts, 0);
	outbox_dead(d->ob, index, r->name, &e, timeutil_now_ms(), reason,
		    DELIVER_DEADLETTER_MAX);
}

/* max_age 0 (not configured) is no limit. */
static bool too_old(const struct config_receiver *r, int64_t created_ms,
		    int64_t now_ms)
{
	return r->max_age_ms > 0 && now_ms - created_ms >= r->max_age_ms;
}

/* Whether two ordering keys share a rule: a group's key lists its rules
 * separated by spaces (rule names have none). */
static bool keys_overlap(const char *a, const char *b)
{
	for (const char *p = a; *p != '\0';) {
		size_t n = strcspn(p, " ");

		for (const char *q = b; *q != '\0';) {
			size_t m = strcspn(q, " ");

			if (n == m && memcmp(p, q, n) == 0) {
				return true;
			}
			q += m;
			q += strspn(q, " ");
		}
		p += n;
		p += strspn(p, " ");
	}
	return false;
}

static bool key_in(const char *const *keys, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++) {
		if (keys_overlap(keys[i], key)) {
			return true;
		}
	}
	return false;
}

static void job_park(struct job *j);

static void start_attempt(struct job *j);

/* First attempts run from here, in queue order, so that the rate limit
 * hands out its slots oldest first. */
static void start_cb(evutil_socket_t fd, short what, void *arg)
{
	struct deliver *d = arg;
	struct job *next;

	HARK_UNUSED(fd);
	HARK_UNUSED(what);
	for (struct job *j = d->jobs; j != NULL; j = next) {
		/* start_attempt may free j, and only j. */
		next = j->next;
		if (j->due) {
			j->due = false;
			start_attempt(j);
		}
	}
}

/*
 * Schedules the first attempt of every job of the receiver that may run:
 * its outbox write finished (or failed), and no older job of the same rule
 * is still alive. Attempts start from the loop, never from here.
 */
static void kick(struct deliver *d, size_t index)
{
	const char **blocked = NULL;
	size_t n_blocked = 0;
	size_t cap = 0;

	for (struct job *j = d->jobs; j != NULL; j = j->next) {
		if (j->receiver_index != index) {
			continue;
		}
		if (j->key != NULL && key_in(blocked, n_blocked, j->key)) {
			/* Draining: it waits behind an older one that stays
			 * in the outbox, so it stays too, keeping the order. */
			if (d->draining && j->durable && !j->started &&
			    !j->parked) {
				job_park(j);
			}
			continue;
		}
		if (!j->started && !j->parked && !j->persisting) {
			struct timeval now = {0, 0};

			j->started = true;
			j->due = true;
			evtimer_add(d->start_ev, &now);
		}
		if (j->key != NULL) {
			if (n_blocked == cap) {
				cap = cap != 0 ? cap * 2 : 8;
				blocked = xreallocarray(blocked, cap,
							sizeof(*blocked));
			}
			blocked[n_blocked++] = j->key;
		}
	}
	free(blocked);
}

/* Leaves the job in the outbox for the next run and stops working on it. */
static void job_park(struct job *j)
{
	struct deliver *d = j->d;

	job_stop(j);
	j->parked = true;
	j->due = false;
	d->n_jobs--;
	receiver(d, j->receiver_index)->stats.inflight--;
}

/* The one place a delivery ends, whatever the outcome: sent, or failed
 * (then dead-lettered with reason). */
static void job_end(struct job *j, bool sent, const char *reason)
{
	struct deliver *d = j->d;
	size_t index = j->receiver_index;
	struct receiver_state *rs = receiver(d, index);
	bool durable = j->durable;

	if (sent) {
		rs->stats.sent++;
	} else {
		rs->stats.failed++;
		dead_letter(d, j->r, index, j->id, j->key, j->body, j->len,
			    j->created_ms, j->attempts_before + j->attempt,
			    reason);
	}
	rs->stats.inflight--;
	if (durable) {
		rs->n_pending--;
		rs->pending_bytes -= j->len;
	}
	if (durable && store_usable(d)) {
		outbox_remove(d->ob, index, j->r->name, j->id);
	}
	job_free(j);
	kick(d, index);
	/* done runs from its own event: it may free d, and we may be deep
	 * inside curl callbacks here. */
	if (d->draining) {
		arm_drain(d);
	}
}

static enum verdict classify_smtp(CURLcode rc, long code)
{
	if (rc == CURLE_OK) {
		return VERDICT_SENT;
	}
	/* 5xx from the server (bad recipient, refused sender, failed AUTH)
	 * will not change on a retry; 4xx and network errors may. */
	if (rc == CURLE_LOGIN_DENIED || rc == CURLE_UNSUPPORTED_PROTOCOL ||
	    rc == CURLE_URL_MALFORMAT || rc == CURLE_USE_SSL_FAILED ||
	    (code >= 500 && code < 600)) {
		return VERDICT_PERMANENT;
	}
	return VERDICT_RETRY;
}

static enum verdict classify(CURLcode rc, long status)
{
	if (rc != CURLE_OK) {
		switch (rc) {
		case CURLE_UNSUPPORTED_PROTOCOL:
		case CURLE_URL_MALFORMAT:
		case CURLE_NOT_BUILT_IN:
		case CURLE_BAD_FUNCTION_ARGUMENT:
			return VERDICT_PERMANENT;
		default:
			return VERDICT_RETRY;
		}
	}
	if (status >= 200 && status < 300) {
		return VERDICT_SENT;
	}
	if (status == 0 || status == 408 || status == 429 || status >= 500) {
		return VERDICT_RETRY;
	}
	if (status == 410) {
		return VERDICT_GONE;
	}
	return VERDICT_PERMANENT;
}

static void start_attempt(struct job *j);

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	start_attempt(arg);
}

static void schedule_retry(struct job *j, int64_t retry_after_ms)
{
	struct deliver *d = j->d;
	int64_t delay_ms;
	struct timeval tv;

	delay_ms = backoff_delay_ms(j->attempt, RETRY_BASE_MS, RETRY_MAX_MS,
				    next_rand(d));
	if (retry_after_ms > delay_ms) {
		delay_ms = retry_after_ms;
	}
	/* Draining: the deadline, not the backoff plan, bounds what is left. */
	if (d->draining) {
		delay_ms = 0;
	}
	/* The last attempt of an outbox entry is at its max_age. */
	if (j->durable && j->r->max_age_ms > 0) {
		int64_t left =
			j->created_ms + j->r->max_age_ms - timeutil_now_ms();

		if (delay_ms > left) {
			delay_ms = left > 0 ? left : 0;
		}
	}
	if (j->retry_ev == NULL) {
		j->retry_ev = evtimer_new(d->base, retry_cb, j);
		if (j->retry_ev == NULL) {
			fatal("evtimer_new");
		}
	}
	timeutil_tv(delay_ms, &tv);
	evtimer_add(j->retry_ev, &tv);
	log_debug(SUBSYS,
		  "retry scheduled: receiver=%s id=%s attempt=%u "
		  "delay_ms=%lld",
		  j->r->name, j->id, j->attempt + 1, (long long)delay_ms);
}

static void attempt_failed(struct job *j, enum verdict v, const char *reason,
			   int64_t retry_after_ms)
{
	struct deliver *d = j->d;
	struct receiver_state *rs = receiver(d, j->receiver_index);
	int64_t retries = j->r->retries > 0 ? j->r->retries : 0;
	char why[CURL_ERROR_SIZE + 160];
	char age[32];

	free(j->last_error);
	j->last_error = xstrdup(reason);
	if (v == VERDICT_GONE) {
		rs->disabled = true;
		log_error(
			SUBSYS,
			"receiver disabled: receiver=%s url=%s "
			"error=%s (410 Gone: it asked not to be called again; "
			"fix the config and reload)",
			j->r->name, j->url_log, reason);
		snprintf(why, sizeof(why), "%s: receiver disabled", reason);
		job_end(j, false, why);
		return;
	}
	/* A 4xx rejects this body; it says nothing about the receiver being
	 * down, so it leaves the failing state alone. */
	if (v == VERDICT_PERMANENT) {
		log_warn(SUBSYS,
			 "delivery rejected, not retried: receiver=%s "
			 "url=%s id=%s error=%s",
			 j->r->name, j->url_log, j->id, reason);
		job_end(j, false, reason);
		return;
	}
	if (!rs->failing) {
		log_warn(SUBSYS,
			 "receiver failing: receiver=%s url=%s error=%s",
			 j->r->name, j->url_log, reason);
		rs->failing = true;
	}
	if (j->durable) {
		size_t index = j->receiver_index;

		if (d->draining) {
			log_info(SUBSYS,
				 "delivery kept in the outbox for the "
				 "next start: receiver=%s id=%s error=%s",
				 j->r->name, j->id, reason);
			job_park(j);
			kick(d, index);
			arm_drain(d);
			return;
		}
		if (too_old(j->r, j->created_ms, timeutil_now_ms())) {
			timeutil_format_duration(j->r->max_age_ms, age);
			snprintf(why, sizeof(why),
				 "expired: not delivered "
				 "within max_age %s; last error: %s",
				 age, reason);
			job_end(j, false, why);
			return;
		}
		log_debug(SUBSYS,
			  "attempt failed: receiver=%s id=%s "
			  "attempt=%u error=%s",
			  j->r->name, j->id, j->attempt, reason);
		schedule_retry(j, retry_after_ms);
		return;
	}
	if ((int64_t)j->attempt > retries) {
		log_warn(SUBSYS,
			 "delivery failed: receiver=%s id=%s "
			 "attempts=%u error=%s",
			 j->r->name, j->id, j->attempt, reason);
		snprintf(why, sizeof(why), "gave up after %u attempts: %s",
			 j->attempt, reason);
		job_end(j, false, why);
		return;
	}
	log_debug(SUBSYS,
		  "attempt failed: receiver=%s id=%s attempt=%u "
		  "error=%s",
		  j->r->name, j->id, j->attempt, reason);
	schedule_retry(j, retry_after_ms);
}

static void attempt_done(struct job *j, CURLcode rc)
{
	struct receiver_state *rs;
	long status = 0;
	curl_off_t retry_after_s = -1;
	int64_t retry_after_ms = 0;
	char reason[CURL_ERROR_SIZE + 32];
	enum verdict v;

	curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
	if (curl_easy_getinfo(j->easy, CURLINFO_RETRY_AFTER, &retry_after_s) ==
		    CURLE_OK &&
	    retry_after_s > 0) {
		if (retry_after_s > RETRY_AFTER_MAX_S) {
			retry_after_s = RETRY_AFTER_MAX_S;
		}
		retry_after_ms = (int64_t)retry_after_s * 1000;
	}
	/* Never touch the handle after this: curl's message refers to it. */
	curl_multi_remove_handle(j->d->multi, j->easy);
	curl_easy_cleanup(j->easy);
	j->easy = NULL;
	if (j->taken) {
		/* Another member sends it now (a delivery here too is a
		 * duplicate with the same id, which receivers drop). */
		job_drop(j);
		return;
	}

	v = j->r->type == CONFIG_RECEIVER_EMAIL ? classify_smtp(rc, status)
						: classify(rc, status);
	if (v == VERDICT_SENT) {
		rs = receiver(j->d, j->receiver_index);
		if (rs->failing) {
			log_info(SUBSYS, "receiver healthy again: receiver=%s",
				 j->r->name);
			rs->failing = false;
		}
		log_debug(SUBSYS,
			  "delivered: receiver=%s id=%s attempt=%u "
			  "status=%ld",
			  j->r->name, j->id, j->attempt, status);
		job_end(j, true, NULL);
		return;
	}
	if (rc != CURLE_OK && status > 0) {
		snprintf(reason, sizeof(reason), "%s (%ld)",
			 j->errbuf[0] != '\0' ? j->errbuf
					      : curl_easy_strerror(rc),
			 status);
	} else if (rc != CURLE_OK) {
		snprintf(reason, sizeof(reason), "%s",
			 j->errbuf[0] != '\0' ? j->errbuf
					      : curl_easy_strerror(rc));
	} else {
		snprintf(reason, sizeof(reason), "HTTP %ld", status);
	}
	attempt_failed(j, v, reason, retry_after_ms);
}

/* Reads a small file whole (secrets, passwords, templates); caller frees.
 * NULL with errno set on failure. */
static char *read_small_file(const char *path, size_t max)
{
	FILE *f = fopen(path, "rb");
	char *text;
	size_t n;

	if (f == NULL) {
		return NULL;
	}
	text = xmalloc(max + 1);
	n = fread(text, 1, max + 1, f);
	if (ferror(f) || n > max) {
		int e = ferror(f) ? EIO : EFBIG;

		fclose(f);
		free(text);
		errno = e;
		return NULL;
	}
	fclose(f);
	text[n] = '\0';
	return text;
}

/* The receiver's signing keys, parsed once: 0 unsigned, >0 keys, -1 a bad
 * secret (the receiver sends nothing rather than something unsigned). */
static int load_keys(struct deliver *d, const struct config_receiver *r,
		     size_t index)
{
	struct receiver_state *rs = receiver(d, index);
	const char *err = "";
	char *text = NULL;
	int n;

	if (rs->keys_loaded) {
		return rs->n_keys;
	}
	rs->keys_loaded = true;
	rs->n_keys = 0;
	if (r->secret == NULL && r->secret_file == NULL) {
		return 0;
	}
	if (r->secret_file != NULL) {
		text = read_small_file(r->secret_file, 64 * 1024);
		if (text == NULL) {
			log_error(SUBSYS,
				  "receiver not signing, not sending: "
				  "receiver=%s secret_file=%s error=%s",
				  r->name, r->secret_file, strerror(errno));
			rs->n_keys = -1;
			return -1;
		}
	}
	rs->keys = xcalloc(SIGN_MAX_SECRETS, sizeof(*rs->keys));
	n = sign_keys_parse(text != NULL ? text : r->secret, rs->keys,
			    SIGN_MAX_SECRETS, &err);
	free(text);
	if (n < 0) {
		log_error(SUBSYS,
			  "receiver not signing, not sending: "
			  "receiver=%s error=%s",
			  r->name, err);
		rs->n_keys = -1;
		return -1;
	}
	rs->n_keys = n;
	return n;
}

/* The static headers plus webhook-timestamp and webhook-signature for
 * this attempt (the timestamp is the attempt's, as Standard Webhooks
 * receivers reject old ones); NULL when the receiver does not sign. */
static struct curl_slist *sign_headers(struct job *j)
{
	struct receiver_state *rs = receiver(j->d, j->receiver_index);
	struct curl_slist *list = NULL;
	int64_t ts = timeutil_now_ms() / 1000;
	char *sig, *line;

	if (rs->n_keys <= 0) {
		return NULL;
	}
	for (struct curl_slist *h = j->headers; h != NULL; h = h->next) {
		list = add_header(list, h->data);
	}
	line = xasprintf("webhook-timestamp: %lld", (long long)ts);
	list = add_header(list, line);
	free(line);
	sig = sign_header(rs->keys, (size_t)rs->n_keys, j->id, ts, j->body,
			  j->len);
	line = xasprintf("webhook-signature: %s", sig);
	list = add_header(list, line);
	free(line);
	free(sig);
	return list;
}

/*
 * Per-receiver rate limit: each attempt takes the next free slot, so
 * queued notifications keep their order and are spaced rate_limit_ms
 * apart. Returns true when the attempt was deferred to its slot.
 */
static bool rate_limited(struct job *j)
{
	struct receiver_state *rs = receiver(j->d, j->receiver_index);
	int64_t now = timeutil_mono_ms();
	int64_t wait_ms;
	struct timeval tv;

	if (j->r->rate_limit_ms <= 0 || j->slot_reserved) {
		j->slot_reserved = false;
		return false;
	}
	if (rs->next_slot_ms < now) {
		rs->next_slot_ms = now;
	}
	wait_ms = rs->next_slot_ms - now;
	rs->next_slot_ms += j->r->rate_limit_ms;
	if (wait_ms == 0 || j->d->draining) {
		return false;
	}
	if (j->retry_ev == NULL) {
		j->retry_ev = evtimer_new(j->d->base, retry_cb, j);
		if (j->retry_ev == NULL) {
			fatal("evtimer_new");
		}
	}
	j->slot_reserved = true;
	timeutil_tv(wait_ms, &tv);
	evtimer_add(j->retry_ev, &tv);
	return true;
}

static size_t smtp_read_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct job *j = arg;
	size_t left = j->len - j->read_off;
	size_t take = size * n < left ? size * n : left;

	memcpy(buf, j->body + j->read_off, take);
	j->read_off += take;
	return take;
}

static void setup_smtp(struct job *j, CURL *e)
{
	const struct config_receiver *r = j->r;
	char spec[320];
	char *pw = NULL;

	j->read_off = 0;
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	if (mime_addr_spec(r->from, spec, sizeof(spec)) == 0) {
		curl_easy_setopt(e, CURLOPT_MAIL_FROM, spec);
	}
	curl_easy_setopt(e, CURLOPT_MAIL_RCPT, j->rcpt);
	curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(e, CURLOPT_READFUNCTION, smtp_read_cb);
	curl_easy_setopt(e, CURLOPT_READDATA, j);
	curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)j->len);
	switch (r->starttls) {
	case CONFIG_STARTTLS_REQUIRED:
		curl_easy_setopt(e, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
		break;
	case CONFIG_STARTTLS_OPTIONAL:
		curl_easy_setopt(e, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
		break;
	case CONFIG_STARTTLS_NEVER:
		curl_easy_setopt(e, CURLOPT_USE_SSL, (long)CURLUSESSL_NONE);
		break;
	}
	if (r->username != NULL) {
		curl_easy_setopt(e, CURLOPT_USERNAME, r->username);
		if (r->password_file != NULL) {
			pw = read_small_file(r->password_file, 4096);
			if (pw == NULL) {
				log_warn(SUBSYS,
					 "cannot read password_file: "
					 "receiver=%s error=%s",
					 r->name, strerror(errno));
			}
		} else if (getenv("HARK_SMTP_PASSWORD") != NULL) {
			pw = xstrdup(getenv("HARK_SMTP_PASSWORD"));
		}
		if (pw != NULL) {
			pw[strcspn(pw, "\r\n")] = '\0';
			/* curl copies the string. */
			curl_easy_setopt(e, CURLOPT_PASSWORD, pw);
			free(pw);
		}
	}
}

static void start_attempt(struct job *j)
{
	struct deliver *d = j->d;
	int64_t timeout_ms;
	int64_t connect_ms;
	CURLMcode mc;
	CURL *e;

	/* Queued before a 410 disabled the receiver. */
	if (receiver(d, j->receiver_index)->disabled) {
		job_end(j, false, "receiver disabled after 410 Gone");
		return;
	}
	if (rate_limited(j)) {
		return;
	}
	timeout_ms =
		j->r->timeout_ms > 0 ? j->r->timeout_ms : DEFAULT_TIMEOUT_MS;
	connect_ms = timeout_ms < CONNECT_TIMEOUT_MAX_MS
			     ? timeout_ms
			     : CONNECT_TIMEOUT_MAX_MS;
	e = curl_easy_init();
	if (e == NULL) {
		fatal("curl_easy_init");
	}
	j->errbuf[0] = '\0';
	curl_easy_setopt(e, CURLOPT_PRIVATE, j);
	curl_easy_setopt(e, CURLOPT_URL, j->url);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)connect_ms);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->errbuf);
	if (j->r->type == CONFIG_RECEIVER_EMAIL) {
		setup_smtp(j, e);
	} else {
		curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(e, CURLOPT_USERAGENT, "hark/" HARK_VERSION);
		curl_slist_free_all(j->attempt_headers);
		j->attempt_headers = sign_headers(j);
		curl_easy_setopt(e, CURLOPT_HTTPHEADER,
				 j->attempt_headers != NULL ? j->attempt_headers
							    : j->headers);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)j->len);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body);
	}

	j->attempt++;
	if (j->attempt > 1) {
		receiver(d, j->receiver_index)->stats.retries++;
	}
	mc = curl_multi_add_handle(d->multi, e);
	if (mc != CURLM_OK) {
		curl_easy_cleanup(e);
		attempt_failed(j, VERDICT_RETRY, curl_multi_strerror(mc), 0);
		return;
	}
	j->easy = e;
}

/* A finished attempt, from curlev (priv is the job). */
static void transfer_done_cb(void *owner, void *priv, CURL *easy, CURLcode rc)
{
	struct job *j = priv;

	HARK_UNUSED(owner);
	HARK_ASSERT(j->easy == easy);
	attempt_done(j, rc);
}

static void abandon_all(struct deliver *d)
{
	size_t n = d->n_jobs;
	size_t kept = 0;
	struct job *next;

	for (struct job *j = d->jobs; j != NULL; j = next) {
		next = j->next;
		if (j->parked) {
			continue;
		}
		if (j->durable) {
			job_park(j);
			kept++;
		} else {
			job_end(j, false, "abandoned at the drain deadline");
		}
	}
	log_warn(SUBSYS,
		 "drain deadline passed: abandoned=%zu "
		 "kept_in_outbox=%zu",
		 n, kept);
}

static void drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct deliver *d = arg;
	void (*done)(void *arg);
	void *done_arg;

	if (!d->draining) {
		return;
	}
	if (d->n_jobs > 0 || io_busy(d)) {
		if (timeutil_mono_ms() < d->deadline_ms) {
			arm_drain(d);
			return;
		}
		abandon_all(d);
	}
	/* The store is closed next: what is not written now stays as the
	 * last write left it. */
	if (d->ob != NULL) {
		d->store_closed = true;
		outbox_close(d->ob);
	}
	done = d->done;
	done_arg = d->done_arg;
	d->draining = false;
	d->done = NULL;
	d->done_arg = NULL;
	if (done != NULL) {
		/* Last: done may free d. */
		done(done_arg);
	}
}

static void held_fini(struct held *h)
{
	for (size_t i = 0; i < h->a.n_samples; i++) {
		mention_fini(&h->samples[i]);
	}
	free(h->samples);
	for (size_t i = 0; i < h->a.n_labels; i++) {
		free((char *)h->labels[i].name);
		free((char *)h->labels[i].value);
	}
	free(h->labels);
	for (size_t k = 0; k < 3; k++) {
		size_t n = k == 0   ? h->a.n_top_terms
			   : k == 1 ? h->a.n_top_authors
				    : h->a.n_top_langs;

		for (size_t i = 0; i < n; i++) {
			free((char *)h->tops[k][i].name);
		}
		free(h->tops[k]);
	}
	for (size_t i = 0; i < h->a.n_emerging; i++) {
		free((char *)h->emerging[i].term);
	}
	free(h->emerging);
	free(h->rule);
	free(h->external_url);
}

static void held_free_all(struct receiver_state *rs)
{
	for (size_t i = 0; i < rs->n_grp; i++) {
		held_fini(&rs->grp[i]);
	}
	free(rs->grp);
	rs->grp = NULL;
	rs->n_grp = 0;
}

static struct render_top *tops_copy(const struct render_top *t, size_t n)
{
	struct render_top *c = xcalloc(n + 1, sizeof(*c));

	for (size_t i = 0; i < n; i++) {
		c[i].name = xstrdup(or_empty_(t[i].name));
		c[i].count = t[i].count;
	}
	return c;
}

static void held_copy(struct held *h, const struct alert *src)
{
	memset(h, 0, sizeof(*h));
	h->a = *src;
	h->rule = xstrdup(or_empty_(src->rule));
	h->a.rule = h->rule;
	h->a.status = "firing";
	h->a.receiver = NULL;
	if (src->external_url != NULL) {
		h->external_url = xstrdup(src->external_url);
	}
	h->a.external_url = h->external_url;
	h->samples = xcalloc(src->n_samples + 1, sizeof(*h->samples));
	for (size_t i = 0; i < src->n_samples; i++) {
		mention_copy(&h->samples[i], &src->samples[i], SIZE_MAX);
	}
	h->a.samples = h->samples;
	h->labels = xcalloc(src->n_labels + 1, sizeof(*h->labels));
	for (size_t i = 0; i < src->n_labels; i++) {
		h->labels[i].name = xstrdup(or_empty_(src->labels[i].name));
		h->labels[i].value = xstrdup(or_empty_(src->labels[i].value));
	}
	h->a.labels = h->labels;
	h->tops[0] = tops_copy(src->top_terms, src->n_top_terms);
	h->tops[1] = tops_copy(src->top_authors, src->n_top_authors);
	h->tops[2] = tops_copy(src->top_langs, src->n_top_langs);
	h->a.top_terms = h->tops[0];
	h->a.top_authors = h->tops[1];
	h->a.top_langs = h->tops[2];
	h->emerging = xcalloc(src->n_emerging + 1, sizeof(*h->emerging));
	for (size_t i = 0; i < src->n_emerging; i++) {
		h->emerging[i] = src->emerging[i];
		h->emerging[i].term = xstrdup(or_empty_(src->emerging[i].term));
	}
	h->a.emerging = h->emerging;
}

static void am_forget(struct deliver *d, struct am_firing *f)
{
	struct am_firing **pp;

	for (pp = &d->firing; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	}
	if (f->ev != NULL) {
		event_free(f->ev);
	}
	free(f->rule);
	free(f->id);
	free(f->body);
	free(f);
}

struct deliver *deliver_new(struct event_base *base, struct store *store,
			    const char *prefix)
{
	struct deliver *d;

	d = xcalloc(1, sizeof(*d));
	d->base = base;
	d->curl = curlev_new(base, transfer_done_cb, d);
	if (d->curl == NULL) {
		fatal("curl");
	}
	d->multi = curlev_multi(d->curl);
	d->drain_ev = evtimer_new(base, drain_cb, d);
	d->start_ev = evtimer_new(base, start_cb, d);
	if (d->drain_ev == NULL || d->start_ev == NULL) {
		fatal("evtimer_new");
	}
	d->rng = ((uint64_t)timeutil_now_ms() << 20) ^ (uint64_t)getpid() ^
		 (uint64_t)(uintptr_t)d;
	if (d->rng == 0) {
		d->rng = 0x9E3779B97F4A7C15ULL;
	}
	if (store != NULL) {
		struct outbox_hooks hooks = {
			.arg = d,
			.written = written_hook,
			.adopted = adopted_hook,
			.scanned = scanned_hook,
			.taken = taken_hook,
			.settled = settled_hook,
		};
		char host[64];
		char *self;

		if (gethostname(host, sizeof(host)) != 0) {
			snprintf(host, sizeof(host), "host");
		}
		host[sizeof(host) - 1] = '\0';
		/* Until deliver_set_members names it: host/pid/start. */
		self = xasprintf("%s/%ld/%lld", host, (long)getpid(),
				 (long long)timeutil_now_ms());
		d->ob = outbox_new(base, store,
				   prefix != NULL ? prefix : "hark:", self,
				   &hooks);
		free(self);
	}
	return d;
}

void deliver_set_members(struct deliver *d, const char *self,
			 outbox_owner_fn *fn, void *arg)
{
	if (d->ob != NULL) {
		outbox_set_members(d->ob, self, fn, arg);
	}
}

void deliver_free(struct deliver *d)
{
	if (d == NULL) {
		return;
	}
	while (d->jobs != NULL) {
		job_free(d->jobs);
	}
	outbox_free(d->ob);
	curlev_free(d->curl);
	d->curl = NULL;
	d->multi = NULL;
	while (d->firing != NULL) {
		am_forget(d, d->firing);
	}
	event_free(d->drain_ev);
	event_free(d->start_ev);
	for (size_t i = 0; i < d->n_rs; i++) {
		free(d->rs[i].keys);
		free(d->rs[i].tmpl);
		/* deliver_drain sent them; without a drain they are lost,
		 * as an alert notified just before the end would be. */
		held_free_all(&d->rs[i]);
		if (d->rs[i].grp_timer != NULL) {
			event_free(d->rs[i].grp_timer->ev);
			free(d->rs[i].grp_timer);
		}
	}
	free(d->rs);
	free(d);
}

static void print_log(struct deliver *d, const struct config_receiver *r,
		      size_t receiver_index, const char *body, size_t len,
		      const char *text)
{
	struct receiver_state *rs = receiver(d, receiver_index);

	if (text != NULL) {
		fputs(text, stdout);
	} else {
		fwrite(body, 1, len, stdout);
	}
	fputc('\n', stdout);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		clearerr(stdout);
		rs->stats.failed++;
		if (!rs->failing) {
			log_warn(SUBSYS,
				 "receiver failing: receiver=%s "
				 "error=cannot write stdout",
				 r->name);
			rs->failing = true;
		}
		return;
	}
	rs->failing = false;
	rs->stats.sent++;
}

/* Why a notification cannot be sent to r at all, or NULL. */
static const char *refuse_reason(struct deliver *d,
				 const struct config_receiver *r, size_t index,
				 const char *id)
{
	if (r->url == NULL) {
		return "no url";
	}
	if (has_crlf(id)) {
		return "line break in id";
	}
	if (strchr(id, ' ') != NULL || id[0] == '\0') {
		return "blank or empty id"; /* not a field of the outbox */
	}
	if (receiver(d, index)->disabled) {
		return "receiver disabled after 410 Gone";
	}
	if (r->type == CONFIG_RECEIVER_WEBHOOK && load_keys(d, r, index) < 0) {
		return "bad secret";
	}
	return NULL;
}

/* A job, not linked yet; body is len bytes (copied). */
static struct job *job_new(struct deliver *d, const struct config_receiver *r,
			   size_t index, const char *id, const char *key,
			   const char *body, size_t len)
{
	struct job *j = xcalloc(1, sizeof(*j));

	j->d = d;
	j->r = r;
	j->receiver_index = index;
	j->id = xstrdup(id);
	j->key = key != NULL ? xstrdup(key) : NULL;
	j->body = xmalloc(len + 1);
	memcpy(j->body, body, len);
	j->body[len] = '\0';
	j->len = len;
	j->created_ms = timeutil_now_ms();
	j->seq = ++d->seq;
	j->url_log = url_for_log(r->url);
	if (r->type == CONFIG_RECEIVER_ALERTMANAGER) {
		size_t n = strlen(r->url);

		while (n > 0 && r->url[n - 1] == '/') {
			n--;
		}
		j->url = xasprintf("%.*s/api/v2/alerts", (int)n, r->url);
	} else {
		j->url = xstrdup(r->url);
	}
	if (r->type == CONFIG_RECEIVER_EMAIL) {
		char spec[320];

		for (size_t i = 0; i < r->n_to; i++) {
			if (mime_addr_spec(r->to[i], spec, sizeof(spec)) == 0) {
				j->rcpt = add_header(j->rcpt, spec);
			}
		}
	} else {
		j->headers = build_headers(r, id);
	}
	return j;
}

static bool is_pending(const struct deliver *d, size_t index, const char *id)
{
	for (const struct job *j = d->jobs; j != NULL; j = j->next) {
		if (j->receiver_index == index && strcmp(j->id, id) == 0) {
			return true;
		}
	}
	return false;
}

/* Links j before at (NULL: last) and counts it in flight. */
static void job_link(struct deliver *d, struct job *j, struct job *at)
{
	j->next = at;
	j->prev = at != NULL ? at->prev : d->jobs_tail;
	if (j->prev != NULL) {
		j->prev->next = j;
	} else {
		d->jobs = j;
	}
	if (at != NULL) {
		at->prev = j;
	} else {
		d->jobs_tail = j;
	}
	d->n_jobs++;
	receiver(d, j->receiver_index)->stats.inflight++;
}

static void enqueue(struct deliver *d, const struct config_receiver *r,
		    size_t index, const char *id, const char *key,
		    const char *body, size_t len, const char *text)
{
	struct receiver_state *rs = receiver(d, index);
	const char *refused;
	bool durable;
	struct job *j;

	if (r->type == CONFIG_RECEIVER_LOG) {
		print_log(d, r, index, body, len, text);
		return;
	}
	rs->r = r;
	refused = refuse_reason(d, r, index, id);
	if (refused != NULL) {
		log_warn(SUBSYS,
			 "delivery rejected, not retried: receiver=%s "
			 "id=%s error=%s",
			 r->name, id, refused);
		rs->stats.failed++;
		dead_letter(d, r, index, id, key, body, len, timeutil_now_ms(),
			    0, refused);
		return;
	}
	durable = store_usable(d);
	if (durable && is_pending(d, index, id)) {
		/* Resumed from the outbox and notified again (a restart that
		 * re-judged a window): the receiver gets it once. */
		log_info(SUBSYS,
			 "already pending, not queued twice: "
			 "receiver=%s id=%s",
			 r->name, id);
		return;
	}
	if (durable && (rs->n_pending >= DELIVER_OUTBOX_MAX ||
			rs->pending_bytes + len > DELIVER_OUTBOX_MAX_BYTES)) {
		log_error(SUBSYS,
			  "outbox full: receiver=%s id=%s pending=%llu "
			  "bytes=%llu (the receiver has been failing for a "
			  "while; this notification goes to the dead-letter "
			  "list)",
			  r->name, id, (unsigned long long)rs->n_pending,
			  (unsigned long long)rs->pending_bytes);
		rs->stats.outbox_full++;
		rs->stats.failed++;
		dead_letter(d, r, index, id, key, body, len, timeutil_now_ms(),
			    0, "outbox full");
		return;
	}
	j = job_new(d, r, index, id, key, body, len);
	job_link(d, j, NULL);
	if (durable) {
		struct outbox_entry e = entry_of(d, id, key, body, len,
						 j->created_ms, 0, j->seq);

		/* Written first, ahead of anything the caller stores next
		 * (the detector state that says it was notified; one
		 * connection keeps the order): its attempt waits for it. */
		j->durable = true;
		j->persisting = true;
		rs->n_pending++;
		rs->pending_bytes += len;
		outbox_put(d->ob, index, r->name, &e);
	}
	kick(d, index);
}

void deliver_send(struct deliver *d, const struct config_receiver *r,
		  size_t receiver_index, const char *id, const char *body,
		  size_t len, const char *text)
{
	enqueue(d, r, receiver_index, id, NULL, body, len, text);
}

/* ---- what the outbox tells ---- */

static struct job *find_job(struct deliver *d, size_t index, const char *id)
{
	for (struct job *j = d->jobs; j != NULL; j = j->next) {
		if (j->receiver_index == index && strcmp(j->id, id) == 0) {
			return j;
		}
	}
	return NULL;
}

static void written_hook(void *arg, size_t index, const char *id)
{
	struct deliver *d = arg;
	struct job *j = find_job(d, index, id);

	if (j != NULL && j->persisting) {
		j->persisting = false;
		kick(d, index);
	}
}

/* Queues an entry taken over (from an earlier run, or a member gone), in
 * its place by age; the expired ones dead-lettered. */
static void adopted_hook(void *arg, size_t index, struct outbox_entry *e)
{
	struct deliver *d = arg;
	struct receiver_state *rs = receiver(d, index);
	const struct config_receiver *r = rs->r;
	const char *refused;
	struct job *j, *at;
	char why[160];
	char age[32];

	if (r == NULL || !store_usable(d) || d->draining) {
		/* Its owner is this process in the store now: the next
		 * start, or another member, takes it over. */
		outbox_entry_fini(e);
		return;
	}
	if (is_pending(d, index, e->id)) {
		/* Already queued by this run (a restart that re-judged a
		 * window): the receiver gets it once. */
		rs->dropped++;
		outbox_entry_fini(e);
		return;
	}
	refused = refuse_reason(d, r, index, e->id);
	if (refused == NULL && too_old(r, e->created_ms, timeutil_now_ms())) {
		timeutil_format_duration(r->max_age_ms, age);
		snprintf(why, sizeof(why),
			 "expired: older than max_age %s when taken over", age);
		refused = why;
	}
	if (refused != NULL) {
		rs->stats.failed++;
		rs->dropped++;
		dead_letter(d, r, index, e->id, e->rule, e->body, e->len,
			    e->created_ms, e->attempts, refused);
		outbox_remove(d->ob, index, r->name, e->id);
		outbox_entry_fini(e);
		return;
	}
	j = job_new(d, r, index, e->id, e->rule, e->body, e->len);
	j->created_ms = e->created_ms;
	j->seq = e->seq;
	j->attempts_before = e->attempts;
	j->durable = true;
	rs->n_pending++;
	rs->pending_bytes += j->len;
	rs->resumed++;
	/* Ahead of the receiver's younger jobs not started yet. */
	for (at = d->jobs; at != NULL; at = at->next) {
		if (at->receiver_index == index && !at->started &&
		    !at->parked &&
		    (at->created_ms > j->created_ms ||
		     (at->created_ms == j->created_ms && at->seq > j->seq))) {
			break;
		}
	}
	job_link(d, j, at);
	outbox_entry_fini(e);
	kick(d, index);
}

static void scanned_hook(void *arg, size_t index, size_t adopted)
{
	struct deliver *d = arg;
	struct receiver_state *rs = receiver(d, index);

	HARK_UNUSED(adopted);
	if (rs->resumed > 0 || rs->dropped > 0) {
		log_info(SUBSYS,
			 "outbox resumed: receiver=%s pending=%zu "
			 "dropped=%zu",
			 rs->r != NULL ? rs->r->name : "?", rs->resumed,
			 rs->dropped);
	}
	rs->resumed = 0;
	rs->dropped = 0;
}

/* Ends a job another member sends now: neither sent nor failed here. */
static void job_drop(struct job *j)
{
	struct deliver *d = j->d;
	size_t index = j->receiver_index;
	struct receiver_state *rs = receiver(d, index);

	if (!j->parked) {
		rs->stats.inflight--;
	}
	rs->n_pending--;
	rs->pending_bytes -= j->len;
	job_free(j);
	kick(d, index);
	if (d->draining) {
		arm_drain(d);
	}
}

static void taken_hook(void *arg, size_t index, const char *id,
		       const char *owner)
{
	struct deliver *d = arg;
	struct job *j = find_job(d, index, id);

	/* A job whose write is still out was written after the read: the
	 * read does not tell about it. */
	if (j == NULL || !j->durable || j->persisting || j->taken) {
		return;
	}
	log_warn(SUBSYS,
		 "outbox entry taken over by another member, not sent "
		 "from here: receiver=%s id=%s owner=%s",
		 j->r->name, id, owner);
	j->taken = true;
	if (j->easy == NULL) {
		job_drop(j);
	}
}

static void settled_hook(void *arg)
{
	struct deliver *d = arg;

	if (d->draining) {
		arm_drain(d);
	}
}

void deliver_resume(struct deliver *d, const struct config_receiver *receivers,
		    size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (receivers[i].type == CONFIG_RECEIVER_LOG) {
			continue;
		}
		receiver(d, i)->r = &receivers[i];
		if (store_usable(d)) {
			outbox_resume(d->ob, i, receivers[i].name);
		}
	}
}

struct deliver_stats deliver_stats(const struct deliver *d,
				   size_t receiver_index)
{
	struct deliver_stats none = {0};
	struct deliver_stats s;

	if (receiver_index >= d->n_rs) {
		return none;
	}
	s = d->rs[receiver_index].stats;
	s.pending = d->rs[receiver_index].n_pending;
	return s;
}

static void group_flush(struct deliver *d, size_t index);

void deliver_drain(struct deliver *d, int64_t deadline_ms,
		   void (*done)(void *arg), void *arg)
{
	struct timeval now = {0, 0};
	struct job *j;

	/* A held group goes out now rather than waiting out group_wait
	 * across a restart: into the outbox like any other notification. */
	for (size_t i = 0; i < d->n_rs; i++) {
		group_flush(d, i);
	}
	d->draining = true;
	d->deadline_ms = deadline_ms;
	d->done = done;
	d->done_arg = arg;
	for (j = d->jobs; j != NULL; j = j->next) {
		if (!j->parked && j->easy == NULL && j->retry_ev != NULL) {
			evtimer_add(j->retry_ev, &now);
		}
	}
	/* Jobs behind a kept one are kept too. */
	for (size_t i = 0; i < d->n_rs; i++) {
		kick(d, i);
	}
	arm_drain(d);
}

/* The stored alerts body with endsAt set to ends_at_ms; caller frees. */
static char *with_ends_at(const char *body, int64_t ends_at_ms, size_t *len)
{
	cJSON *arr = cJSON_Parse(body);
	cJSON *al = cJSON_GetArrayItem(arr, 0);
	char ts[32];
	char *out;

	HARK_ASSERT(al != NULL);
	timeutil_format_rfc3339_ms(ends_at_ms, ts);
	cJSON_ReplaceItemInObject(al, "endsAt", cJSON_CreateString(ts));
	out = cJSON_PrintUnformatted(arr);
	HARK_ASSERT(out != NULL);
	cJSON_Delete(arr);
	*len = strlen(out);
	return out;
}

/* endsAt of a firing alert: three re-sends ahead, so that one lost
 * re-send does not resolve it in Alertmanager. */
static int64_t am_ends_at(const struct config_receiver *r, int64_t now_ms)
{
	return now_ms + 3 * (r->resend_ms > 0 ? r->resend_ms : 60000);
}

static void am_resend_cb(evutil_socket_t fd, short what, void *arg)
{
	struct am_firing *f = arg;
	struct timeval tv;

	timeutil_tv(f->r->resend_ms, &tv);
	size_t len;
	char *body = with_ends_at(f->body, am_ends_at(f->r, timeutil_now_ms()),
				  &len);

	enqueue(f->d, f->r, f->receiver_index, f->id, f->rule, body, len, NULL);
	free(body);
	evtimer_add(f->ev, &tv);
}

static struct am_firing *am_find(struct deliver *d, size_t receiver_index,
				 const char *rule)
{
	for (struct am_firing *f = d->firing; f != NULL; f = f->next) {
		if (f->receiver_index == receiver_index &&
		    strcmp(f->rule, rule) == 0) {
			return f;
		}
	}
	return NULL;
}

static void alert_to_am(struct deliver *d, const struct config_receiver *r,
			size_t receiver_index, const struct alert *a)
{
	bool resolved = a->status != NULL && strcmp(a->status, "resolved") == 0;
	struct am_firing *f = am_find(d, receiver_index, or_empty_(a->rule));
	int64_t now = timeutil_now_ms();
	struct timeval tv;
	size_t len;
	char *body;

	if (resolved) {
		if (f != NULL) {
			am_forget(d, f);
		}
		/* Alertmanager resolves an alert whose endsAt has passed. */
		body = render_am_alerts(a, now, &len);
		enqueue(d, r, receiver_index, a->id, a->rule, body, len, NULL);
		free(body);
		return;
	}
	body = render_am_alerts(a, am_ends_at(r, now), &len);
	enqueue(d, r, receiver_index, a->id, a->rule, body, len, NULL);
	if (f == NULL) {
		f = xcalloc(1, sizeof(*f));
		f->d = d;
		f->r = r;
		f->receiver_index = receiver_index;
		f->rule = xstrdup(or_empty_(a->rule));
		f->ev = evtimer_new(d->base, am_resend_cb, f);
		if (f->ev == NULL) {
			fatal("evtimer_new");
		}
		f->next = d->firing;
		d->firing = f;
	}
	free(f->id);
	free(f->body);
	f->id = xstrdup(a->id);
	f->body = body;
	timeutil_tv(r->resend_ms > 0 ? r->resend_ms : 60000, &tv);
	evtimer_add(f->ev, &tv);
}

static const char *template_text(struct deliver *d,
				 const struct config_receiver *r,
				 size_t receiver_index)
{
	struct receiver_state *rs = receiver(d, receiver_index);
	char err[256];

	if (!rs->tmpl_loaded) {
		rs->tmpl_loaded = true;
		rs->tmpl = read_small_file(r->template_name,
					   RENDER_TEMPLATE_MAX_BYTES);
		if (rs->tmpl == NULL) {
			log_error(SUBSYS,
				  "cannot read template: receiver=%s "
				  "file=%s error=%s",
				  r->name, r->template_name, strerror(errno));
		} else if (render_template_check(rs->tmpl, err, sizeof(err)) <
			   0) {
			log_error(SUBSYS,
				  "bad template: receiver=%s file=%s "
				  "error=%s",
				  r->name, r->template_name, err);
			free(rs->tmpl);
			rs->tmpl = NULL;
		}
	}
	return rs->tmpl;
}

static void send_alert(struct deliver *d, const struct config_receiver *r,
		       size_t receiver_index, const struct alert *alert)
{
	struct alert a = *alert;
	enum render_format f;
	char *text;
	char err[256];
	char *body;
	size_t len;

	a.receiver = r->name;
	switch (r->type) {
	case CONFIG_RECEIVER_LOG:
		body = render_webhook(&a, &len);
		text = render_text(&a);
		enqueue(d, r, receiver_index, a.id, a.rule, body, len, text);
		free(text);
		free(body);
		return;
	case CONFIG_RECEIVER_ALERTMANAGER:
		alert_to_am(d, r, receiver_index, &a);
		return;
	case CONFIG_RECEIVER_EMAIL: {
		struct mime_message m;
		char *subject = render_email_subject(&a);
		char *html = render_email_html(&a);

		text = render_email_text(&a);
		memset(&m, 0, sizeof(m));
		m.from = r->from;
		m.to = (const char *const *)r->to;
		m.n_to = r->n_to;
		m.subject = subject;
		m.text = text;
		m.html = html;
		m.date_ms = timeutil_now_ms();
		m.id = a.id;
		body = mime_build(&m, &len, err, sizeof(err));
		free(subject);
		free(text);
		free(html);
		break;
	}
	case CONFIG_RECEIVER_WEBHOOK:
	default:
		f = render_format_parse(r->template_name);
		body = render_body(&a, f,
				   f == RENDER_TEMPLATE
					   ? template_text(d, r, receiver_index)
					   : NULL,
				   &len, err, sizeof(err));
		break;
	}
	if (body == NULL) {
		log_error(SUBSYS, "cannot render: receiver=%s id=%s error=%s",
			  r->name, a.id, err);
		receiver(d, receiver_index)->stats.failed++;
		return;
	}
	enqueue(d, r, receiver_index, a.id, a.rule, body, len, NULL);
	free(body);
}

/* Whether r's firing notifications wait for group_wait: Alertmanager
 * groups by itself, and the log receiver, Alertmanager webhook bodies and
 * template files render one alert each. */
static bool groups(const struct config_receiver *r)
{
	enum render_format f;

	if (r->group_wait_ms <= 0) {
		return false;
	}
	if (r->type == CONFIG_RECEIVER_EMAIL) {
		return true;
	}
	if (r->type != CONFIG_RECEIVER_WEBHOOK) {
		return false;
	}
	f = render_format_parse(r->template_name);
	return f != RENDER_AM_WEBHOOK && f != RENDER_TEMPLATE;
}

static void group_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rs_timer *t = arg;

	HARK_UNUSED(fd);
	HARK_UNUSED(what);
	group_flush(t->d, t->index);
}

/* The members as one message (one member: its own body and id). */
static void group_flush(struct deliver *d, size_t index)
{
	struct receiver_state *rs = receiver(d, index);
	const struct config_receiver *r = rs->grp_r;
	struct held *members = rs->grp;
	size_t n = rs->n_grp;
	struct alert *arr;
	char *key;
	size_t key_len = 0;
	char id[33];
	char err[256] = "";
	char *body;
	size_t len = 0;

	if (rs->grp_timer != NULL) {
		evtimer_del(rs->grp_timer->ev);
	}
	if (n == 0) {
		return;
	}
	/* Taken off first: sending may come back here. */
	rs->grp = NULL;
	rs->n_grp = 0;
	if (n == 1) {
		send_alert(d, r, index, &members[0].a);
		held_fini(&members[0]);
		free(members);
		return;
	}
	arr = xcalloc(n, sizeof(*arr));
	for (size_t i = 0; i < n; i++) {
		arr[i] = members[i].a;
		arr[i].receiver = r->name;
		key_len += strlen(arr[i].rule) + 1;
	}
	key = xcalloc(key_len + 1, 1);
	for (size_t i = 0; i < n; i++) {
		if (i > 0) {
			strcat(key, " ");
		}
		strcat(key, arr[i].rule);
	}
	render_group_id(arr, n, id);
	if (r->type == CONFIG_RECEIVER_EMAIL) {
		struct mime_message m;
		char *subject = render_group_email_subject(arr, n);
		char *text = render_group_email_text(arr, n);
		char *html = render_group_email_html(arr, n);

		memset(&m, 0, sizeof(m));
		m.from = r->from;
		m.to = (const char *const *)r->to;
		m.n_to = r->n_to;
		m.subject = subject;
		m.text = text;
		m.html = html;
		m.date_ms = timeutil_now_ms();
		m.id = id;
		body = mime_build(&m, &len, err, sizeof(err));
		free(subject);
		free(text);
		free(html);
	} else {
		body = render_group_body(arr, n,
					 render_format_parse(r->template_name),
					 &len, err, sizeof(err));
	}
	log_info(SUBSYS, "group: receiver=%s id=%s alerts=%zu rules=%s",
		 r->name, id, n, key);
	if (body == NULL) {
		log_error(SUBSYS, "cannot render: receiver=%s id=%s error=%s",
			  r->name, id, err);
		rs->stats.failed++;
	} else {
		enqueue(d, r, index, id, key, body, len, NULL);
		free(body);
	}
	free(key);
	free(arr);
	for (size_t i = 0; i < n; i++) {
		held_fini(&members[i]);
	}
	free(members);
}

static void group_add(struct deliver *d, const struct config_receiver *r,
		      size_t index, const struct alert *a)
{
	struct receiver_state *rs = receiver(d, index);
	struct timeval tv;

	for (size_t i = 0; i < rs->n_grp; i++) {
		if (strcmp(rs->grp[i].a.id, a->id) == 0) {
			return;
		}
	}
	rs->grp_r = r;
	rs->grp = xreallocarray(rs->grp, rs->n_grp + 1, sizeof(*rs->grp));
	held_copy(&rs->grp[rs->n_grp], a);
	rs->n_grp++;
	if (rs->n_grp > 1) {
		return;
	}
	if (rs->grp_timer == NULL) {
		rs->grp_timer = xcalloc(1, sizeof(*rs->grp_timer));
		rs->grp_timer->d = d;
		rs->grp_timer->index = index;
		rs->grp_timer->ev =
			evtimer_new(d->base, group_cb, rs->grp_timer);
		if (rs->grp_timer->ev == NULL) {
			fatal("evtimer_new");
		}
	}
	timeutil_tv(r->group_wait_ms, &tv);
	evtimer_add(rs->grp_timer->ev, &tv);
}

void deliver_alert(struct deliver *d, const struct config_receiver *r,
		   size_t receiver_index, const struct alert *alert)
{
	struct receiver_state *rs;
	bool resolved =
		alert->status != NULL && strcmp(alert->status, "resolved") == 0;

	if (groups(r)) {
		rs = receiver(d, receiver_index);
		if (!resolved && alert->repeat == 0 && !d->draining) {
			group_add(d, r, receiver_index, alert);
			return;
		}
		/* A rule's resolve or repeat never overtakes its firing. */
		for (size_t i = 0; i < rs->n_grp; i++) {
			if (strcmp(rs->grp[i].rule, or_empty_(alert->rule)) ==
			    0) {
				group_flush(d, receiver_index);
				break;
			}
		}
	}
	send_alert(d, r, receiver_index, alert);
}
