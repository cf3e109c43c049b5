/* SPDX-License-Identifier: MIT */
/*
 * Delivery glue: one libcurl multi handle driven by the libevent loop (one
 * event per socket curl watches, one timer for curl's timeouts), retries
 * as loop timers on the backoff plan, and the log receiver. Bodies come
 * rendered (and signed) from the caller. Runs on the loop thread only.
 */
#include "io/deliver.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "hark-config.h"
#include "config/config.h"
#include "core/backoff.h"
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
struct sock {
	curl_socket_t fd;
	struct event *ev;
	struct sock *prev;
	struct sock *next;
};

/*
 * One delivery, owned by the in-flight operation: freed in job_finish,
 * which runs for every outcome (sent, failed, abandoned at the drain
 * deadline) or by deliver_free.
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
	char *url_log; /* "scheme://host/…" */
	unsigned attempt; /* attempts started so far */
	struct curl_slist *headers;
	CURL *easy;             /* non-NULL while an attempt is running */
	struct event *retry_ev; /* pending while waiting for the next attempt */
	char errbuf[CURL_ERROR_SIZE];
};

struct receiver_state {
	struct deliver_stats stats;
	/* Last attempt failed: the failure was logged, the next is not. */
	bool failing;
};

struct deliver {
	struct event_base *base; /* borrowed */
	CURLM *multi;
	struct event *timer;    /* curl's one timeout */
	struct event *drain_ev; /* drain deadline, and calling done */
	struct sock *socks;
	struct job *jobs;
	size_t n_jobs;
	struct receiver_state *rs;
	size_t n_rs;
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
};

static bool curl_ready;

__attribute__((noreturn)) static void fatal(const char *what)
{
	log_error(SUBSYS, "%s failed (out of memory?)", what);
	abort();
}

static uint32_t next_rand(struct deliver *d)
{
	uint64_t x = d->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	d->rng = x;
	return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

static struct timeval tv_ms(int64_t ms)
{
	struct timeval tv;

	if (ms < 0) {
		ms = 0;
	}
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
	return tv;
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
			log_warn(SUBSYS, "header skipped: receiver=%s name=%s "
				 "reason=line break", r->name, h->name);
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

static void arm_drain(struct deliver *d)
{
	struct timeval tv;

	if (d->n_jobs == 0) {
		tv = tv_ms(0);
	} else {
		tv = tv_ms(d->deadline_ms - timeutil_mono_ms());
	}
	evtimer_add(d->drain_ev, &tv);
}

static void job_free(struct job *j)
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
	if (j->prev != NULL) {
		j->prev->next = j->next;
	} else {
		d->jobs = j->next;
	}
	if (j->next != NULL) {
		j->next->prev = j->prev;
	}
	d->n_jobs--;
	curl_slist_free_all(j->headers);
	free(j->url_log);
	free(j->body);
	free(j->id);
	free(j);
}

/* The one place a delivery ends, whatever the outcome. */
static void job_finish(struct job *j, bool sent)
{
	struct deliver *d = j->d;
	struct receiver_state *rs = receiver(d, j->receiver_index);

	if (sent) {
		rs->stats.sent++;
	} else {
		rs->stats.failed++;
	}
	rs->stats.inflight--;
	job_free(j);
	/* done runs from its own event: it may free d, and we may be deep
	 * inside curl callbacks here. */
	if (d->draining && d->n_jobs == 0) {
		arm_drain(d);
	}
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
	if (j->retry_ev == NULL) {
		j->retry_ev = evtimer_new(d->base, retry_cb, j);
		if (j->retry_ev == NULL) {
			fatal("evtimer_new");
		}
	}
	tv = tv_ms(delay_ms);
	evtimer_add(j->retry_ev, &tv);
	log_debug(SUBSYS, "retry scheduled: receiver=%s id=%s attempt=%u "
		  "delay_ms=%lld", j->r->name, j->id, j->attempt + 1,
		  (long long)delay_ms);
}

static void attempt_failed(struct job *j, enum verdict v, const char *reason,
			   int64_t retry_after_ms)
{
	struct receiver_state *rs = receiver(j->d, j->receiver_index);
	int64_t retries = j->r->retries > 0 ? j->r->retries : 0;

	/* A 4xx rejects this body; it says nothing about the receiver being
	 * down, so it leaves the failing state alone. */
	if (v == VERDICT_PERMANENT) {
		log_warn(SUBSYS, "delivery rejected, not retried: receiver=%s "
			 "url=%s id=%s error=%s", j->r->name, j->url_log, j->id,
			 reason);
		job_finish(j, false);
		return;
	}
	if (!rs->failing) {
		log_warn(SUBSYS, "receiver failing: receiver=%s url=%s error=%s",
			 j->r->name, j->url_log, reason);
		rs->failing = true;
	}
	if ((int64_t)j->attempt > retries) {
		log_warn(SUBSYS, "delivery failed: receiver=%s id=%s "
			 "attempts=%u error=%s", j->r->name, j->id, j->attempt,
			 reason);
		job_finish(j, false);
		return;
	}
	log_debug(SUBSYS, "attempt failed: receiver=%s id=%s attempt=%u "
		  "error=%s", j->r->name, j->id, j->attempt, reason);
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

	v = classify(rc, status);
	if (v == VERDICT_SENT) {
		rs = receiver(j->d, j->receiver_index);
		if (rs->failing) {
			log_info(SUBSYS, "receiver healthy again: receiver=%s",
				 j->r->name);
			rs->failing = false;
		}
		log_debug(SUBSYS, "delivered: receiver=%s id=%s attempt=%u "
			  "status=%ld", j->r->name, j->id, j->attempt, status);
		job_finish(j, true);
		return;
	}
	if (rc != CURLE_OK) {
		snprintf(reason, sizeof(reason), "%s",
			 j->errbuf[0] != '\0' ? j->errbuf
					      : curl_easy_strerror(rc));
	} else {
		snprintf(reason, sizeof(reason), "HTTP %ld", status);
	}
	attempt_failed(j, v, reason, retry_after_ms);
}

static void start_attempt(struct job *j)
{
	struct deliver *d = j->d;
	int64_t timeout_ms;
	int64_t connect_ms;
	CURLMcode mc;
	CURL *e;

	timeout_ms = j->r->timeout_ms > 0 ? j->r->timeout_ms
					  : DEFAULT_TIMEOUT_MS;
	connect_ms = timeout_ms < CONNECT_TIMEOUT_MAX_MS
			     ? timeout_ms
			     : CONNECT_TIMEOUT_MAX_MS;
	e = curl_easy_init();
	if (e == NULL) {
		fatal("curl_easy_init");
	}
	j->errbuf[0] = '\0';
	curl_easy_setopt(e, CURLOPT_PRIVATE, j);
	curl_easy_setopt(e, CURLOPT_URL, j->r->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)connect_ms);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "hark/" HARK_VERSION);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->headers);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)j->len);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->errbuf);

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

