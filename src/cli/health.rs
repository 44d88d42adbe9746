//! `arkc health`: instance health without the TUI, as a table or JSON.
//!
//! `--once` takes two samples `--interval` apart (rates need two) and prints them; without it the
//! backend polls every `--interval` and prints a line per instance per poll until Ctrl-C.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::mpsc;

use crate::backend::{self, BackendEvent, InstancePoller};
use crate::config::{Config, InstanceConfig, RowTags};
use crate::health::alert_state::AlertBook;
use crate::health::sources::SourceFilter;
use crate::health::{Alert, InstanceHealth, Replication, Status};

pub use super::health_json::{AlertJson, HealthJson};

use crate::backend::health::alerting::{AlertContext, OnAlert};
use crate::backend::health::fleet::{self, Fleet, Next};
use crate::backend::health::prometheus::PrometheusReader;
use tokio_util::sync::CancellationToken;

/// Exit code when at least one instance is down (0: all up).
pub const EXIT_SOME_DOWN: i32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HealthFormat {
    Table,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct HealthArgs {
    /// Take two samples `--interval` apart, print them and exit (exit code 3 if any is down).
    #[arg(long)]
    pub once: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: HealthFormat,
    /// Time between samples, e.g. `1s`, `500ms` (default: 1s with --once, else `refresh_ms`).
    #[arg(long, value_parser = parse_interval)]
    pub interval: Option<Duration>,
    /// Only these instances (repeatable); default: every configured instance.
    #[arg(long = "instance", value_name = super::completions::INSTANCE_VALUE)]
    pub instances: Vec<String>,
    /// Only the instances carrying this tag (repeatable: any of them; case-blind), as the
    /// console's tag groups; added to the `--instance` names. An unknown tag is an error.
    /// A `[[prometheus]]` source's tags select every instance it lists; with --replay, the tags
    /// recorded with the frame count.
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Print the figures of a recording (`arkc record`) instead of polling.
    #[arg(long, value_name = "FILE")]
    pub replay: Option<std::path::PathBuf>,
    /// With --replay: the frame at or before this time (RFC 3339, or `YYYY-MM-DD HH:MM:SS` UTC);
    /// default: the newest frame.
    #[arg(long, requires = "replay", value_parser = super::health_replay::parse_time)]
    pub at: Option<chrono::DateTime<chrono::Utc>>,
}

pub fn run(config: Config, args: HealthArgs) -> anyhow::Result<i32> {
    if let Some(file) = &args.replay {
        // A recording's rows carry the tags recorded with them, not today's config's.
        let asked = (args.instances.as_slice(), args.tags.as_slice());
        return super::health_replay::run(file, args.at, asked, args.format);
    }
    let selection = super::health_tags::select(&config, &args.instances, &args.tags)?;
    let instances = match selection.only_sources() {
        true => Vec::new(),
        false => select_polled(&config, &selection.names)?,
    };
    let names = selection.names;
    let sources = SourceFilter::new(config.instances.iter().map(|i| i.name.as_str()), &names)
        .with_whole_sources(&selection.sources);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut context = AlertContext::from_config(&config, &instances)?;
    if args.once {
        let interval = args.interval.unwrap_or(Duration::from_secs(1));
        let watched = context.watched_variables(&config);
        let pairs = runtime.block_on(sample_pairs_with(
            instances,
            interval,
            &watched,
            &config.fleet.polling,
        ));
        // Alerts need time: the two samples are all --once has, so a rule whose `for` has not
        // elapsed between them is reported pending.
        let mut book = AlertBook::new();
        for (first, _) in &pairs {
            if let Some(first) = first {
                context.observe(&mut book, first);
            }
        }
        let direct: Vec<InstanceHealth> = pairs.into_iter().map(|(_, second)| second).collect();
        let prometheus = runtime.block_on(read_prometheus_once(&config));
        let figures = sources
            .join(direct, prometheus)
            .map_err(anyhow::Error::msg)?;
        for h in &figures {
            context.observe(&mut book, h);
        }
        let tags = RowTags::from_config(&config);
        print!(
            "{}",
            render_with_alerts(&figures, &book, &tags, args.format)?
        );
        let any_down = figures.iter().any(|h| h.status == Status::Down);
        return Ok(if any_down { EXIT_SOME_DOWN } else { 0 });
    }
    // Streaming prints only the rows that arrive, so a name no source lists would print nothing:
    // check it once up front, with the error --once gives.
    if names.iter().any(|n| config.instance(n).is_none()) {
        let prometheus = runtime.block_on(read_prometheus_once(&config));
        sources
            .join(Vec::new(), prometheus)
            .map_err(anyhow::Error::msg)?;
    }
    let mut config = config;
    config.instances = instances;
    if let Some(interval) = args.interval {
        config.ui.refresh_ms = interval.as_millis().max(100) as u64;
    }
    runtime.block_on(watch_sources(
        Arc::new(config),
        context,
        args.format,
        &sources,
        tokio::signal::ctrl_c(),
    ))?;
    Ok(0)
}

/// The `[[instance]]` entries to poll for `arkc health`: those of `names` that have one (all when
/// `names` is empty). With `[[prometheus]]` sources, the other names are looked up in what the
/// sources list (see [`SourceFilter`]).
fn select_polled(config: &Config, names: &[String]) -> anyhow::Result<Vec<InstanceConfig>> {
    if config.prometheus.is_empty() {
        return select_instances(config, names);
    }
    if names.is_empty() {
        return Ok(config.instances.clone());
    }
    Ok(names
        .iter()
        .filter_map(|n| config.instance(n).cloned())
        .collect())
}

/// The configured instances, narrowed to `names` (all when empty).
pub fn select_instances(config: &Config, names: &[String]) -> anyhow::Result<Vec<InstanceConfig>> {
    let from = config
        .path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "the config".into());
    if config.instances.is_empty() && !config.prometheus.is_empty() && names.is_empty() {
        return Ok(Vec::new());
    }
    if config.instances.is_empty() {
        anyhow::bail!("no instances configured in {from}; add an [[instance]] entry (see config.example.toml)");
    }
    if names.is_empty() {
        return Ok(config.instances.clone());
    }
    names
        .iter()
        .map(|n| {
            config.instance(n).cloned().with_context(|| {
                let known: Vec<&str> = config.instances.iter().map(|i| i.name.as_str()).collect();
                // A Prometheus source lists figures only: sessions, locks and the other live
                // reads need arkc's own connection.
                let hint = match config.prometheus.is_empty() {
                    true => "",
                    false => "; an instance read only through a [[prometheus]] source has no direct connection for this: add an [[instance]] entry of that name",
                };
                format!(
                    "no instance named `{n}` in {from}; known: {}{hint}",
                    known.join(", ")
                )
            })
        })
        .collect()
}

