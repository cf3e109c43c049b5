/* SPDX-License-Identifier: MIT */
/*
 * Store key names, built only here. Every key of a rule shares the rule's
 * hash tag so that a Redis Cluster keeps them in one slot:
 *   <prefix>{<rule>}:v1:count:<bucket start, unix seconds>
 *   <prefix>{<rule>}:v1:state
 * Pure; callers free the results.
 */
#ifndef HARK_CORE_KEYS_H
#define HARK_CORE_KEYS_H

#include <stdint.h>

char *keys_count(const char *prefix, const char *rule, int64_t start_ms);
char *keys_state(const char *prefix, const char *rule);

#endif
