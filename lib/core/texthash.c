/* SPDX-License-Identifier: MIT */
#include "core/texthash.h"

#include <string.h>

#include "util/xalloc.h"

bool texthash_next(const char *text, size_t len, size_t *pos,
		   struct texthash_line *out)
{
	while (*pos < len) {
		const char *s = text + *pos;
		const char *nl = memchr(s, '\n', len - *pos);
		size_t n = nl != NULL ? (size_t)(nl - s) : len - *pos;
		const char *sp = memchr(s, ' ', n);

		*pos += n + (nl != NULL);
		if (sp == NULL || sp == s) {
			continue;
		}
		out->field = s;
		out->field_len = (size_t)(sp - s);
		out->value = sp + 1;
		out->value_len = n - out->field_len - 1;
		return true;
	}
	return false;
}

char *texthash_put(const char *text, size_t len, const char *field,
		   const char *value, size_t *out_len)
{
	size_t flen = strlen(field), vlen = value != NULL ? strlen(value) : 0;
	char *out = xmalloc(len + flen + vlen + 3);
	size_t o = 0, pos = 0;
	struct texthash_line l;

	while (texthash_next(text, len, &pos, &l)) {
		if (l.field_len == flen && memcmp(l.field, field, flen) == 0) {
			continue;
		}
		memcpy(out + o, l.field, l.field_len + 1 + l.value_len);
		o += l.field_len + 1 + l.value_len;
		out[o++] = '\n';
	}
	if (value != NULL) {
		memcpy(out + o, field, flen);
		o += flen;
		out[o++] = ' ';
		memcpy(out + o, value, vlen);
		o += vlen;
		out[o++] = '\n';
	}
	out[o] = '\0';
	*out_len = o;
	return out;
}

bool texthash_valid(const char *field, const char *value)
{
	return field[0] != '\0' && strpbrk(field, " \n") == NULL &&
	       (value == NULL || strchr(value, '\n') == NULL);
}
