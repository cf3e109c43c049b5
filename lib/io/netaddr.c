/* SPDX-License-Identifier: MIT */
/*
 * netaddr (see netaddr.h): getaddrinfo once per client, before the loop.
 */
#include "io/netaddr.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util/xalloc.h"

void netaddr_resolve_once(char **host)
{
	struct addrinfo hints, *res = NULL;
	char ip[INET6_ADDRSTRLEN];
	const void *a;

	if (*host == NULL) {
		return;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST;
	if (getaddrinfo(*host, NULL, &hints, &res) == 0) {
		freeaddrinfo(res);
		return; /* already an address */
	}
	hints.ai_flags = 0;
	if (getaddrinfo(*host, NULL, &hints, &res) != 0 || res == NULL) {
		return;
	}
	if (res->ai_family == AF_INET) {
		a = &((struct sockaddr_in *)(void *)res->ai_addr)->sin_addr;
	} else {
		a = &((struct sockaddr_in6 *)(void *)res->ai_addr)->sin6_addr;
	}
	if (inet_ntop(res->ai_family, a, ip, sizeof(ip)) != NULL) {
		free(*host);
		*host = xstrdup(ip);
	}
	freeaddrinfo(res);
}
