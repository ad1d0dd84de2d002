/* tacws-cat: subscribe to a tacws feed and print each message on stdout. */
#include "resume.h"
#include "states.h"
#include "wsclient.h"

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
	EXIT_OK = 0,
	EXIT_USAGE = 1,
	EXIT_CONNECT = 2,
	EXIT_TIMEOUT = 3,
	EXIT_REFUSED = 4,
};

#define MAX_ATTEMPTS 10
#define BACKOFF_CAP_MS 30000
#define CONNECT_TIMEOUT_MS 10000
#define TICK_MS 250
#define MAX_TOPICS 1024 /* whole states remembered for deltas */

struct options {
	const char *url;
	const char *token;
	const char *origin;
	const char *subscribe;
	int pretty;
	int data_only;
	long count;
	double timeout_s;
	int reconnect;
	int quiet;
	int delta; /* ask for JSON Patch deltas */
	int raw;   /* print deltas as received, not the whole states */
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: tacws-cat [options] ws://HOST:PORT/api/v1/ws/FEED\n"
	        "\n"
	        "Subscribes to a tacws feed and prints each message on its own line.\n"
	        "\n"
	        "  --token T        send \"Authorization: Bearer T\"\n"
	        "  --origin O       send \"Origin: O\"\n"
	        "  --subscribe F,G  on the multiplexed /api/v1/ws, subscribe to feeds F and G\n"
	        "                   (sent again after each reconnect)\n"
	        "  --pretty         pretty-print each message\n"
	        "  --data           print only the message's \"data\" member\n"
	        "  --delta          ask for JSON Patch deltas (?delta=json-patch, or in the\n"
	        "                   subscription); each is applied and the whole state printed\n"
	        "  --raw            print delta messages as received, not the whole states\n"
	        "  --count N        exit after N messages\n"
	        "  --timeout S      exit when no message came for S seconds\n"
	        "  --no-reconnect   exit when the connection fails or ends\n"
	        "  --quiet          no connection notes on stderr\n"
	        "  --help           this text\n"
	        "\n"
	        "A lost connection is retried with exponential backoff and full jitter\n"
	        "(up to 1 s, 2 s, 4 s ... 30 s; %d attempts; reset once connected).\n"
	        "A reconnect resumes each topic from the seq, epoch and last event offset\n"
	        "it got: an unchanged topic answers \"resumed\" instead of its snapshot, and\n"
	        "the events published meanwhile are printed, in order, once each.\n"
	        "\n"
	        "Exit status:\n"
	        "  0  --count reached, or stopped by SIGINT/SIGTERM\n"
	        "  1  usage error\n"
	        "  2  could not connect (after the retries), or connection lost with\n"
	        "     --no-reconnect\n"
	        "  3  --timeout: no message within S seconds\n"
	        "  4  refused by the server (HTTP 401, 403 or 404)\n",
	        MAX_ATTEMPTS);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
	    {"token", required_argument, NULL, 't'},
	    {"origin", required_argument, NULL, 'o'},
	    {"subscribe", required_argument, NULL, 's'},
	    {"pretty", no_argument, NULL, 'p'},
	    {"data", no_argument, NULL, 'd'},
	    {"delta", no_argument, NULL, 'D'},
	    {"raw", no_argument, NULL, 'r'},
	    {"count", required_argument, NULL, 'c'},
	    {"timeout", required_argument, NULL, 'T'},
	    {"no-reconnect", no_argument, NULL, 'n'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char *end;
	int ch;

	memset(o, 0, sizeof(*o));
	o->reconnect = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 't':
			o->token = optarg;
			break;
		case 'o':
			o->origin = optarg;
			break;
		case 's':
			o->subscribe = optarg;
			break;
		case 'p':
			o->pretty = 1;
			break;
		case 'd':
			o->data_only = 1;
			break;
		case 'D':
			o->delta = 1;
			break;
		case 'r':
			o->raw = 1;
			break;
		case 'c':
			errno = 0;
			o->count = strtol(optarg, &end, 10);
			if (errno || *end || o->count < 1) {
				fprintf(stderr, "tacws-cat: --count wants a positive integer\n");
				return -EINVAL;
			}
			break;
		case 'T':
			o->timeout_s = strtod(optarg, &end);
			if (*end || !(o->timeout_s > 0) || o->timeout_s > 86400.0 * 365) {
				fprintf(stderr, "tacws-cat: --timeout wants a positive number of "
				                "seconds\n");
				return -EINVAL;
			}
			break;
		case 'n':
			o->reconnect = 0;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_OK);
		default:
			return -EINVAL;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "tacws-cat: expected one ws:// URL\n");
		return -EINVAL;
	}
	o->url = argv[optind];
	return 0;
}

