#include "github.h"

#include <errno.h>
#include <string.h>

static int word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

int tacws_adw_workflow_find(const char *text, char *out, size_t outlen)
{
	for (const char *p = text ? strstr(text, "adw_") : NULL; p; p = strstr(p + 1, "adw_")) {
		if (p > text && word_char(p[-1]))
			continue;
		size_t n = 4;
		while (n <= 64 && ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= '0' && p[n] <= '9') ||
		                   p[n] == '_'))
			n++;
		if (n > 64 || word_char(p[n]) || n < 9 || memcmp(p + n - 4, "_iso", 4))
			continue;
		if (n >= outlen)
			return -ENOENT;
		memcpy(out, p, n);
		out[n] = '\0';
		return 0;
	}
	return -ENOENT;
}

static json_object *member(json_object *o, const char *a, const char *b)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(o, a, &v))
		return NULL;
	if (b &&
	    (!json_object_is_type(v, json_type_object) || !json_object_object_get_ex(v, b, &v)))
		return NULL;
	return v;
}

static json_object *string_copy(json_object *v)
{
	return json_object_is_type(v, json_type_string)
	           ? json_object_new_string(json_object_get_string(v))
	           : NULL;
}

/* The workflow named in a comment, else in the issue's body. */
static json_object *workflow_named(json_object *payload)
{
	char wf[80];
	json_object *comment = member(payload, "comment", "body");
	json_object *issue = member(payload, "issue", "body");
	if ((json_object_is_type(comment, json_type_string) &&
	     !tacws_adw_workflow_find(json_object_get_string(comment), wf, sizeof wf)) ||
	    (json_object_is_type(issue, json_type_string) &&
	     !tacws_adw_workflow_find(json_object_get_string(issue), wf, sizeof wf)))
		return json_object_new_string(wf);
	return NULL;
}

int tacws_github_event_data(void *feed_arg, const char *event, json_object *payload,
                            json_object **data)
{
	(void)feed_arg;
	json_object *o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "event", json_object_new_string(event));
	json_object_object_add(o, "action", string_copy(member(payload, "action", NULL)));
	json_object *num = member(payload, "issue", "number");
	json_object_object_add(o, "issue_number",
	                       json_object_is_type(num, json_type_int)
	                           ? json_object_new_int64(json_object_get_int64(num))
	                           : NULL);
	json_object_object_add(o, "repository",
	                       string_copy(member(payload, "repository", "full_name")));
	json_object_object_add(o, "sender", string_copy(member(payload, "sender", "login")));
	json_object_object_add(o, "adw_workflow", workflow_named(payload));
	*data = o;
	return 0;
}
