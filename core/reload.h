/* SIGHUP: re-read the configuration and apply it. Loop thread. */
#ifndef TACWS_RELOAD_H
#define TACWS_RELOAD_H

typedef struct tacws_server tacws_server;

/* Re-reads srv->cfg->path and applies it (SIGHUP), on the loop thread: feeds
 * added and removed, intervals, plugins whose .so changed. A file that fails
 * validation changes nothing. Returns 0 or a negative errno (logged). */
int tacws_server_reload(tacws_server *srv);

/* Frees the configurations reloads loaded (shutdown, after the plugins are
 * unloaded: they may hold their strings). */
void tacws_reload_free(tacws_server *srv);

#endif