/* Prints one message as asked; a message that is not JSON is printed as is. */
static void print_message(const struct options *o, const char *msg)
{
	if (!o->pretty && !o->data_only) {
		printf("%s\n", msg);
		fflush(stdout);
		return;
	}
	json_object *root = json_tokener_parse(msg);
	json_object *shown = root;
	if (root && o->data_only && !json_object_object_get_ex(root, "data", &shown))
		shown = NULL;
	if (!root || (o->data_only && !json_object_is_type(root, json_type_object))) {
		printf("%s\n", msg);
	} else {
		int flags = JSON_C_TO_STRING_NOSLASHESCAPE |
		            (o->pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
		                       : JSON_C_TO_STRING_PLAIN);
		printf("%s\n", json_object_to_json_string_ext(shown, flags));
	}
	json_object_put(root);
	fflush(stdout);
}

/* Full jitter: a random wait between 0 and the capped exponential step. */
static long backoff_ms(int attempt)
{
	long step = 1000L << (attempt < 6 ? attempt - 1 : 5);
	if (step > BACKOFF_CAP_MS)
		step = BACKOFF_CAP_MS;
	return random() % (step + 1);
}

static void note(const struct options *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void note(const struct options *o, const char *fmt, ...)
{
	va_list ap;
	if (o->quiet)
		return;
	fprintf(stderr, "tacws-cat: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

struct session {
	const struct options *o;
	cat_states *states;
	cat_resume *resume; /* where each topic resumes after a reconnect */
	tacws_wsclient_opts wo;
	const char *path;   /* as given (with ?delta=json-patch when asked) */
	char *resume_path;  /* path plus since, epoch and offset, for the reconnect in progress */
	long received;
	long long deadline; /* for --timeout; 0 without it */
};

static int timed_out(const struct session *s)
{
	return s->deadline && now_ms() >= s->deadline;
}

static int ms_left(const struct session *s, int cap)
{
	if (!s->deadline)
		return cap;
	long long left = s->deadline - now_ms();
	return left < cap ? (int)(left > 0 ? left : 0) : cap;
}

/* Sends {"type":"subscribe","feeds":[...]}: each topic of --subscribe, as an object
 * with "delta" when asked and where it resumes once it holds a state. */
static int send_subscribe(const struct session *s, tacws_wsclient *c)
{
	char *text = cat_resume_subscribe(s->resume, s->o->delta);
	int rc = text ? tacws_wsclient_send(c, text, strlen(text), 0) : -ENOMEM;
	free(text);
	return rc;
}

/* Reads messages until the connection ends. Returns an exit code, or -1 when
 * the connection ended and may be retried. */
static int read_messages(struct session *s, tacws_wsclient *c)
{
	for (;;) {
		char *msg;
		if (stop_requested)
			return EXIT_OK;
		if (timed_out(s))
			return EXIT_TIMEOUT;
		int rc = tacws_wsclient_recv(c, ms_left(s, TICK_MS), &msg, NULL);
		if (rc == -ETIMEDOUT)
			continue;
		if (rc == -ENOMEM)
			return EXIT_CONNECT;
		if (rc) {
			note(s->o, "connection closed (code %d)", tacws_wsclient_close_code(c));
			return -1;
		}
		char *whole = NULL;
		const char *why = NULL;
		int st = s->o->raw ? 0 : cat_states_feed(s->states, msg, &whole, &why);
		if (st == -ENOMEM) {
			free(msg);
			return EXIT_CONNECT;
		}
		if (st == -EINVAL) { /* the server sends a snapshot after a base it cannot serve */
			note(s->o, "delta not applied (%s); waiting for a snapshot", why);
			cat_resume_forget(s->resume, msg);
		} else {
			print_message(s->o, whole ? whole : msg);
			cat_resume_feed(s->resume, msg);
		}
		free(whole);
		free(msg);
		if (s->o->timeout_s > 0)
			s->deadline = now_ms() + (long long)(s->o->timeout_s * 1000);
		if (s->o->count && ++s->received >= s->o->count)
			return EXIT_OK;
	}
}

/* Waits ms, or less when a signal or the --timeout deadline comes first. */
static int pause_ms(const struct session *s, long ms)
{
	long long until = now_ms() + ms;
	while (!stop_requested && !timed_out(s) && now_ms() < until) {
		long left = (long)(until - now_ms());
		struct timespec ts = {0, (left < TICK_MS ? left : TICK_MS) * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (stop_requested)
		return EXIT_OK;
	return timed_out(s) ? EXIT_TIMEOUT : -1;
}

/* Connects in short steps so that signals and --timeout are noticed. On
 * failure *c may still hold the client, to read its HTTP status. */
static int connect_once(struct session *s, tacws_wsclient **c)
{
	int rc = tacws_wsclient_start(NULL, &s->wo, c);
	if (rc)
		return rc;
	long long until = now_ms() + CONNECT_TIMEOUT_MS;
	do {
		rc = tacws_wsclient_wait_open(*c, ms_left(s, TICK_MS));
	} while (rc == -ETIMEDOUT && !stop_requested && !timed_out(s) && now_ms() < until);
	return rc;
}

/* A per-feed socket reconnects from the state it holds:
 * ?since=<seq>&epoch=<epoch>[&offset=<last event>], so an unchanged topic answers
 * "resumed" instead of its snapshot and the events missed are replayed. */
static void resume_from_state(struct session *s)
{
	char query[128];
	free(s->resume_path);
	s->resume_path = NULL;
	s->wo.path = s->path;
	if (s->o->subscribe || cat_resume_query(s->resume, query, sizeof query))
		return;
	if (asprintf(&s->resume_path, "%s%c%s", s->path, strchr(s->path, '?') ? '&' : '?', query) >= 0)
		s->wo.path = s->resume_path;
	else
		s->resume_path = NULL;
}

static int run(struct session *s)
{
	int attempts = 0;
	for (;;) {
		tacws_wsclient *c = NULL;
		resume_from_state(s);
		int rc = connect_once(s, &c);
		int status = c ? tacws_wsclient_http_status(c) : 0;
		if (stop_requested) {
			tacws_wsclient_free(c);
			return EXIT_OK;
		}
		if (rc)
			tacws_wsclient_free(c);
		if (!rc) {
			note(s->o, "connected to %s", s->o->url);
			attempts = 0;
			if (s->o->subscribe && send_subscribe(s, c))
				note(s->o, "cannot send the subscription");
			rc = read_messages(s, c);
			if (rc == EXIT_OK && tacws_wsclient_get_state(c) == TACWS_WSCLIENT_OPEN)
				tacws_wsclient_close(c, 1000, 1000);
			tacws_wsclient_free(c);
			if (rc >= 0)
				return rc;
		} else if (status == 401 || status == 403 || status == 404) {
			note(s->o, "refused by the server: HTTP %d", status);
			return EXIT_REFUSED;
		} else if (timed_out(s)) {
			return EXIT_TIMEOUT;
		} else {
			note(s->o, "cannot connect: %s",
			     status ? "bad HTTP answer" : strerror(-rc));
		}
		if (!s->o->reconnect)
			return EXIT_CONNECT;
		if (++attempts > MAX_ATTEMPTS) {
			note(s->o, "giving up after %d attempts", MAX_ATTEMPTS);
			return EXIT_CONNECT;
		}
		long wait = backoff_ms(attempts);
		note(s->o, "reconnecting in %ld ms", wait);
		rc = pause_ms(s, wait);
		if (rc >= 0)
			return rc;
	}
}

int main(int argc, char **argv)
{
	struct options o;
	if (parse_args(argc, argv, &o)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	struct session s = {.o = &o};
	char *host, *path;
	if (tacws_wsclient_parse_url(o.url, &host, &s.wo.port, &path)) {
		fprintf(stderr, "tacws-cat: not a ws:// URL: %s\n", o.url);
		return EXIT_USAGE;
	}
	s.wo.host = host;
	if (o.delta && !o.subscribe) { /* a per-feed socket asks in its query */
		char *with = NULL;
		if (asprintf(&with, "%s%cdelta=json-patch", path, strchr(path, '?') ? '&' : '?') < 0) {
			free(host);
			free(path);
			return EXIT_CONNECT;
		}
		free(path);
		path = with;
	}
	s.wo.path = s.path = path;
	if (!(s.states = cat_states_new(MAX_TOPICS)) || !(s.resume = cat_resume_new(o.subscribe))) {
		cat_states_free(s.states);
		free(host);
		free(path);
		return EXIT_CONNECT;
	}
	s.wo.bearer_token = o.token;
	s.wo.origin = o.origin;
	if (o.timeout_s > 0)
		s.deadline = now_ms() + (long long)(o.timeout_s * 1000);

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());

	int rc = run(&s);
	free(s.resume_path);
	cat_resume_free(s.resume);
	cat_states_free(s.states);
	free(host);
	free(path);
	return rc;
}
