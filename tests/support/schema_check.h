/*
 * A small JSON Schema checker for the contract tests (tests/contract): the
 * payload a plugin sends is checked against a schema written from TAC
 * WebBuilder's types and backend models.
 *
 * Supported keywords, each with JSON Schema's meaning: type (a name or a list
 * of names: object, array, string, integer, number, boolean, null), properties,
 * required, additionalProperties (false or a schema), items, minItems, enum,
 * minimum, maximum. Unknown keywords are an error, so a typo in a schema
 * cannot make a check pass.
 */
#ifndef TACWS_SCHEMA_CHECK_H
#define TACWS_SCHEMA_CHECK_H

#include <json-c/json.h>
#include <stddef.h>

/* Checks value against schema. Returns 0 when it conforms; else -1 with the
 * path of the first mismatch and why in err ("$.workflows[0].adw_id: want
 * string, got null"). */
int schema_check(json_object *schema, json_object *value, char *err, size_t errlen);

/* Reads the schema file at path and checks the serialized payload against it.
 * Returns 0, or -1 with the reason in err (also for an unreadable file). */
int schema_check_file(const char *path, const char *payload_json, char *err, size_t errlen);

#endif
