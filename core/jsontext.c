#include "jsontext.h"

#include <stdlib.h>
#include <string.h>

char *tacws_json_text(json_object *o)
{
	const char *s = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE)
			  : NULL;
	char *text = s ? strdup(s) : NULL;
	json_object_put(o);
	return text;
}

char *tacws_json_error(const char *message)
{
	json_object *o = json_object_new_object();
	if (o)
		json_object_object_add(o, "error", json_object_new_string(message));
	return tacws_json_text(o);
}
