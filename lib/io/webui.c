/* SPDX-License-Identifier: MIT */
/*
 * The dashboard's files, looked up by request path in the table that
 * scripts/embed-assets generates from web/, answered from static memory
 * (evbuffer references, no copy). Loop only, called by api.c.
 */
#include "io/webui.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <string.h>

bool webui_route(const char *path)
{
	return strcmp(path, "/") == 0 || strncmp(path, "/ui/", 4) == 0 ||
	       strncmp(path, "/rules/", 7) == 0;
}

const struct webui_asset *webui_find(const char *path)
{
	/* The client's routes are drawn by the page from its location. */
	if (strcmp(path, "/") == 0 || strncmp(path, "/rules/", 7) == 0) {
		path = "/ui/index.html";
	}
	for (size_t i = 0; i < webui_assets_n; i++) {
		if (strcmp(webui_assets[i].path, path) == 0) {
			return &webui_assets[i];
		}
	}
	return NULL;
}

/* If-None-Match compares weakly (RFC 9110 13.1.2): "*", or any listed
 * tag, W/ or not, with the same opaque value. */
static bool etag_matches(const char *inm, const char *etag)
{
	return strcmp(inm, "*") == 0 || strstr(inm, etag) != NULL;
}

void webui_answer(struct evhttp_request *req, const char *path)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	const struct webui_asset *a = webui_find(path);
	const char *inm;
	struct evbuffer *out;

	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	if (a == NULL) {
		out = evbuffer_new();
		evhttp_add_header(h, "Content-Type",
				  "text/plain; charset=utf-8");
		evbuffer_add(out, "no such file\n", 13);
		evhttp_send_reply(req, 404, "Not Found", out);
		evbuffer_free(out);
		return;
	}
	evhttp_add_header(h, "Content-Security-Policy", WEBUI_CSP);
	/* Kept, but asked again each time: a new harkd's files show at once
	 * and an unchanged file costs a 304. */
	evhttp_add_header(h, "Cache-Control", "no-cache");
	evhttp_add_header(h, "ETag", a->etag);
	inm = evhttp_find_header(evhttp_request_get_input_headers(req),
				 "If-None-Match");
	if (inm != NULL && etag_matches(inm, a->etag)) {
		evhttp_send_reply(req, 304, "Not Modified", NULL);
		return;
	}
	evhttp_add_header(h, "Content-Type", a->type);
	out = evbuffer_new();
	evbuffer_add_reference(out, a->data, a->len, NULL, NULL);
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}
