/* tacws-demo: keeps a TAC-WebBuilder-like repo root, database and HTTP
 * services changing, so every tacws feed has something to push. */
#include "demo.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef TACWS_DEMO_SCHEMA
#define TACWS_DEMO_SCHEMA "tools/demo/tac-schema.sql"
#endif

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: tacws-demo [options]\n"
	    "  --repo-root DIR    where agents/ and trees/ live (default ./demo-data)\n"
	    "  --database PATH    SQLite file (default <repo-root>/db/database.db)\n"
	    "  --schema FILE      SQL schema (default %s)\n"
	    "  --http-port N      port of the HTTP services on 127.0.0.1 (default 8002, 0 = any)\n"
	    "  --seed N           random seed (default 1): the same seed, the same story\n"
	    "  --tick-ms N        time between steps (default 1000)\n"
	    "  --duration S       stop after S seconds (default 0: until SIGINT/SIGTERM)\n"
	    "  --health-period S  /health is up S seconds, then down S/3 (default 30)\n"
	    "  --no-processes     do not start a stand-in process per running workflow\n"
	    "  --once             create the fixtures and exit (no HTTP server)\n"
	    "  --quiet            log only errors\n",
	    TACWS_DEMO_SCHEMA);
}

static int parse_int(const char *arg, const char *name, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(arg, &end, 10);
	if (errno || *end || end == arg || v < lo || v > hi) {
		fprintf(stderr, "tacws-demo: bad %s '%s' (%ld..%ld)\n", name, arg, lo, hi);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_args(int argc, char **argv, demo_opts *o)
{
	static const struct option longopts[] = {
	    {"repo-root", required_argument, NULL, 'r'},
	    {"database", required_argument, NULL, 'd'},
	    {"schema", required_argument, NULL, 's'},
	    {"http-port", required_argument, NULL, 'p'},
	    {"seed", required_argument, NULL, 'S'},
	    {"tick-ms", required_argument, NULL, 't'},
	    {"duration", required_argument, NULL, 'D'},
	    {"health-period", required_argument, NULL, 'H'},
	    {"no-processes", no_argument, NULL, 'n'},
	    {"once", no_argument, NULL, 'o'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	*o = (demo_opts){.repo_root = "demo-data",
	                 .schema = TACWS_DEMO_SCHEMA,
	                 .http_port = 8002,
	                 .seed = 1,
	                 .tick_ms = 1000,
	                 .health_period_s = 30,
	                 .spawn_processes = 1};
	long v;
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			o->repo_root = optarg;
			break;
		case 'd':
			o->database = optarg;
			break;
		case 's':
			o->schema = optarg;
			break;
		case 'p':
			if (parse_int(optarg, "--http-port", 0, 65535, &v))
				return -EINVAL;
			o->http_port = (int)v;
			break;
		case 'S':
			if (parse_int(optarg, "--seed", 0, 2147483647, &v))
				return -EINVAL;
			o->seed = (uint64_t)v;
			break;
		case 't':
			if (parse_int(optarg, "--tick-ms", 10, 3600000, &v))
				return -EINVAL;
			o->tick_ms = (int)v;
			break;
		case 'D':
			if (parse_int(optarg, "--duration", 0, 31536000, &v))
				return -EINVAL;
			o->duration_s = (int)v;
			break;
		case 'H':
			if (parse_int(optarg, "--health-period", 1, 86400, &v))
				return -EINVAL;
			o->health_period_s = (int)v;
			break;
		case 'n':
			o->spawn_processes = 0;
			break;
		case 'o':
			o->once = 1;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return -EINVAL;
	}
	if (o->once)
		o->spawn_processes = 0;
	return 0;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL); /* a signal cuts it short, which is what we want */
}

int main(int argc, char **argv)
{
	demo_opts opts;
	if (parse_args(argc, argv, &opts))
		return 2;
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	demo_http *http = NULL;
	int port = 0;
	if (!opts.once && demo_http_start(opts.http_port, opts.health_period_s, &http, &port))
		return 1;
	demo_world *world = NULL;
	int rc = demo_world_create(&opts, http, &world);
	if (rc) {
		demo_http_stop(http);
		return 1;
	}
	if (opts.once)
		printf("tacws-demo: fixtures ready in %s\n", opts.repo_root);
	else
		printf("tacws-demo: ready, http://127.0.0.1:%d/ (openapi.json, webhook-status, "
		       "health)\n",
		       port);
	fflush(stdout);

	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!opts.once && !stop_requested) {
		sleep_ms(opts.tick_ms);
		clock_gettime(CLOCK_MONOTONIC, &t);
		long long ms = (t.tv_sec - t0.tv_sec) * 1000LL + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (stop_requested || (opts.duration_s && ms >= opts.duration_s * 1000LL))
			break;
		if (demo_world_tick(world))
			demo_log("a step failed; going on");
	}
	demo_world_free(world);
	demo_http_stop(http);
	if (!opts.quiet)
		demo_log("stopped");
	return 0;
}
