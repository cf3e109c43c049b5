/* SPDX-License-Identifier: MIT */
/* The dashboard's embedded files: which path gets which file, their
 * types and ETags, and that the page needs no inline script or style
 * (the CSP webui sends forbids them). */
#include "io/webui.h"

#include <stdio.h>
#include <string.h>

#include "check.h"

struct lookup_case {
	const char *path;
	const char *want; /* the file's path, or NULL: none */
};

static const struct lookup_case lookups[] = {
	{"/", "/ui/index.html"},
	{"/rules/brand", "/ui/index.html"},
	{"/rules/a%20b/", "/ui/index.html"},
	{"/ui/index.html", "/ui/index.html"},
	{"/ui/app.js", "/ui/app.js"},
	{"/ui/app.css", "/ui/app.css"},
	{"/ui/", NULL},
	{"/ui/app.js/", NULL},
	{"/ui/APP.JS", NULL},
	{"/ui/../ui/app.js", NULL},
	{"/ui/nope.js", NULL},
};

static void test_lookup(void)
{
	for (size_t i = 0; i < sizeof(lookups) / sizeof(lookups[0]); i++) {
		const struct webui_asset *a = webui_find(lookups[i].path);

		if (lookups[i].want == NULL) {
			CHECK(a == NULL);
			if (a != NULL) {
				fprintf(stderr, "case %zu: %s\n", i,
					lookups[i].path);
			}
		} else {
			CHECK(a != NULL);
			if (a != NULL) {
				CHECK_STR(a->path, lookups[i].want);
			}
		}
		CHECK(webui_route(lookups[i].path));
	}
	CHECK(!webui_route("/metrics"));
	CHECK(!webui_route("/v1/rules"));
	CHECK(!webui_route("/rules"));
	CHECK(!webui_route("/uix"));
	CHECK(!webui_route(""));
}

static void test_table(void)
{
	CHECK_INT(webui_assets_n, 3);
	for (size_t i = 0; i < webui_assets_n; i++) {
		const struct webui_asset *a = &webui_assets[i];

		CHECK(a->len > 100);
		CHECK_INT(a->data[a->len], 0);
		CHECK_INT(strlen((const char *)a->data), a->len);
		/* "\"" + 24 hex digits + "\"" */
		CHECK_INT(strlen(a->etag), 26);
		CHECK(a->etag[0] == '"' && a->etag[25] == '"');
		for (size_t k = 0; k < i; k++) {
			CHECK(strcmp(webui_assets[k].etag, a->etag) != 0);
		}
	}
	CHECK_STR(webui_find("/ui/app.js")->type,
		  "text/javascript; charset=utf-8");
	CHECK_STR(webui_find("/ui/app.css")->type, "text/css; charset=utf-8");
	CHECK_STR(webui_find("/")->type, "text/html; charset=utf-8");
}

static void test_no_inline(void)
{
	static const char *const banned[] = {
		"<script>",       " style=",
		"<style",         " onclick=",
		" onload=",       "javascript:",
		"innerHTML",      "eval(",
		"new Function",   "insertAdjacentHTML",
		"document.write", "http://",
		"//cdn",
	};

	for (size_t i = 0; i < webui_assets_n; i++) {
		const char *text = (const char *)webui_assets[i].data;

		for (size_t k = 0; k < sizeof(banned) / sizeof(banned[0]);
		     k++) {
			const char *hit = strstr(text, banned[k]);

			/* The SVG namespace is a name, not a fetch. */
			if (hit != NULL &&
			    strncmp(hit, "http://www.w3.org/2000/svg", 26) ==
				    0) {
				hit = strstr(hit + 26, banned[k]);
			}
			CHECK(hit == NULL);
			if (hit != NULL) {
				fprintf(stderr, "%s holds \"%s\"\n",
					webui_assets[i].path, banned[k]);
			}
		}
	}
}

int main(void)
{
	test_lookup();
	test_table();
	test_no_inline();
	return check_done();
}
