use chrono::TimeZone;

use super::*;

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap()
}

/// An `/api/v1/query` body with one series per `(instance, value)`.
fn answer(series: &[(&str, &str)]) -> String {
    let result: Vec<String> = series
        .iter()
        .map(|(i, v)| {
            format!(
                r#"{{"metric":{{"instance":"{i}","job":"mysql"}},"value":[1764590400.5,"{v}"]}}"#
            )
        })
        .collect();
    format!(
        r#"{{"status":"success","data":{{"resultType":"vector","result":[{}]}}}}"#,
        result.join(",")
    )
}

fn parsed(body: &str) -> Vec<VectorSample> {
    serde_json::from_str::<QueryResponse>(body)
        .unwrap()
        .into_samples()
        .unwrap()
}

#[test]
fn one_query_per_figure_grouped_by_the_instance_label() {
    let queries = fleet_queries("job=\"mysql\"", "host");
    let qps = queries.iter().find(|q| q.figure == Figure::Qps).unwrap();
    assert_eq!(
        qps.promql,
        "sum by (host) (rate(mysql_global_status_queries{job=\"mysql\"}[1m]))"
    );
    let tps = queries.iter().find(|q| q.figure == Figure::Tps).unwrap();
    assert!(tps
        .promql
        .contains("{job=\"mysql\",command=~\"commit|rollback\"}"));
    let lag = queries
        .iter()
        .find(|q| q.figure == Figure::ReplicationLag)
        .unwrap();
    assert!(lag.promql.contains("seconds_behind_master{job=\"mysql\"}"));
    assert!(lag.promql.contains("seconds_behind_source{job=\"mysql\"}"));
    assert!(queries.iter().any(|q| q.figure == Figure::TargetUp));
    // Without a selector, bare `up` would list every job Prometheus scrapes.
    let bare = fleet_queries("", "instance");
    assert!(bare.iter().all(|q| q.figure != Figure::TargetUp));
    assert!(bare
        .iter()
        .any(|q| q.promql == "max by (instance) (mysql_up{})"));
}

#[test]
fn answers_merge_into_one_row_per_instance() {
    let answers = vec![
        (
            Figure::MysqlUp,
            parsed(&answer(&[("db1", "1"), ("db2", "0")])),
        ),
        (
            Figure::Qps,
            parsed(&answer(&[("db1", "123.5"), ("db2", "9")])),
        ),
        (Figure::ThreadsConnected, parsed(&answer(&[("db1", "7")]))),
        (Figure::ReplicationLag, parsed(&answer(&[("db1", "42")]))),
        (Figure::IoRunning, parsed(&answer(&[("db1", "1")]))),
        (Figure::SqlRunning, parsed(&answer(&[("db1", "0")]))),
        (Figure::BufferPoolHitPct, parsed(&answer(&[("db1", "NaN")]))),
    ];
    let rows = merge("fleet", "instance", &answers, at());
    assert_eq!(rows.len(), 2);
    let db1 = &rows[0];
    assert_eq!(db1.instance, "db1");
    assert_eq!(db1.source, Source::Prometheus("fleet".into()));
    assert_eq!(db1.status, Status::Up);
    assert_eq!(db1.qps, Some(123.5));
    assert_eq!(db1.threads_connected, Some(7));
    assert_eq!(db1.innodb.buffer_pool_hit_pct, None, "NaN is unknown");
    let r = db1.replication.as_ref().unwrap();
    assert_eq!(
        (r.io_running, r.sql_running, r.lag_s),
        (true, false, Some(42))
    );
    let db2 = &rows[1];
    assert_eq!(db2.status, Status::Down);
    assert!(db2.error.as_deref().unwrap().contains("mysql_up = 0"));
    assert_eq!(db2.qps, None, "a down instance shows no figures");
    assert_eq!(
        serde_json::to_value(&db1.source).unwrap(),
        serde_json::json!("prometheus:fleet")
    );
}

#[test]
fn prometheus_errors_come_back_as_text() {
    let body = r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:9: parse error"}"#;
    let err = serde_json::from_str::<QueryResponse>(body)
        .unwrap()
        .into_samples()
        .unwrap_err();
    assert!(err.starts_with("bad_data: invalid parameter"), "{err}");
}

/// The arkc side of one refresh of a 1,000-instance fleet: parse every figure's answer and merge.
#[test]
fn a_thousand_instance_refresh_parses_and_merges_quickly() {
    let names: Vec<String> = (0..1000).map(|i| format!("db-{i:04}:9104")).collect();
    let queries = fleet_queries("job=\"mysql\"", "instance");
    let bodies: Vec<(Figure, String)> = queries
        .iter()
        .map(|q| {
            let series: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "1")).collect();
            (q.figure, answer(&series))
        })
        .collect();
    let started = std::time::Instant::now();
    let answers: Vec<(Figure, Vec<VectorSample>)> =
        bodies.iter().map(|(f, b)| (*f, parsed(b))).collect();
    let rows = merge("fleet", "instance", &answers, at());
    let took = started.elapsed();
    assert_eq!(rows.len(), 1000);
    assert!(rows
        .iter()
        .all(|r| r.status == Status::Up && r.qps == Some(1.0)));
    eprintln!(
        "1,000 instances x {} figures: parse + merge {took:?}",
        queries.len()
    );
    // Generous for an unoptimised test build on a loaded machine; the release figure is reported.
    assert!(took < std::time::Duration::from_secs(5), "{took:?}");
}
