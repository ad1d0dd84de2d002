/* tacwsd: the tacws push server. */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "feed.h"
#include "loader.h"
#include "log.h"
#include "server.h"

static tacws_server *running;

static void on_signal(int sig)
{
	if (running) {
		if (sig == SIGHUP)
			running->reload_requested = 1; /* the loop reloads */
		else
			running->stop_requested = 1;
		if (running->lws)
			lws_cancel_service(running->lws);
	}
}

#ifndef TACWS_DEFAULT_CONFIG
#define TACWS_DEFAULT_CONFIG "/usr/local/etc/tacws/tacws.ini"
#endif

/* Paths under the prefix this tacwsd runs from, when that is an install. */
static char reloc_plugin_dir[PATH_MAX], reloc_web_dir[PATH_MAX], reloc_config[PATH_MAX];

/* An installed tacwsd runs from <prefix>/bin: its defaults follow the prefix it
 * was installed to (cmake --install --prefix), not the one it was built for.
 * Run from anywhere else (the build tree), the built-in paths hold. */
static void relocate_defaults(void)
{
#ifdef TACWS_INSTALL_BINDIR
	char dir[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
	if (n <= 0)
		return;
	dir[n] = '\0';
	*strrchr(dir, '/') = '\0';
	size_t len = strlen(dir), bin = strlen(TACWS_INSTALL_BINDIR);
	if (TACWS_INSTALL_BINDIR[0] == '/' || len <= bin || dir[len - bin - 1] != '/' ||
	    strcmp(dir + len - bin, TACWS_INSTALL_BINDIR))
		return;
	dir[len - bin - 1] = '\0';
	struct {
		const char *rel;
		char *out;
	} paths[] = {{TACWS_INSTALL_PLUGIN_RELDIR, reloc_plugin_dir},
		     {TACWS_INSTALL_WEB_RELDIR, reloc_web_dir},
		     {TACWS_INSTALL_CONFIG_RELDIR "/tacws.ini", reloc_config}};
	struct stat st;
	if (snprintf(reloc_plugin_dir, PATH_MAX, "%s/%s", dir, TACWS_INSTALL_PLUGIN_RELDIR) >=
		    PATH_MAX ||
	    stat(reloc_plugin_dir, &st) || !S_ISDIR(st.st_mode)) {
		reloc_plugin_dir[0] = '\0';
		return; /* not an install: a tacwsd copied into some bin/ */
	}
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
		if (paths[i].rel[0] == '/' ||
		    snprintf(paths[i].out, PATH_MAX, "%s/%s", dir, paths[i].rel) >= PATH_MAX)
			paths[i].out[0] = '\0';
	/* GNUInstallDirs: the prefix /usr keeps its configuration in /etc */
	if (!strcmp(dir, "/usr") && !strncmp(TACWS_INSTALL_CONFIG_RELDIR, "etc/", 4))
		snprintf(reloc_config, PATH_MAX, "/%s/tacws.ini", TACWS_INSTALL_CONFIG_RELDIR);
	tacws_config_set_default_dirs(reloc_plugin_dir[0] ? reloc_plugin_dir : NULL,
				      reloc_web_dir[0] ? reloc_web_dir : NULL);
#endif
}

static void usage(FILE *out)
{
	const char *config = reloc_config[0] ? reloc_config : TACWS_DEFAULT_CONFIG;
	fprintf(out,
		"usage: tacwsd [--config FILE] [options]\n"
		"       tacwsd --check-config [FILE]\n"
		"\n"
		"  -c, --config FILE       configuration (INI); default %s\n"
		"  -l, --listen ADDR       address to bind (overrides [server] listen)\n"
		"  -p, --port N            port (overrides [server] port; 0 = any free port)\n"
		"      --log-level LEVEL   error, warn, info or debug (overrides [server] log_level)\n"
		"      --check-config      validate the configuration and plugins, then exit\n"
		"  -h, --help              this help\n"
		"  -V, --version           print the version\n"
		"\n"
		"SIGHUP reloads the configuration and the plugins that changed.\n",
		config);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'}, {"listen", required_argument, NULL, 'l'},
		{"port", required_argument, NULL, 'p'},	  {"log-level", required_argument, NULL, 'L'},
		{"check-config", no_argument, NULL, 'C'}, {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},	  {NULL, 0, NULL, 0},
	};
	const char *config_path = NULL, *listen = NULL, *port = NULL, *level = NULL;
	bool check_only = false;
	int c;
	signal(SIGHUP, SIG_IGN); /* until the loop can reload: a HUP at start must not kill */
	relocate_defaults();
	while ((c = getopt_long(argc, argv, "c:l:p:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config_path = optarg; break;
		case 'l': listen = optarg; break;
		case 'p': port = optarg; break;
		case 'L': level = optarg; break;
		case 'C': check_only = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("tacwsd %s (plugin ABI %d)\n", TACWS_VERSION, TACWS_PLUGIN_ABI_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (check_only && !config_path && optind == argc - 1)
		config_path = argv[optind++]; /* tacwsd --check-config FILE */
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (!config_path)
		config_path = reloc_config[0] && !access(reloc_config, F_OK) ? reloc_config
									     : TACWS_DEFAULT_CONFIG;
	char err[1024];
	tacws_config *cfg;
	if (tacws_config_load(config_path, &cfg, err, sizeof err)) {
		tacws_log_error("config", "%s", err);
		return 1;
	}
	if ((listen && tacws_config_override(cfg, "listen", listen, err, sizeof err)) ||
	    (port && tacws_config_override(cfg, "port", port, err, sizeof err)) ||
	    (level && tacws_config_override(cfg, "log_level", level, err, sizeof err))) {
		tacws_log_error("config", "command line: %s", err);
		tacws_config_free(cfg);
		return 1;
	}
	tacws_log_level_parse(cfg->log_level, &tacws_log_threshold);

	tacws_server *srv;
	if (tacws_server_create(cfg, &srv)) {
		tacws_config_free(cfg);
		return 1;
	}
	int rc = tacws_plugins_load(srv, err, sizeof err);
	if (rc) {
		tacws_log_error("config", "%s", err);
	} else if (check_only) {
		/* A refused plugin only costs its feeds at start; a check reports it. */
		size_t missing = 0;
		for (size_t i = 0; i < cfg->n_feeds; i++)
			missing += cfg->feeds[i].enabled &&
				   !tacws_feed_find(srv, cfg->feeds[i].endpoint,
						    strlen(cfg->feeds[i].endpoint));
		if (missing) {
			fprintf(stderr, "%s: %zu enabled feed%s not served (see above)\n",
				config_path, missing, missing == 1 ? " is" : "s are");
			rc = 1;
		} else {
			printf("%s: configuration OK, %zu feed%s\n", config_path, srv->n_feeds,
			       srv->n_feeds == 1 ? "" : "s");
		}
	} else {
		running = srv;
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_signal;
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		signal(SIGPIPE, SIG_IGN);
		rc = tacws_server_run(srv);
		running = NULL;
	}
	tacws_server_destroy(srv);
	tacws_config_free(cfg);
	if (!rc && !check_only)
		tacws_log_info("server", "stopped");
	return rc ? 1 : 0;
}
