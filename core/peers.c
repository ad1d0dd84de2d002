/*
 * Open WebSocket connections per client address, for max_connections_per_ip.
 * A hash table, so an upgrade's check is O(1): walking every connection made a
 * reconnect storm O(n^2) with the limit on.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peers.h"

#include "server.h"

#define PEER_BUCKETS 4096 /* a power of two */

struct peer_count {
	struct peer_count *next;
	long n;
	char addr[64];
};

struct tacws_peers {
	struct peer_count *bucket[PEER_BUCKETS];
};

static struct peer_count **slot(struct tacws_peers *p, const char *addr)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (const unsigned char *c = (const unsigned char *)addr; *c; c++)
		h = (h ^ *c) * 16777619u;
	struct peer_count **s = &p->bucket[h & (PEER_BUCKETS - 1)];
	while (*s && strcmp((*s)->addr, addr))
		s = &(*s)->next;
	return s;
}

long tacws_peers_count(tacws_server *srv, const char *addr)
{
	if (!srv->peers)
		return 0;
	struct peer_count *e = *slot(srv->peers, addr);
	return e ? e->n : 0;
}

int tacws_peers_add(tacws_server *srv, const char *addr)
{
	if (!srv->peers && !(srv->peers = calloc(1, sizeof *srv->peers)))
		return -ENOMEM;
	struct peer_count **s = slot(srv->peers, addr);
	if (!*s) {
		if (!(*s = calloc(1, sizeof **s)))
			return -ENOMEM;
		snprintf((*s)->addr, sizeof (*s)->addr, "%s", addr);
	}
	(*s)->n++;
	return 0;
}

void tacws_peers_remove(tacws_server *srv, const char *addr)
{
	struct peer_count **s = srv->peers ? slot(srv->peers, addr) : NULL;
	if (!s || !*s)
		return;
	if (--(*s)->n <= 0) {
		struct peer_count *gone = *s;
		*s = gone->next;
		free(gone);
	}
}

void tacws_peers_free(tacws_server *srv)
{
	if (!srv->peers)
		return;
	for (size_t i = 0; i < PEER_BUCKETS; i++) {
		while (srv->peers->bucket[i]) {
			struct peer_count *e = srv->peers->bucket[i];
			srv->peers->bucket[i] = e->next;
			free(e);
		}
	}
	free(srv->peers);
	srv->peers = NULL;
}
