-- The SQLite tables of a TAC WebBuilder database, as tacws-demo fills them.
-- Written for the demo from what TAC's own code creates (facts, not copies):
--   workflow_history  core/workflow_history_utils/database/schema.py, plus the
--                     columns of db/migrations/002 (the later SQLite migrations of
--                     this table add nothing schema.py lacks);
--   phase_queue       services/phase_queue_schema.py (feature_id, depends_on_phases
--                     as JSON text; 007, 011 and 012 lead to the same columns),
--                     plus migrations/add_current_phase_column.py;
--   queue_config      db/migrations/009, with its 'queue_paused' row;
--   task_logs         db/migrations/015 (SQLite: an INTEGER rowid key);
--   planned_features  db/migrations/017 (SQLite), plus generated_plan
--                     (migrations/add_generated_plan_column.py). 021's workflow_type
--                     is a PostgreSQL migration only, so it is absent here.
-- There is no issue_class or branch_name in workflow_history: only PostgreSQL
-- migration 020 adds them. JSON columns hold JSON text, as TAC stores them.

CREATE TABLE workflow_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    adw_id TEXT NOT NULL UNIQUE,
    issue_number INTEGER,
    nl_input TEXT,
    github_url TEXT,
    gh_issue_state TEXT,
    workflow_template TEXT,
    model_used TEXT,
    status TEXT NOT NULL CHECK(status IN ('pending', 'running', 'completed', 'failed')),
    start_time TEXT,
    end_time TEXT,
    duration_seconds INTEGER,
    error_message TEXT,
    phase_count INTEGER,
    current_phase TEXT,
    success_rate REAL,
    retry_count INTEGER DEFAULT 0,
    worktree_path TEXT,
    backend_port INTEGER,
    frontend_port INTEGER,
    concurrent_workflows INTEGER DEFAULT 0,
    input_tokens INTEGER DEFAULT 0,
    output_tokens INTEGER DEFAULT 0,
    cached_tokens INTEGER DEFAULT 0,
    cache_hit_tokens INTEGER DEFAULT 0,
    cache_miss_tokens INTEGER DEFAULT 0,
    total_tokens INTEGER DEFAULT 0,
    cache_efficiency_percent REAL DEFAULT 0.0,
    estimated_cost_total REAL DEFAULT 0.0,
    actual_cost_total REAL DEFAULT 0.0,
    estimated_cost_per_step REAL DEFAULT 0.0,
    actual_cost_per_step REAL DEFAULT 0.0,
    cost_per_token REAL DEFAULT 0.0,
    structured_input TEXT,
    cost_breakdown TEXT,
    token_breakdown TEXT,
    worktree_reused INTEGER DEFAULT 0,
    steps_completed INTEGER DEFAULT 0,
    steps_total INTEGER DEFAULT 0,
    hour_of_day INTEGER DEFAULT -1,
    day_of_week INTEGER DEFAULT -1,
    nl_input_clarity_score REAL DEFAULT 0.0,
    cost_efficiency_score REAL DEFAULT 0.0,
    performance_score REAL DEFAULT 0.0,
    quality_score REAL DEFAULT 0.0,
    scoring_version TEXT DEFAULT '1.0',
    anomaly_flags TEXT,
    optimization_recommendations TEXT,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    -- db/migrations/002
    phase_durations TEXT,
    idle_time_seconds INTEGER,
    bottleneck_phase TEXT,
    error_category TEXT,
    retry_reasons TEXT,
    error_phase_distribution TEXT,
    recovery_time_seconds INTEGER,
    complexity_estimated TEXT,
    complexity_actual TEXT
);
CREATE INDEX idx_adw_id ON workflow_history(adw_id);
CREATE INDEX idx_status ON workflow_history(status);
CREATE INDEX idx_created_at ON workflow_history(created_at DESC);
CREATE INDEX idx_issue_number ON workflow_history(issue_number);
CREATE INDEX idx_model_used ON workflow_history(model_used);
CREATE INDEX idx_workflow_template ON workflow_history(workflow_template);

