/* JSON as tacws writes it in HTTP bodies: plain, '/' unescaped. Any thread. */
#ifndef TACWS_JSONTEXT_H
#define TACWS_JSONTEXT_H

#include <json-c/json.h>

/* o as text, malloc'd (NULL when out of memory); takes o. */
char *tacws_json_text(json_object *o);

/* {"error": message} as text, malloc'd (NULL when out of memory). */
char *tacws_json_error(const char *message);

#endif