/// Two polls per instance, all instances at once; a first poll that fails is final (no point
/// waiting on a dead server twice).
pub async fn sample_twice(
    instances: Vec<InstanceConfig>,
    interval: Duration,
) -> Vec<InstanceHealth> {
    let watched = crate::config::alerts::default_watch();
    sample_pairs(instances, interval, &watched)
        .await
        .into_iter()
        .map(|(_, second)| second)
        .collect()
}

/// Both polls of each instance: `(first, last)`; `first` is `None` when the only poll failed.
pub async fn sample_pairs(
    instances: Vec<InstanceConfig>,
    interval: Duration,
    watched: &[String],
) -> Vec<(Option<InstanceHealth>, InstanceHealth)> {
    let polling = crate::config::fleet::HealthPolling::default();
    sample_pairs_with(instances, interval, watched, &polling).await
}

/// [`sample_pairs`] with the `[health]` bounds: the same bounded, spread polling as the console,
/// so a thousand entries are sampled without a connection storm.
pub async fn sample_pairs_with(
    instances: Vec<InstanceConfig>,
    interval: Duration,
    watched: &[String],
    polling: &crate::config::fleet::HealthPolling,
) -> Vec<(Option<InstanceHealth>, InstanceHealth)> {
    // The `@` log is the console's; here statements are only traced.
    let (events, _ignored) = mpsc::unbounded_channel();
    let slow_after = Duration::from_millis(polling.slow_ms);
    let pollers: Vec<InstancePoller> = instances
        .into_iter()
        .map(|inst| {
            InstancePoller::new(inst, events.clone())
                .with_watched_variables(watched)
                .with_slow_after(slow_after)
        })
        .collect();
    let names: Vec<String> = pollers.iter().map(|p| p.name().to_string()).collect();
    let mut pairs: Vec<(Option<InstanceHealth>, Option<InstanceHealth>)> =
        vec![(None, None); pollers.len()];
    let fleet = Fleet::new(pollers, fleet::plan_for(interval, polling));
    fleet
        .run(None, CancellationToken::new(), None, |r| {
            let pair = &mut pairs[r.index];
            if pair.0.is_none() && r.health.status != Status::Down {
                pair.0 = Some(r.health);
                return Next::Continue;
            }
            // The second poll, or a first that failed (no point waiting on a dead server twice).
            pair.1 = Some(r.health);
            Next::Retire
        })
        .await;
    pairs
        .into_iter()
        .zip(names)
        .map(|((first, last), name)| match (first, last) {
            (first, Some(last)) => (first, last),
            (Some(first), None) => (None, first),
            (None, None) => (
                None,
                InstanceHealth::down(&name, "not polled", chrono::Utc::now()),
            ),
        })
        .collect()
}

