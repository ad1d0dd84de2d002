#include "tac_db.h"

/* workflow_history as schema.py creates it on SQLite. */
#define HISTORY_SCHEMA_PY                                                                          \
	"id INTEGER PRIMARY KEY AUTOINCREMENT, adw_id TEXT NOT NULL UNIQUE, "                      \
	"issue_number INTEGER, nl_input TEXT, github_url TEXT, gh_issue_state TEXT, "              \
	"workflow_template TEXT, model_used TEXT, status TEXT NOT NULL CHECK(status IN "           \
	"('pending', 'running', 'completed', 'failed')), start_time TEXT, end_time TEXT, "         \
	"duration_seconds INTEGER, error_message TEXT, phase_count INTEGER, "                      \
	"current_phase TEXT, success_rate REAL, retry_count INTEGER DEFAULT 0, "                   \
	"worktree_path TEXT, backend_port INTEGER, frontend_port INTEGER, "                        \
	"concurrent_workflows INTEGER DEFAULT 0, input_tokens INTEGER DEFAULT 0, "                 \
	"output_tokens INTEGER DEFAULT 0, cached_tokens INTEGER DEFAULT 0, "                       \
	"cache_hit_tokens INTEGER DEFAULT 0, cache_miss_tokens INTEGER DEFAULT 0, "                \
	"total_tokens INTEGER DEFAULT 0, cache_efficiency_percent REAL DEFAULT 0.0, "              \
	"estimated_cost_total REAL DEFAULT 0.0, actual_cost_total REAL DEFAULT 0.0, "              \
	"estimated_cost_per_step REAL DEFAULT 0.0, actual_cost_per_step REAL DEFAULT 0.0, "        \
	"cost_per_token REAL DEFAULT 0.0, structured_input TEXT, cost_breakdown TEXT, "            \
	"token_breakdown TEXT, worktree_reused INTEGER DEFAULT 0, "                                \
	"steps_completed INTEGER DEFAULT 0, steps_total INTEGER DEFAULT 0, "                       \
	"hour_of_day INTEGER DEFAULT -1, day_of_week INTEGER DEFAULT -1, "                         \
	"nl_input_clarity_score REAL DEFAULT 0.0, cost_efficiency_score REAL DEFAULT 0.0, "        \
	"performance_score REAL DEFAULT 0.0, quality_score REAL DEFAULT 0.0, "                     \
	"scoring_version TEXT DEFAULT '1.0', anomaly_flags TEXT, "                                 \
	"optimization_recommendations TEXT, "                                                      \
	"created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, "                                     \
	"updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP"

/* What SQLite migrations 002, 003 and 004 add to it (006's scoring_version and
 * 003's scores and flags are already there). */
#define HISTORY_SQLITE_MIGRATIONS                                                                  \
	", phase_durations TEXT, idle_time_seconds INTEGER, bottleneck_phase TEXT, "               \
	"error_category TEXT, retry_reasons TEXT, error_phase_distribution TEXT, "                 \
	"recovery_time_seconds INTEGER, complexity_estimated TEXT, complexity_actual TEXT, "       \
	"nl_input_word_count INTEGER, structured_input_completeness_percent REAL, "                \
	"pr_merged INTEGER DEFAULT 0, time_to_merge_hours REAL, review_cycles INTEGER, "           \
	"ci_test_pass_rate REAL, similar_workflow_ids TEXT, workflow_id TEXT, "                    \
	"workflow_type TEXT DEFAULT 'planning', parent_workflow_id TEXT, input_hash TEXT, "        \
	"output_summary TEXT"

/* 007's phase_queue and 009's queue_config. */
#define QUEUE_007                                                                                  \
	"queue_id TEXT PRIMARY KEY, parent_issue INTEGER NOT NULL, "                               \
	"phase_number INTEGER NOT NULL, issue_number INTEGER, status TEXT CHECK(status IN "        \
	"('queued', 'ready', 'running', 'completed', 'blocked', 'failed')) DEFAULT "               \
	"'queued', depends_on_phase INTEGER, phase_data TEXT, "                                    \
	"created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, "                                         \
	"updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, error_message TEXT"
