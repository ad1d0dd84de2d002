/*
 * TAC WebBuilder's database at three migration levels, for the contract tests
 * of the database feeds. Written here from the facts of TAC's schema.py and
 * its migrations (table and column names, types), with a few rows in each
 * table the feeds read.
 */
#ifndef TACWS_TAC_DB_H
#define TACWS_TAC_DB_H

#include "dbfix.h"

typedef enum tac_db_level {
	/* SQLite, each table as TAC first created it: workflow_history from
	 * schema.py, phase_queue from 007 (parent_issue, no priority), queue_config
	 * from 009, planned_features from 017; no later migration. */
	TAC_DB_SQLITE_OLDEST,
	/* SQLite after every SQLite migration (002-017). */
	TAC_DB_SQLITE_LATEST,
	/* PostgreSQL after every PostgreSQL migration (002-021): JSONB, TIMESTAMP,
	 * NUMERIC and BOOLEAN columns, issue_class and branch_name (020),
	 * workflow_type (021). */
	TAC_DB_PG_LATEST,
} tac_db_level;

/* Creates the tables of level in the empty database f and fills them.
 * Returns 0, or -1 after printing why. */
int tac_db_create(dbfix *f, tac_db_level level);

/* Replaces phase_queue by the table TAC's server creates at start when there is
 * none (services/phase_queue_schema.py: feature_id, depends_on_phases,
 * current_phase), with rows. Returns 0, or -1 after printing why. */
int tac_db_runtime_queue(dbfix *f);

const char *tac_db_level_name(tac_db_level level);

#endif
