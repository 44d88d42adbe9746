//! Slow-SQL sources: a followed slow-log file, the `mysql.slow_log` table or
//! performance_schema digests, aggregated into leaderboards; EXPLAIN and tracking requests.

pub mod ps;
pub mod ps_digest;
pub mod report;
pub mod sources;
pub mod table;
pub mod tail;