#define QUEUE_CONFIG_009                                                                           \
	"CREATE TABLE queue_config (config_key TEXT PRIMARY KEY, config_value TEXT NOT NULL, "     \
	"updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP);"

/* 017's planned_features on SQLite. */
#define PLANNED_017_SQLITE                                                                         \
	"CREATE TABLE planned_features (id INTEGER PRIMARY KEY AUTOINCREMENT, "                    \
	"item_type TEXT NOT NULL CHECK(item_type IN ('session', 'feature', 'bug', "                \
	"'enhancement')), title TEXT NOT NULL, description TEXT, status TEXT NOT NULL "            \
	"DEFAULT 'planned' CHECK(status IN ('planned', 'in_progress', 'completed', "               \
	"'cancelled')), priority TEXT CHECK(priority IN ('high', 'medium', 'low')), "              \
	"estimated_hours REAL, actual_hours REAL, session_number INTEGER, "                        \
	"github_issue_number INTEGER, parent_id INTEGER, tags TEXT DEFAULT '[]', "                 \
	"completion_notes TEXT, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, "                  \
	"updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, started_at TIMESTAMP, "                   \
	"completed_at TIMESTAMP);"

/* Rows both SQLite levels take (only columns every level has). */
#define SQLITE_ROWS                                                                                \
	"INSERT INTO workflow_history (adw_id, issue_number, nl_input, workflow_template, "        \
	"model_used, status, duration_seconds, actual_cost_total, total_tokens, "                  \
	"cache_efficiency_percent, worktree_reused, structured_input, cost_breakdown, "            \
	"token_breakdown, anomaly_flags, created_at, updated_at) VALUES "                          \
	"('a1b2c3d4', 41, 'Add login', 'adw_sdlc_iso', 'sonnet', 'completed', 600, 1.5, "          \
	"12000, 40.5, 1, '{\"classification\":\"feature\"}', "                                     \
	"'{\"estimated_total\":2,\"actual_total\":1.5,\"by_phase\":{\"plan\":0.5}}', "             \
	"'{\"input_tokens\":10000,\"output_tokens\":2000}', '[\"slow build\"]', "                  \
	"'2026-11-20 10:00:00', '2026-11-20 10:10:00'), "                                          \
	"('e5f6a7b8', NULL, NULL, NULL, NULL, 'failed', NULL, 0, 0, 0, 0, 'not json', NULL, "      \
	"NULL, NULL, '2026-11-21 09:00:00', '2026-11-21 09:00:00');"                               \
	"INSERT INTO queue_config (config_key, config_value) VALUES ('queue_paused', 'true');"     \
	"INSERT INTO planned_features (item_type, title, status, priority, estimated_hours, "      \
	"tags, created_at) VALUES ('feature', 'Dark mode', 'in_progress', 'high', 3.5, "           \
	"'[\"ui\"]', '2026-11-01 08:00:00'), ('session', 'Session 12', 'completed', NULL, "        \
	"NULL, NULL, '2026-11-02 08:00:00');"

static const char *const sqlite_oldest =
    "CREATE TABLE workflow_history (" HISTORY_SCHEMA_PY ");"
    "CREATE TABLE phase_queue (" QUEUE_007 ");" QUEUE_CONFIG_009 PLANNED_017_SQLITE SQLITE_ROWS
    "INSERT INTO phase_queue (queue_id, parent_issue, phase_number, issue_number, status, "
    "depends_on_phase, phase_data) VALUES ('q-2', 41, 2, NULL, 'queued', 1, "
    "'{\"title\":\"Build\",\"content\":\"Build it\"}'), ('q-1', 41, 1, 42, 'running', NULL, "
    "NULL);";

