//! Every integration test in one binary: one link of the crate instead of one per file (see
//! docs/ARCHITECTURE.md, "Build time"). nextest still runs each test in its own process.
//! A new test file is a module here: `tests/it/<feature>_<what>.rs` plus a `mod` line.

mod support;

// Every test runs with a private HOME (XDG and ARKC_DATA_DIR cleared), made before main and
// removed after it: nothing a test does reaches the developer's own files.
arkc::private_test_home!();

mod audit_trail;
mod backup_faults;
mod backup_jobs;
mod backup_kinds;
mod binlog_check;
mod binlog_pane_generated;
mod binlog_pane_purged;
mod binlog_pane_render;
mod binlog_pane_stream;
mod binlog_pane_tmux;
mod binlog_scope;
mod binlog_stream;
mod cli_binlog;
mod cli_config;
mod completions;
mod config_init_login_path;
mod console_loop;
mod demo;
mod deploy_faults;
mod deploy_instance;
mod deploy_pane_tmux;
mod deploy_sql;
mod digest_cli;
mod disk_full;
mod flashback_batched;
mod flashback_faults;
mod flashback_generated;
mod flashback_instance_source;
mod flashback_parallel;
mod flashback_progress;
mod flashback_roundtrip;
mod flashback_row_events;
mod flashback_service;
mod flashback_strict;
mod fleet_pace_live;
mod fleet_pace_render;
mod fleet_polling;
mod fleet_sources_render;
mod fleet_view_render;
mod fuzz;
mod health;
mod health_cli_tags;
mod health_inspect_render;
mod health_inspect_sandbox;
mod health_kill_own;
mod health_processlist_render;
mod health_tui_live;
mod health_views_render;
mod jobs_pane_render;
mod jobs_pane_tmux;
mod monitor_sandbox;
mod presets;
mod prometheus_merge;
mod prometheus_source;
mod quiet_monitoring;
mod readme_incident;
mod readonly_cli;
mod readonly_tui;
mod record_console;
mod record_replay;
mod record_replay_views;
mod replay_console;
mod sandbox;
mod secrets_grep;
mod slow_demand_live;
mod slow_own_digests;
mod slow_pane;
mod slow_sources;
mod slow_tmux;
mod tls;
mod tls_jobs;
mod tls_stream;
mod tui_live;
mod tui_live_inspect;
mod tui_live_replica;
mod tui_tmux;
mod ui_render;