static void check_multi(struct deliver *d)
{
	CURLMsg *msg;
	struct job *j;
	char *priv;
	int left;

	for (;;) {
		msg = curl_multi_info_read(d->multi, &left);
		if (msg == NULL) {
			break;
		}
		if (msg->msg != CURLMSG_DONE) {
			continue;
		}
		priv = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		j = (struct job *)(void *)priv;
		HARK_ASSERT(j != NULL && j->easy == msg->easy_handle);
		attempt_done(j, msg->data.result);
	}
}

static void socket_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct deliver *d = arg;
	int action = 0;
	int running;

	if (what & EV_READ) {
		action |= CURL_CSELECT_IN;
	}
	if (what & EV_WRITE) {
		action |= CURL_CSELECT_OUT;
	}
	curl_multi_socket_action(d->multi, fd, action, &running);
	check_multi(d);
}

static void timer_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct deliver *d = arg;
	int running;

	curl_multi_socket_action(d->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_multi(d);
}

static void sock_free(struct deliver *d, struct sock *s)
{
	if (s->ev != NULL) {
		event_free(s->ev);
	}
	if (s->prev != NULL) {
		s->prev->next = s->next;
	} else {
		d->socks = s->next;
	}
	if (s->next != NULL) {
		s->next->prev = s->prev;
	}
	free(s);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
		     void *socketp)
{
	struct deliver *d = userp;
	struct sock *s = socketp;
	short kind = EV_PERSIST;

	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			sock_free(d, s);
		}
		return 0;
	}
	if (what & CURL_POLL_IN) {
		kind |= EV_READ;
	}
	if (what & CURL_POLL_OUT) {
		kind |= EV_WRITE;
	}
	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		s->fd = fd;
		s->next = d->socks;
		if (d->socks != NULL) {
			d->socks->prev = s;
		}
		d->socks = s;
		curl_multi_assign(d->multi, fd, s);
	} else if (s->ev != NULL) {
		event_free(s->ev);
		s->ev = NULL;
	}
	s->ev = event_new(d->base, fd, kind, socket_event_cb, d);
	if (s->ev == NULL) {
		fatal("event_new");
	}
	if (event_add(s->ev, NULL) != 0) {
		log_error(SUBSYS, "event_add failed: fd=%d", (int)fd);
		return -1;
	}
	return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct deliver *d = userp;
	struct timeval tv;

	if (timeout_ms < 0) {
		evtimer_del(d->timer);
		return 0;
	}
	/* 0 means "now": the event fires on the next loop pass, which keeps
	 * curl from being re-entered from inside its own callbacks. */
	tv = tv_ms(timeout_ms);
	evtimer_add(d->timer, &tv);
	return 0;
}