static const char *const sqlite_latest =
    "CREATE TABLE workflow_history (" HISTORY_SCHEMA_PY HISTORY_SQLITE_MIGRATIONS ");"
    "CREATE TABLE phase_queue (" QUEUE_007 ", priority INTEGER DEFAULT 50, "
    "queue_position INTEGER, ready_timestamp TEXT, started_timestamp TEXT, adw_id TEXT);" /* 011,
                                                                                             012 */
    QUEUE_CONFIG_009 PLANNED_017_SQLITE SQLITE_ROWS
    "UPDATE workflow_history SET retry_reasons = '[\"flaky test\"]', "
    "phase_durations = '{\"plan\":60,\"build\":540}', similar_workflow_ids = '[\"e5f6a7b8\"]' "
    "WHERE adw_id = 'a1b2c3d4';"
    "INSERT INTO phase_queue (queue_id, parent_issue, phase_number, issue_number, status, "
    "depends_on_phase, phase_data, priority, queue_position, ready_timestamp, adw_id) VALUES "
    "('q-2', 41, 2, NULL, 'queued', 1, '{\"title\":\"Build\",\"content\":\"Build it\"}', "
    "20, 2, NULL, NULL), ('q-1', 41, 1, 42, 'running', NULL, NULL, 20, 1, "
    "'2026-11-20 10:00:00', 'a1b2c3d4');";

/* PostgreSQL's workflow_history after 002-020, phase_queue after 007, 011, 012,
 * planned_features after 017 and 021 (only the tables the feeds read). */
