/* Open connections per client address (max_connections_per_ip). Loop thread. */
#ifndef TACWS_PEERS_H
#define TACWS_PEERS_H

typedef struct tacws_server tacws_server;

long tacws_peers_count(tacws_server *srv, const char *addr);
int tacws_peers_add(tacws_server *srv, const char *addr); /* 0 or -ENOMEM */
void tacws_peers_remove(tacws_server *srv, const char *addr);
void tacws_peers_free(tacws_server *srv);

#endif
