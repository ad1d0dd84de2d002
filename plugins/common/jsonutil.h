/* JSON and time helpers shared by the bundled plugins. */
#ifndef TACWS_JSONUTIL_H
#define TACWS_JSONUTIL_H

#include <json-c/json.h>
#include <pthread.h>
#include <stddef.h>
#include <time.h>

/* Parses the JSON file at path into *out (caller puts it). Returns 0,
 * -ENOENT when the file is missing, -EINVAL when it is not valid JSON
 * (half-written), or another -errno; err gets a one-line reason. */
int tacws_json_read_file(const char *path, json_object **out, char *err, size_t errlen);

/* Writes t (UTC, with milliseconds) as "2026-11-26T10:31:00.512Z" into buf
 * (at least 25 bytes). */
void tacws_iso8601(const struct timespec *t, char *buf, size_t len);

/* Milliseconds on a monotonic clock, for deadlines. */
long long tacws_now_ms(void);

/*
 * The time a payload last changed, for payloads whose consumers want a
 * "last_updated" or "timestamp": a poll time would change every payload and
 * make every poll a broadcast. One per feed (or topic); thread-safe.
 */
typedef struct tacws_change_stamp {
	pthread_mutex_t lock;
	char *last;   /* the payload at the last call, serialized */
	char iso[48]; /* when it last differed */
} tacws_change_stamp;
#define TACWS_CHANGE_STAMP_INIT {.lock = PTHREAD_MUTEX_INITIALIZER}

/* Compares body with the payload of the previous call and writes into out
 * (at least 25 bytes) the time of the last difference: now when body differs
 * (or on the first call), else the time kept from before. */
void tacws_change_stamp_get(tacws_change_stamp *s, json_object *body, char *out, size_t len);

/* Forgets the kept payload (fini); the stamp can be used again. */
void tacws_change_stamp_reset(tacws_change_stamp *s);

/* Parses an ISO 8601 time ("2026-11-26T10:31:00", optional fraction and
 * "Z" or "+hh:mm" offset; a time without offset is taken as UTC). Returns 0
 * and seconds since the epoch in *out, or -EINVAL. */
int tacws_parse_time(const char *text, double *out);

/* A new json string, or json null when s is NULL. */
json_object *tacws_json_string_or_null(const char *s);

/* obj[key] as a string when it is one, else NULL. The string belongs to obj. */
const char *tacws_json_get_string(json_object *obj, const char *key);

/* A json double written with at most `decimals` decimals ("38.9", "0.3",
 * "100.0") rather than json-c's 17 significant digits, so sums of costs and
 * percentages stay readable and byte-stable. NULL (json null) when v is not
 * finite or on ENOMEM. */
json_object *tacws_json_new_double_rounded(double v, int decimals);

#endif