static const char *const pg_latest =
    "CREATE TABLE workflow_history (id BIGSERIAL PRIMARY KEY, adw_id VARCHAR(255) NOT NULL "
    "UNIQUE, issue_number INTEGER, nl_input TEXT, github_url TEXT, gh_issue_state "
    "VARCHAR(50), workflow_template VARCHAR(255), model_used VARCHAR(255), status "
    "VARCHAR(50) NOT NULL, start_time TIMESTAMP, end_time TIMESTAMP, duration_seconds "
    "INTEGER, error_message TEXT, phase_count INTEGER, current_phase VARCHAR(255), "
    "success_rate DOUBLE PRECISION, retry_count INTEGER DEFAULT 0, worktree_path TEXT, "
    "backend_port INTEGER, frontend_port INTEGER, concurrent_workflows INTEGER DEFAULT 0, "
    "input_tokens INTEGER DEFAULT 0, output_tokens INTEGER DEFAULT 0, cached_tokens INTEGER "
    "DEFAULT 0, cache_hit_tokens INTEGER DEFAULT 0, cache_miss_tokens INTEGER DEFAULT 0, "
    "total_tokens INTEGER DEFAULT 0, cache_efficiency_percent DOUBLE PRECISION DEFAULT 0.0, "
    "estimated_cost_total NUMERIC(10, 4) DEFAULT 0.0, actual_cost_total NUMERIC(10, 4) "
    "DEFAULT 0.0, estimated_cost_per_step NUMERIC(10, 4) DEFAULT 0.0, actual_cost_per_step "
    "NUMERIC(10, 4) DEFAULT 0.0, cost_per_token NUMERIC(10, 6) DEFAULT 0.0, structured_input "
    "JSONB, cost_breakdown JSONB, token_breakdown JSONB, worktree_reused BOOLEAN DEFAULT "
    "FALSE, steps_completed INTEGER DEFAULT 0, steps_total INTEGER DEFAULT 0, hour_of_day "
    "INTEGER DEFAULT -1, day_of_week INTEGER DEFAULT -1, nl_input_clarity_score DOUBLE "
    "PRECISION DEFAULT 0.0, cost_efficiency_score DOUBLE PRECISION DEFAULT 0.0, "
    "performance_score DOUBLE PRECISION DEFAULT 0.0, quality_score DOUBLE PRECISION DEFAULT "
    "0.0, scoring_version VARCHAR(50) DEFAULT '1.0', anomaly_flags JSONB, "
    "optimization_recommendations JSONB, phase_durations JSONB, idle_time_seconds INTEGER, "
    "bottleneck_phase VARCHAR(255), error_category VARCHAR(255), retry_reasons JSONB, "
    "error_phase_distribution JSONB, recovery_time_seconds INTEGER, complexity_estimated "
    "VARCHAR(100), complexity_actual VARCHAR(100), nl_input_word_count INTEGER, "
    "structured_input_completeness_percent REAL, pr_merged BOOLEAN DEFAULT false, "
    "time_to_merge_hours REAL, review_cycles INTEGER, ci_test_pass_rate REAL, "
    "similar_workflow_ids JSONB, workflow_id VARCHAR(255), workflow_type VARCHAR(100) DEFAULT "
    "'planning', parent_workflow_id VARCHAR(255), input_hash VARCHAR(255), output_summary "
    "TEXT, phase_number INTEGER, is_multi_phase BOOLEAN DEFAULT false, created_at TIMESTAMP "
    "NOT NULL DEFAULT CURRENT_TIMESTAMP, updated_at TIMESTAMP NOT NULL DEFAULT "
    "CURRENT_TIMESTAMP, branch_name TEXT, plan_file TEXT, issue_class TEXT);"
    "CREATE TABLE phase_queue (queue_id TEXT PRIMARY KEY, parent_issue INTEGER NOT NULL, "
    "phase_number INTEGER NOT NULL, issue_number INTEGER, status TEXT DEFAULT 'queued', "
    "depends_on_phase INTEGER, phase_data TEXT, created_at TIMESTAMP DEFAULT "
    "CURRENT_TIMESTAMP, updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, error_message TEXT, "
    "priority INTEGER DEFAULT 50, queue_position INTEGER, ready_timestamp TIMESTAMP, "
    "started_timestamp TIMESTAMP, adw_id TEXT);"
    "CREATE TABLE queue_config (config_key TEXT PRIMARY KEY, config_value TEXT NOT NULL, "
    "updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP);"
    "CREATE TABLE planned_features (id SERIAL PRIMARY KEY, item_type TEXT NOT NULL, title "
    "TEXT NOT NULL, description TEXT, status TEXT NOT NULL, priority TEXT, estimated_hours "
    "REAL, actual_hours REAL, session_number INTEGER, github_issue_number INTEGER, parent_id "
    "INTEGER REFERENCES planned_features(id) ON DELETE CASCADE, tags JSONB, completion_notes "
    "TEXT, created_at TIMESTAMP DEFAULT NOW(), updated_at TIMESTAMP DEFAULT NOW(), "
    "started_at TIMESTAMP, completed_at TIMESTAMP, workflow_type TEXT DEFAULT "
    "'adw_sdlc_complete_iso');"
    "INSERT INTO workflow_history (adw_id, issue_number, nl_input, workflow_template, "
    "model_used, status, start_time, duration_seconds, actual_cost_total, total_tokens, "
    "cache_efficiency_percent, worktree_reused, structured_input, cost_breakdown, "
    "token_breakdown, anomaly_flags, retry_reasons, phase_durations, branch_name, "
    "issue_class, created_at, updated_at) VALUES ('a1b2c3d4', 41, 'Add login', "
    "'adw_sdlc_iso', 'sonnet', 'completed', '2026-11-20 10:00:00.25', 600, 1.5, 12000, 40.5, "
    "true, '{\"classification\":\"feature\"}', '{\"estimated_total\":2,\"actual_total\":1.5,"
    "\"by_phase\":{\"plan\":0.5}}', '{\"input_tokens\":10000,\"output_tokens\":2000}', "
    "'[\"slow build\"]', '[\"flaky test\"]', '{\"plan\":60,\"build\":540}', 'feat-41', "
    "'/feature', '2026-11-20 10:00:00', '2026-11-20 10:10:00'), ('e5f6a7b8', NULL, NULL, "
    "NULL, NULL, 'failed', NULL, NULL, 0, 0, 0, false, NULL, NULL, NULL, NULL, NULL, NULL, "
    "NULL, NULL, '2026-11-21 09:00:00', '2026-11-21 09:00:00');"
    "INSERT INTO queue_config (config_key, config_value) VALUES ('queue_paused', 'true');"
    "INSERT INTO phase_queue (queue_id, parent_issue, phase_number, issue_number, status, "
    "depends_on_phase, phase_data, priority, queue_position, ready_timestamp, adw_id, "
    "created_at, updated_at) VALUES ('q-2', 41, 2, NULL, 'queued', 1, "
    "'{\"title\":\"Build\",\"content\":\"Build it\"}', 20, 2, NULL, NULL, "
    "'2026-11-20 10:00:00', '2026-11-20 10:00:00'), ('q-1', 41, 1, 42, 'running', NULL, "
    "NULL, 20, 1, '2026-11-20 10:00:00', 'a1b2c3d4', '2026-11-20 10:00:00', "
    "'2026-11-20 10:00:00');"
    "INSERT INTO planned_features (item_type, title, status, priority, estimated_hours, "
    "tags, created_at, workflow_type) VALUES ('feature', 'Dark mode', 'in_progress', "
    "'high', 3.5, '[\"ui\"]', '2026-11-01 08:00:00', 'adw_sdlc_from_build_iso'), "
    "('session', 'Session 12', 'completed', NULL, NULL, NULL, '2026-11-02 08:00:00', "
    "DEFAULT);";