static void abandon_all(struct deliver *d)
{
	size_t n = d->n_jobs;

	while (d->jobs != NULL) {
		job_finish(d->jobs, false);
	}
	log_warn(SUBSYS, "drain deadline passed: abandoned=%zu", n);
}

static void drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct deliver *d = arg;
	void (*done)(void *arg);
	void *done_arg;

	if (!d->draining) {
		return;
	}
	if (d->n_jobs > 0) {
		if (timeutil_mono_ms() < d->deadline_ms) {
			arm_drain(d);
			return;
		}
		abandon_all(d);
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

struct deliver *deliver_new(struct event_base *base)
{
	struct deliver *d;

	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			fatal("curl_global_init");
		}
		curl_ready = true;
	}
	d = xcalloc(1, sizeof(*d));
	d->base = base;
	d->multi = curl_multi_init();
	if (d->multi == NULL) {
		fatal("curl_multi_init");
	}
	d->timer = evtimer_new(base, timer_event_cb, d);
	d->drain_ev = evtimer_new(base, drain_cb, d);
	if (d->timer == NULL || d->drain_ev == NULL) {
		fatal("evtimer_new");
	}
	curl_multi_setopt(d->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(d->multi, CURLMOPT_SOCKETDATA, d);
	curl_multi_setopt(d->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(d->multi, CURLMOPT_TIMERDATA, d);
	d->rng = ((uint64_t)timeutil_now_ms() << 20) ^ (uint64_t)getpid() ^
		 (uint64_t)(uintptr_t)d;
	if (d->rng == 0) {
		d->rng = 0x9E3779B97F4A7C15ULL;
	}
	return d;
}

void deliver_free(struct deliver *d)
{
	if (d == NULL) {
		return;
	}
	while (d->jobs != NULL) {
		job_free(d->jobs);
	}
	/* Cleanup may still call socket_cb and timer_cb: events go after. */
	curl_multi_cleanup(d->multi);
	d->multi = NULL;
	while (d->socks != NULL) {
		sock_free(d, d->socks);
	}
	event_free(d->timer);
	event_free(d->drain_ev);
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
			log_warn(SUBSYS, "receiver failing: receiver=%s "
				 "error=cannot write stdout", r->name);
			rs->failing = true;
		}
		return;
	}
	rs->failing = false;
	rs->stats.sent++;
}

void deliver_send(struct deliver *d, const struct config_receiver *r,
		  size_t receiver_index, const char *id, const char *body,
		  size_t len, const char *text)
{
	struct receiver_state *rs = receiver(d, receiver_index);
	struct job *j;

	if (r->type == CONFIG_RECEIVER_LOG) {
		print_log(d, r, receiver_index, body, len, text);
		return;
	}
	if (r->url == NULL || has_crlf(id)) {
		log_warn(SUBSYS, "delivery rejected, not retried: receiver=%s "
			 "error=%s", r->name,
			 r->url == NULL ? "no url" : "line break in id");
		rs->stats.failed++;
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->d = d;
	j->r = r;
	j->receiver_index = receiver_index;
	j->id = xstrdup(id);
	j->body = xmalloc(len + 1);
	memcpy(j->body, body, len);
	j->body[len] = '\0';
	j->len = len;
	j->url_log = url_for_log(r->url);
	j->headers = build_headers(r, id);
	j->next = d->jobs;
	if (d->jobs != NULL) {
		d->jobs->prev = j;
	}
	d->jobs = j;
	d->n_jobs++;
	rs->stats.inflight++;
	start_attempt(j);
}

struct deliver_stats deliver_stats(const struct deliver *d,
				   size_t receiver_index)
{
	struct deliver_stats none = {0};

	if (receiver_index >= d->n_rs) {
		return none;
	}
	return d->rs[receiver_index].stats;
}

void deliver_drain(struct deliver *d, int64_t deadline_ms,
		   void (*done)(void *arg), void *arg)
{
	struct timeval now = {0, 0};
	struct job *j;

	d->draining = true;
	d->deadline_ms = deadline_ms;
	d->done = done;
	d->done_arg = arg;
	for (j = d->jobs; j != NULL; j = j->next) {
		if (j->easy == NULL && j->retry_ev != NULL) {
			evtimer_add(j->retry_ev, &now);
		}
	}
	arm_drain(d);
}
