/*
 * Webhook deliveries. The first byte picks the content type and the event;
 * the signature check sees the input as header then body, split at the first
 * newline, so valid-looking headers are reachable too. The payload then goes
 * through the GitHub event builder the workflows feed uses.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "github.h"
#include "input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const events[] = {"issues", "issue_comment", "ping", "push"};
	if (size < 1)
		return 0;
	const char *ct = data[0] & 1 ? "application/x-www-form-urlencoded" : "application/json";
	const char *event = events[(data[0] >> 1) & 3];
	const char *body = (const char *)data + 1;
	size_t len = size - 1;

	const char *nl = memchr(body, '\n', len);
	if (nl && nl - body < 100) {
		char header[100];
		memcpy(header, body, (size_t)(nl - body));
		header[nl - body] = '\0';
		tacws_hmac_sha256_ok("fuzz-secret", "sha256=", header, nl + 1,
		                     len - (size_t)(nl - body) - 1);
	}
	json_object *payload = NULL, *out = NULL;
	char err[128];
	if (tacws_webhook_event_ok(event) &&
	    !tacws_webhook_payload_parse(ct, body, len, &payload, err, sizeof err)) {
		if (!tacws_github_event_data(NULL, event, payload, &out))
			json_object_put(out);
		json_object_put(payload);
	}

	/* the adw_..._iso scanner on raw text */
	char *text = malloc(len + 1);
	if (text) {
		memcpy(text, body, len);
		text[len] = '\0';
		char wf[80];
		tacws_adw_workflow_find(text, wf, sizeof wf);
		free(text);
	}
	return 0;
}