int tac_db_runtime_queue(dbfix *f)
{
	return dbfix_execf(
	    f,
	    "DROP TABLE phase_queue; CREATE TABLE phase_queue (queue_id TEXT PRIMARY KEY, "
	    "feature_id INTEGER, phase_number INTEGER NOT NULL, issue_number INTEGER, status TEXT "
	    "DEFAULT 'queued', depends_on_phases %s, phase_data %s, created_at TIMESTAMP DEFAULT "
	    "CURRENT_TIMESTAMP, updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, error_message "
	    "TEXT, "
	    "adw_id TEXT, pr_number INTEGER, priority INTEGER DEFAULT 50, queue_position INTEGER, "
	    "ready_timestamp TIMESTAMP, started_timestamp TIMESTAMP, current_phase TEXT DEFAULT "
	    "'init');"
	    "INSERT INTO phase_queue (queue_id, feature_id, phase_number, issue_number, status, "
	    "depends_on_phases, phase_data, error_message, adw_id, pr_number, current_phase, "
	    "created_at, updated_at) VALUES ('f7-2', 7, 2, 71, 'blocked', '[1]', "
	    "'{\"title\":\"Test\",\"content\":\"Run tests\",\"externalDocs\":[\"a.md\"]}', "
	    "'waiting', NULL, NULL, 'test', '2026-11-20 10:00:00', '2026-11-20 10:00:00'), "
	    "('f7-1', 7, 1, 70, 'completed', '[]', NULL, NULL, 'a1b2c3d4', 9, 'ship', "
	    "'2026-11-20 09:00:00', '2026-11-20 09:30:00');",
	    f->pg ? "JSONB DEFAULT '[]'::jsonb" : "TEXT DEFAULT '[]'", f->pg ? "JSONB" : "TEXT");
}

const char *tac_db_level_name(tac_db_level level)
{
	switch (level) {
	case TAC_DB_SQLITE_OLDEST:
		return "sqlite, oldest schema";
	case TAC_DB_SQLITE_LATEST:
		return "sqlite, every migration";
	default:
		return "postgresql, every migration";
	}
}

int tac_db_create(dbfix *f, tac_db_level level)
{
	static const char *const sql[] = {sqlite_oldest, sqlite_latest, pg_latest};
	return dbfix_exec(f, sql[level]);
}
