/* SPDX-License-Identifier: MIT */
/*
 * The curl multi ↔ libevent glue, shared by delivery and the streaming
 * sources: curl tells which sockets to watch and when to wake it; events
 * call curl_multi_socket_action back; finished transfers go to the
 * owner's done callback.
 */
#include "io/curlev.h"

#include <event2/event.h>
#include <stdlib.h>

#include "util/log.h"
#include "util/xalloc.h"

struct sock {
	curl_socket_t fd;
	struct event *ev;
	struct sock *prev;
	struct sock *next;
};

struct curlev {
	struct event_base *base; /* borrowed */
	CURLM *multi;
	struct event *timer;
	struct sock *socks;
	curlev_done_fn *done;
	void *owner; /* borrowed */
};

static void check_multi(struct curlev *c)
{
	CURLMsg *msg;
	CURL *easy;
	CURLcode rc;
	char *priv;
	int left;

	for (;;) {
		msg = curl_multi_info_read(c->multi, &left);
		if (msg == NULL) {
			break;
		}
		if (msg->msg != CURLMSG_DONE) {
			continue;
		}
		/* Read everything first: the message dies with its handle. */
		easy = msg->easy_handle;
		rc = msg->data.result;
		priv = NULL;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
		HARK_ASSERT(priv != NULL);
		c->done(c->owner, priv, easy, rc);
	}
}

static void socket_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct curlev *c = arg;
	int action = 0;
	int running;

	if (what & EV_READ) {
		action |= CURL_CSELECT_IN;
	}
	if (what & EV_WRITE) {
		action |= CURL_CSELECT_OUT;
	}
	curl_multi_socket_action(c->multi, fd, action, &running);
	check_multi(c);
}

static void timer_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct curlev *c = arg;
	int running;

	HARK_UNUSED(fd);
	HARK_UNUSED(what);
	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_multi(c);
}

static void sock_free(struct curlev *c, struct sock *s)
{
	if (s->ev != NULL) {
		event_free(s->ev);
	}
	if (s->prev != NULL) {
		s->prev->next = s->next;
	} else {
		c->socks = s->next;
	}
	if (s->next != NULL) {
		s->next->prev = s->prev;
	}
	free(s);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
		     void *socketp)
{
	struct curlev *c = userp;
	struct sock *s = socketp;
	short kind = EV_PERSIST;

	HARK_UNUSED(easy);
	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			sock_free(c, s);
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
		s->next = c->socks;
		if (c->socks != NULL) {
			c->socks->prev = s;
		}
		c->socks = s;
		curl_multi_assign(c->multi, fd, s);
	} else if (s->ev != NULL) {
		event_free(s->ev);
		s->ev = NULL;
	}
	s->ev = event_new(c->base, fd, kind, socket_event_cb, c);
	HARK_ASSERT(s->ev != NULL);
	if (event_add(s->ev, NULL) != 0) {
		log_error("curl", "event_add failed: fd=%d", (int)fd);
		return -1;
	}
	return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct curlev *c = userp;
	struct timeval tv;

	HARK_UNUSED(multi);
	if (timeout_ms < 0) {
		evtimer_del(c->timer);
		return 0;
	}
	/* 0 fires on the next loop pass: curl is never re-entered from
	 * inside its own callbacks. */
	tv.tv_sec = (time_t)(timeout_ms / 1000);
	tv.tv_usec = (suseconds_t)((timeout_ms % 1000) * 1000);
	evtimer_add(c->timer, &tv);
	return 0;
}

struct curlev *curlev_new(struct event_base *base, curlev_done_fn *done,
			  void *owner)
{
	struct curlev *c;

	/* Reference-counted inside libcurl: every user may call it. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("curl", "curl_global_init failed");
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->base = base;
	c->done = done;
	c->owner = owner;
	c->multi = curl_multi_init();
	HARK_ASSERT(c->multi != NULL);
	c->timer = evtimer_new(base, timer_event_cb, c);
	HARK_ASSERT(c->timer != NULL);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	return c;
}

CURLM *curlev_multi(const struct curlev *c)
{
	return c->multi;
}

void curlev_free(struct curlev *c)
{
	if (c == NULL) {
		return;
	}
	/* Cleanup may still call socket_cb and timer_cb: events go after. */
	curl_multi_cleanup(c->multi);
	while (c->socks != NULL) {
		sock_free(c, c->socks);
	}
	event_free(c->timer);
	free(c);
	curl_global_cleanup();
}
