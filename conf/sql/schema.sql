-- TAC WebBuilder tables read by the tacws queue, history, planned_features and adw_monitor
-- plugins.
--
-- Portable: this file runs unchanged on SQLite (3.8+) and PostgreSQL (9.5+):
--   sqlite3 db/database.db < conf/sql/schema.sql
--   psql -d tacws -f conf/sql/schema.sql
--
-- Conventions, chosen so both engines hand the plugins the same values:
--  - Timestamps are TEXT in ISO 8601 UTC, "2026-11-26T10:31:00Z" (sortable as text).
--  - JSON columns are TEXT holding JSON (depends_on_phases: array, phase_data: object).
--  - Money and durations are DOUBLE PRECISION (REAL on SQLite), counts INTEGER.
--  - Flags are TEXT 'true'/'false'.
--  - Integer ids: SQLite assigns them when omitted (INTEGER PRIMARY KEY); on
--    PostgreSQL the writer gives them (e.g. max(id)+1), as the demo driver does.
--  - Cost: workflow_history.actual_cost_total is "the" cost (analytics avg_cost and
--    total_cost); estimated_cost_total is the planner's estimate, informational.

CREATE TABLE IF NOT EXISTS phase_queue (
	queue_id TEXT PRIMARY KEY,
	feature_id INTEGER NOT NULL,
	phase_number INTEGER NOT NULL,
	issue_number INTEGER,
	status TEXT NOT NULL DEFAULT 'queued', -- queued|ready|running|completed|blocked|failed
	current_phase TEXT,
	depends_on_phases TEXT, -- JSON array of phase numbers, e.g. "[1,2]"
	phase_data TEXT, -- JSON object
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	error_message TEXT,
	adw_id TEXT,
	pr_number INTEGER,
	priority INTEGER NOT NULL DEFAULT 50,
	queue_position INTEGER,
	ready_timestamp TEXT,
	started_timestamp TEXT
);
CREATE INDEX IF NOT EXISTS idx_phase_queue_order ON phase_queue (feature_id, phase_number);
CREATE INDEX IF NOT EXISTS idx_phase_queue_status ON phase_queue (status);

CREATE TABLE IF NOT EXISTS queue_config (
	config_key TEXT PRIMARY KEY, -- 'queue_paused'
	config_value TEXT NOT NULL, -- 'true' | 'false'
	updated_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS workflow_history (
	id INTEGER PRIMARY KEY,
	adw_id TEXT NOT NULL UNIQUE,
	issue_number INTEGER,
	issue_class TEXT, -- /feature | /bug | /chore | /patch
	nl_input TEXT,
	github_url TEXT,
	branch_name TEXT,
	worktree_path TEXT,
	workflow_template TEXT,
	model_used TEXT,
	status TEXT NOT NULL, -- pending|running|completed|failed
	start_time TEXT,
	end_time TEXT,
	duration_seconds DOUBLE PRECISION,
	error_message TEXT,
	phase_count INTEGER,
	current_phase TEXT,
	estimated_cost_total DOUBLE PRECISION,
	actual_cost_total DOUBLE PRECISION,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_workflow_history_created ON workflow_history (created_at, id);

CREATE TABLE IF NOT EXISTS task_logs (
	id INTEGER PRIMARY KEY,
	adw_id TEXT NOT NULL,
	issue_number INTEGER,
	workflow_template TEXT,
	phase_name TEXT NOT NULL, -- plan|validate|build|lint|test|review|document|ship|cleanup
	phase_number INTEGER,
	phase_status TEXT NOT NULL, -- started|completed|failed|skipped
	log_message TEXT,
	error_message TEXT,
	started_at TEXT,
	completed_at TEXT,
	duration_seconds DOUBLE PRECISION,
	tokens_used INTEGER,
	cost_usd DOUBLE PRECISION,
	created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_task_logs_adw ON task_logs (adw_id, created_at);

-- Planned features and sessions (TAC's migrations 017 and 021).
CREATE TABLE IF NOT EXISTS planned_features (
	id INTEGER PRIMARY KEY,
	item_type TEXT NOT NULL, -- session|feature|bug|enhancement
	title TEXT NOT NULL,
	description TEXT,
	status TEXT NOT NULL DEFAULT 'planned', -- planned|in_progress|completed|cancelled
	priority TEXT, -- high|medium|low
	estimated_hours DOUBLE PRECISION,
	actual_hours DOUBLE PRECISION,
	session_number INTEGER,
	github_issue_number INTEGER,
	parent_id INTEGER,
	tags TEXT, -- JSON array of strings
	completion_notes TEXT,
	generated_plan TEXT, -- JSON object
	workflow_type TEXT DEFAULT 'adw_sdlc_complete_iso',
	created_at TEXT,
	updated_at TEXT,
	started_at TEXT,
	completed_at TEXT
);
CREATE INDEX IF NOT EXISTS idx_planned_features_status ON planned_features (status);
