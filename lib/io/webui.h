/* SPDX-License-Identifier: MIT */
/*
 * The team's dashboard (web/): its files, embedded in the binary at build
 * time by scripts/embed-assets, answered on GET and HEAD with their type,
 * a strong ETag and the page's security headers. The page reads the JSON
 * routes of api.c; nothing here reads the daemon. Runs on the loop.
 */
#ifndef HARK_IO_WEBUI_H
#define HARK_IO_WEBUI_H

#include <stdbool.h>
#include <stddef.h>

struct evhttp_request;

/* One embedded file; every field is static data of the generated table. */
struct webui_asset {
	const char *path; /* "/ui/app.js" */
	const char *type; /* Content-Type */
	const unsigned char *data;
	size_t len;
	const char *etag; /* strong, quoted: "\"<hash of data>\"" */
};

/* The generated table (webui_assets.c in the build directory). */
extern const struct webui_asset webui_assets[];
extern const size_t webui_assets_n;

/* The page's policy: no inline script or style, nothing from elsewhere. */
#define WEBUI_CSP                                                     \
	"default-src 'none'; script-src 'self'; style-src 'self'; "   \
	"img-src 'self' data:; connect-src 'self'; base-uri 'none'; " \
	"form-action 'self'; frame-ancestors 'none'"

/* Whether path is the dashboard's: "/", "/ui/…" (its files) or a page of
 * the client's own routes ("/rules/{name}"). */
bool webui_route(const char *path);
/* The file path answers with: index.html for "/" and the client's routes,
 * the named file under "/ui/"; NULL when there is none. */
const struct webui_asset *webui_find(const char *path);
/*
 * Answers req (GET or HEAD) for path, one of webui_route's: 200 with the
 * file, 304 when If-None-Match names its ETag, 404 for an unknown file.
 */
void webui_answer(struct evhttp_request *req, const char *path);

#endif
