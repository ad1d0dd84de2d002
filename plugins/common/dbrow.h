/*
 * Rows shaped the way TAC WebBuilder's backend model shapes them, whatever
 * migration level the table is at. A model lists the fields the backend
 * always sends, with their type and the value it sends when the column is
 * missing; a row read with SELECT * becomes an object holding those fields
 * in order, then every other column the table has, as read.
 */
#ifndef TACWS_DBROW_H
#define TACWS_DBROW_H

#include <json-c/json.h>
#include <stdbool.h>

typedef enum tacws_field_type {
	TACWS_FIELD_ANY = 0, /* as read */
	TACWS_FIELD_INT,     /* whole numbers and numeric text; booleans as 0/1 */
	TACWS_FIELD_FLOAT,   /* any number or numeric text, sent as a JSON real */
	TACWS_FIELD_BOOL,    /* booleans, and SQLite's 0/1 */
	TACWS_FIELD_TEXT,    /* strings (timestamps arrive as strings from tacws_db_query) */
	TACWS_FIELD_OBJECT,  /* JSON text or a json/jsonb value that is an object */
	TACWS_FIELD_ARRAY,   /* the same, an array */
} tacws_field_type;

typedef struct tacws_db_field {
	const char *name;
	tacws_field_type type;
	/* JSON text sent when the column is missing, or its value cannot be read as
	 * type (bad JSON, a string in a number column); NULL sends null. */
	const char *fallback;
	/* The model field is not optional: a NULL value also gets the fallback. */
	bool not_null;
	/* OBJECT/ARRAY: text that is not JSON of the type gives null, not the fallback
	 * (which stays for a missing, NULL or empty value). */
	bool bad_is_null;
	/* Not in the backend's model: omitted when the column is missing. */
	bool omit_missing;
	/* TACWS_FIELD_OBJECT only: the value is itself shaped by this model, and
	 * keys outside it are dropped (a nested Pydantic model). */
	const struct tacws_db_field *model;
} tacws_db_field;

/* A new object: the fields of model (ended by a field with a NULL name) in
 * order, then, when keep_other, every other key of row as it is. row is not
 * changed. */
json_object *tacws_db_row_shape(json_object *row, const tacws_db_field *model, bool keep_other);

/* Replaces each row of rows (an array of objects) by its shape, keeping the
 * other columns. */
void tacws_db_rows_shape(json_object *rows, const tacws_db_field *model);

/* Counts from a GROUP BY, as the backend's {value: count} dictionaries: each row
 * of rows has "dim" (a key of into, whose object it fills), "k" (the value; NULL
 * is written "null", as Python writes a None key) and "n". Keys are added in
 * byte order, so the same data gives the same text on both engines. Sorts rows;
 * a dim missing from into is created. */
void tacws_db_group_counts(json_object *rows, json_object *into);

#endif