/// One read of every `[[prometheus]]` source (its rates come from Prometheus, one read is enough).
pub async fn read_prometheus_once(config: &Config) -> Vec<InstanceHealth> {
    let reads = config.prometheus.iter().map(|source| async move {
        match PrometheusReader::new(source.clone()) {
            Ok(mut reader) => reader.read().await,
            Err(e) => {
                let mut row = InstanceHealth::down(
                    &format!("prometheus:{}", source.name),
                    format!("{e:#}"),
                    chrono::Utc::now(),
                );
                row.source = crate::health::Source::Prometheus(source.name.clone());
                vec![row]
            }
        }
    });
    futures_util::future::join_all(reads)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// Print health lines from the live backend until `stop` resolves.
pub async fn watch(
    config: Arc<Config>,
    context: AlertContext,
    format: HealthFormat,
    stop: impl std::future::Future<Output = std::io::Result<()>>,
) -> anyhow::Result<()> {
    let sources = SourceFilter::new(config.instances.iter().map(|i| i.name.as_str()), &[]);
    watch_sources(config, context, format, &sources, stop).await
}

/// [`watch`], printing only the rows `sources` keeps (one per instance).
async fn watch_sources(
    config: Arc<Config>,
    mut context: AlertContext,
    format: HealthFormat,
    sources: &SourceFilter,
    stop: impl std::future::Future<Output = std::io::Result<()>>,
) -> anyhow::Result<()> {
    let on_alert = OnAlert::from_config(&config.alerts);
    let tags = RowTags::from_config(&config);
    let mut book = AlertBook::new();
    let (events, mut rx) = mpsc::unbounded_channel();
    let handle = backend::spawn(config, events);
    tokio::pin!(stop);
    if format == HealthFormat::Table {
        println!(
            "{:<8} {}",
            "TIME",
            render(&[], HealthFormat::Table)?.trim_end()
        );
    }
    loop {
        tokio::select! {
            event = rx.recv() => match event {
                Some(BackendEvent::Health(h)) if sources.keeps(&h) => {
                    let changed = context.observe(&mut book, &h);
                    on_alert.notify_all(&changed);
                    let alerts = book.alerts_of(&h.instance);
                    match format {
                        HealthFormat::Json => println!("{}", serde_json::to_string(&HealthJson::new(&h, &alerts).with_tags(tags.of_row(&h)))?),
                        HealthFormat::Table => {
                            println!("{} {}", h.sampled_at.format("%H:%M:%S"), table_row(&h));
                            for a in &changed {
                                println!("{} alert {} {} {}: {}", h.sampled_at.format("%H:%M:%S"), a.instance, a.rule.id(), a.state.as_str(), a.summary);
                            }
                        }
                    }
                }
                Some(_) => {}
                None => break,
            },
            _ = &mut stop => break,
        }
    }
    handle.shutdown().await;
    Ok(())
}

/// Figures with each instance's alerts from `book`.
pub fn render_with_alerts(
    figures: &[InstanceHealth],
    book: &AlertBook,
    tags: &RowTags,
    format: HealthFormat,
) -> anyhow::Result<String> {
    match format {
        HealthFormat::Table => {
            let mut out = render(figures, format)?;
            let alerts = book.all();
            if !alerts.is_empty() {
                out.push_str("\nALERTS\n");
                for a in alerts {
                    out.push_str(&format!(
                        "{:<16} {:<24} {:<8} {:<8} since {}  {}\n",
                        a.instance,
                        a.rule.id(),
                        a.severity.as_str(),
                        a.state.as_str(),
                        a.since.format("%H:%M:%S"),
                        a.summary
                    ));
                }
            }
            Ok(out)
        }
        HealthFormat::Json => {
            let per_instance: Vec<Vec<Alert>> = figures
                .iter()
                .map(|h| book.alerts_of(&h.instance))
                .collect();
            let rows: Vec<HealthJson> = figures
                .iter()
                .zip(&per_instance)
                .map(|(h, a)| HealthJson::new(h, a).with_tags(tags.of_row(h)))
                .collect();
            Ok(format!("{}\n", serde_json::to_string_pretty(&rows)?))
        }
    }
}

pub fn render(figures: &[InstanceHealth], format: HealthFormat) -> anyhow::Result<String> {
    Ok(match format {
        HealthFormat::Json => {
            let rows: Vec<HealthJson> = figures.iter().map(HealthJson::from).collect();
            format!("{}\n", serde_json::to_string_pretty(&rows)?)
        }
        HealthFormat::Table => {
            let mut out = format!(
                "{:<16} {:<5} {:<24} {:>12} {:>9} {:>9} {:>14}  {}\n",
                "INSTANCE",
                "STATE",
                "VERSION",
                "UPTIME",
                "QPS",
                "TPS",
                "THR RUN/CON/MAX",
                "REPLICATION"
            );
            for h in figures {
                out.push_str(&table_row(h));
                out.push('\n');
            }
            out
        }
    })
}

fn table_row(h: &InstanceHealth) -> String {
    let dash = || "-".to_string();
    let num = |v: Option<u64>| v.map_or_else(dash, |n| n.to_string());
    let rate = |v: Option<f64>| v.map_or_else(dash, |r| format!("{r:.1}"));
    if h.status == Status::Down {
        return format!(
            "{:<16} {:<5} {}",
            h.instance,
            "down",
            h.error.as_deref().unwrap_or("")
        );
    }
    let threads = format!(
        "{}/{}/{}",
        num(h.threads_running),
        num(h.threads_connected),
        num(h.max_connections)
    );
    format!(
        "{:<16} {:<5} {:<24} {:>12} {:>9} {:>9} {:>14}  {}",
        h.instance,
        h.status.as_str(),
        h.version.as_deref().unwrap_or("-"),
        h.uptime_s.map_or_else(dash, format_uptime),
        rate(h.qps),
        rate(h.tps),
        threads,
        h.replication
            .as_ref()
            .map_or_else(|| "primary/none".to_string(), describe_replication),
    )
}

/// `3d 04:05:06` style.
pub fn format_uptime(s: u64) -> String {
    let (d, h, m, sec) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    if d > 0 {
        format!("{d}d {h:02}:{m:02}:{sec:02}")
    } else {
        format!("{h:02}:{m:02}:{sec:02}")
    }
}

fn describe_replication(r: &Replication) -> String {
    let yes_no = |b: bool| if b { "yes" } else { "NO" };
    let lag = r
        .lag_s
        .map_or_else(|| "unknown".to_string(), |l| format!("{l}s"));
    format!(
        "{} io={} sql={} lag={lag}",
        r.role,
        yes_no(r.io_running),
        yes_no(r.sql_running)
    )
}

/// `1s`, `250ms`, `1.5s`, `2m` or a bare number of seconds.
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else {
        (t, 1.0)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a duration; use e.g. 1s or 500ms"))?;
    let secs = value * scale;
    if !(0.1..=3600.0).contains(&secs) {
        return Err(format!("`{text}` is out of range; use 100ms to 1h"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_parse_with_units() {
        assert_eq!(parse_interval("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_interval("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_interval("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_interval("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_interval("fast")
            .unwrap_err()
            .contains("not a duration"));
        assert!(parse_interval("5ms").unwrap_err().contains("out of range"));
    }

    #[test]
    fn uptime_reads_like_a_clock() {
        assert_eq!(format_uptime(59), "00:00:59");
        assert_eq!(
            format_uptime(3 * 86_400 + 4 * 3600 + 5 * 60 + 6),
            "3d 04:05:06"
        );
    }

    #[test]
    fn json_has_exactly_the_promised_keys_in_order() {
        let h = InstanceHealth::down("db1", "Connection refused", chrono::Utc::now());
        let text = render(&[h], HealthFormat::Json).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let obj = value[0].as_object().unwrap();
        let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        let mut expected = vec![
            "instance",
            "source",
            "tags",
            "status",
            "error",
            "version",
            "uptime_s",
            "qps",
            "tps",
            "threads_connected",
            "threads_running",
            "max_connections",
            "replication",
            "innodb",
            "disk",
            "backup",
            "alerts",
        ];
        expected.sort_unstable(); // serde_json's map is sorted; order is checked on the text below
        assert_eq!(keys, expected);
        assert_eq!(obj["status"], "down");
        assert_eq!(obj["source"], "direct");
        assert!(text.find("\"instance\"").unwrap() < text.find("\"replication\"").unwrap());
        assert!(text.find("\"replication\"").unwrap() < text.find("\"alerts\"").unwrap());
        assert!(obj["innodb"].is_null() && obj["disk"].is_null() && obj["backup"].is_null());
    }
}
