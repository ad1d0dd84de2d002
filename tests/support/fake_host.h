/*
 * A fake tacws host for plugin unit tests: loads a plugin .so the way the
 * server does, hands it an in-memory configuration, records what it
 * registers, publishes and asks to poll, and runs its snapshots on demand.
 * One plugin at a time; not for use from several test threads at once,
 * though the plugin may call the host from its own threads.
 */
#ifndef TACWS_FAKE_HOST_H
#define TACWS_FAKE_HOST_H

#include <tacws/plugin.h>

/* Sets [section] key = value before fake_host_load (copies the strings). */
void fake_host_config_set(const char *section, const char *key, const char *value);

/* dlopens path, checks the descriptor and runs init. Feeds are registered
 * only when their [feed.<endpoint base>] section exists with enabled != false,
 * like the real host. Returns init's result, or -ENOENT/-EINVAL when the
 * file or descriptor is bad. */
int fake_host_load(const char *so_path);

/* Runs fini, dlcloses and forgets config, feeds, publishes and poll calls. */
void fake_host_unload(void);

/* The registered feed with this base endpoint ("adw-state"), or NULL. */
const tacws_feed_desc *fake_host_feed(const char *endpoint_base);
int fake_host_feed_count(void);

/* Runs the feed's snapshot. On success returns 0 and *data (caller puts it).
 * On failure returns the snapshot's error and copies its reason to err. */
int fake_host_snapshot(const char *endpoint_base, const char *param, json_object **data,
		       char *err, size_t errlen);

/* Same, returning the payload serialized (plain, no spaces); caller frees.
 * NULL when the snapshot failed without a payload. */
char *fake_host_snapshot_string(const char *endpoint_base, const char *param);

/* Counters of host calls since load. poll_now counts per base endpoint
 * (NULL = total); waits up to timeout_ms for the count to reach at least
 * want, and returns the count seen. */
int fake_host_poll_count(const char *endpoint_base);
int fake_host_wait_polls(const char *endpoint_base, int want, int timeout_ms);

/* The last event published (serialized "data" and its type), or NULL. */
const char *fake_host_last_publish_type(void);
const char *fake_host_last_publish_data(void);
int fake_host_publish_count(void);

#endif
