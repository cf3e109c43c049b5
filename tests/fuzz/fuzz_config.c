/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the input as a hark YAML config through config_parse. A
 * config that parses has its rules compiled into a matcher, as harkd does
 * at start; one that fails must say why in at least one located problem.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/fold.h"
#include "core/match.h"
#include "core/query.h"
#include "fuzz.h"
#include "util/diag.h"

static struct fold *fold;

/* Hyperscan compiles take milliseconds per rule: a fuzzer-made config
 * with thousands of rules is checked for parsing only. */
#define COMPILE_MAX_RULES 16

static void compile_rules(const struct config *cfg)
{
	struct matcher *m;
	char err[256];

	if (cfg->n_rules > COMPILE_MAX_RULES) {
		return;
	}
	if (fold == NULL) {
		fold = fold_new();
	}
	m = matcher_new(fold);
	for (size_t i = 0; i < cfg->n_rules; i++) {
		char *text;

		FUZZ_REQUIRE(cfg->rules[i].match != NULL);
		text = query_format(cfg->rules[i].match);
		free(text);
		if (matcher_add_query(m, (uint32_t)i, cfg->rules[i].match, err,
				      sizeof(err)) < 0) {
			break;
		}
	}
	if (matcher_compile(m, err, sizeof(err)) < 0) {
		err[0] = '\0';
	}
	matcher_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	struct diag d;

	diag_init(&d);
	if (config_parse(&cfg, "/etc/hark/fuzz.yaml", (const char *)data, size,
			 &d) == 0) {
		FUZZ_REQUIRE(d.n == 0);
		for (size_t i = 0; i < cfg.n_rules; i++) {
			FUZZ_REQUIRE(
				config_find_rule(&cfg, cfg.rules[i].name) ==
				(long)i);
		}
		compile_rules(&cfg);
		config_fini(&cfg);
	} else {
		FUZZ_REQUIRE(d.n > 0);
		for (size_t i = 0; i < d.n; i++) {
			char *line = diag_format(&d, i);

			FUZZ_REQUIRE(strncmp(line, "/etc/hark/fuzz.yaml", 19) ==
				     0);
			free(line);
		}
	}
	diag_fini(&d);
	return 0;
}