CREATE TABLE phase_queue (
    queue_id TEXT PRIMARY KEY,
    feature_id INTEGER,
    phase_number INTEGER NOT NULL,
    issue_number INTEGER,
    status TEXT CHECK(status IN ('queued', 'ready', 'running', 'completed', 'blocked', 'failed'))
        DEFAULT 'queued',
    depends_on_phases TEXT DEFAULT '[]',
    phase_data TEXT,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    error_message TEXT,
    adw_id TEXT,
    pr_number INTEGER,
    priority INTEGER DEFAULT 50,
    queue_position INTEGER,
    ready_timestamp TIMESTAMP,
    started_timestamp TIMESTAMP,
    current_phase TEXT DEFAULT 'init'
);
CREATE INDEX idx_phase_queue_status ON phase_queue(status);
CREATE INDEX idx_phase_queue_feature ON phase_queue(feature_id);
CREATE INDEX idx_phase_queue_issue ON phase_queue(issue_number);
CREATE INDEX idx_phase_queue_adw_id ON phase_queue(adw_id);
CREATE INDEX idx_phase_queue_priority ON phase_queue(priority, queue_position);

CREATE TABLE queue_config (
    config_key TEXT PRIMARY KEY,
    config_value TEXT NOT NULL,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO queue_config (config_key, config_value) VALUES ('queue_paused', 'false');

CREATE TABLE task_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    adw_id TEXT NOT NULL,
    issue_number INTEGER NOT NULL,
    workflow_template TEXT,
    phase_name TEXT NOT NULL,
    phase_number INTEGER,
    phase_status TEXT NOT NULL
        CHECK(phase_status IN ('started', 'completed', 'failed', 'skipped')),
    log_message TEXT NOT NULL,
    error_message TEXT,
    started_at TIMESTAMP,
    completed_at TIMESTAMP,
    duration_seconds REAL,
    tokens_used INTEGER,
    cost_usd REAL,
    captured_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_task_logs_adw_id ON task_logs(adw_id);
CREATE INDEX idx_task_logs_issue ON task_logs(issue_number);
CREATE INDEX idx_task_logs_phase ON task_logs(phase_name);
CREATE INDEX idx_task_logs_status ON task_logs(phase_status);
CREATE INDEX idx_task_logs_created ON task_logs(created_at DESC);
CREATE INDEX idx_task_logs_issue_phase ON task_logs(issue_number, phase_number);

CREATE TABLE planned_features (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_type TEXT NOT NULL CHECK(item_type IN ('session', 'feature', 'bug', 'enhancement')),
    title TEXT NOT NULL,
    description TEXT,
    status TEXT NOT NULL DEFAULT 'planned'
        CHECK(status IN ('planned', 'in_progress', 'completed', 'cancelled')),
    priority TEXT CHECK(priority IN ('high', 'medium', 'low')),
    estimated_hours REAL,
    actual_hours REAL,
    session_number INTEGER,
    github_issue_number INTEGER,
    parent_id INTEGER,
    tags TEXT DEFAULT '[]',
    completion_notes TEXT,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    started_at TIMESTAMP,
    completed_at TIMESTAMP,
    generated_plan TEXT,
    FOREIGN KEY (parent_id) REFERENCES planned_features(id) ON DELETE CASCADE
);
CREATE INDEX idx_planned_features_status ON planned_features(status);
CREATE INDEX idx_planned_features_priority ON planned_features(priority);
CREATE INDEX idx_planned_features_type ON planned_features(item_type);
CREATE INDEX idx_planned_features_session ON planned_features(session_number);
CREATE INDEX idx_planned_features_github ON planned_features(github_issue_number);
CREATE INDEX idx_planned_features_completed ON planned_features(completed_at);
CREATE INDEX idx_planned_features_parent ON planned_features(parent_id);
CREATE TRIGGER update_planned_features_timestamp
AFTER UPDATE ON planned_features
FOR EACH ROW
BEGIN
    UPDATE planned_features SET updated_at = CURRENT_TIMESTAMP WHERE id = NEW.id;
END;
