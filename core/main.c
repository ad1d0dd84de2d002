/* tacwsd: the tacws push server. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "loader.h"
#include "log.h"
#include "server.h"

static tacws_server *running;

static void on_signal(int sig)
{
	(void)sig;
	if (running) {
		running->stop_requested = 1;
		if (running->lws)
			lws_cancel_service(running->lws);
	}
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tacwsd --config FILE [options]\n"
		"\n"
		"  -c, --config FILE       configuration (INI); see conf/tacws.ini\n"
		"  -l, --listen ADDR       address to bind (overrides [server] listen)\n"
		"  -p, --port N            port (overrides [server] port; 0 = any free port)\n"
		"      --log-level LEVEL   error, warn, info or debug (overrides [server] log_level)\n"
		"      --check-config      validate the configuration and plugins, then exit\n"
		"  -h, --help              this help\n"
		"  -V, --version           print the version\n");
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
	if (!config_path || optind < argc) {
		usage(stderr);
		return 2;
	}
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
		printf("%s: configuration OK, %zu feed%s\n", config_path, srv->n_feeds,
		       srv->n_feeds == 1 ? "" : "s");
	} else {
		running = srv;
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_signal;
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		signal(SIGPIPE, SIG_IGN);
		rc = tacws_server_run(srv);
		running = NULL;
	}
	tacws_server_destroy(srv);
	tacws_config_free(cfg);
	if (!rc)
		tacws_log_info("server", "stopped");
	return rc ? 1 : 0;
}
