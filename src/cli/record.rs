//! `arkc record`: poll headless (direct instances and Prometheus sources) and write every round's
//! figures, alerts and firing instances' sessions and locks into a recording file.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::mpsc;

use crate::backend::health::alerting::AlertContext;
use crate::backend::record::FrameRecorder;
use crate::backend::{self, BackendEvent};
use crate::config::Config;
use crate::recording::{Retention, MIN_BYTES};

#[derive(Debug, clap::Args)]
pub struct RecordArgs {
    /// The recording file (created, or continued when it is already an arkc recording).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Stop after this long, e.g. `10s`, `30m`, `12h` (default: until Ctrl-C).
    #[arg(long, value_parser = parse_span)]
    pub duration: Option<Duration>,
    /// Time between frames (default: `[ui] refresh_ms`).
    #[arg(long, value_parser = super::health::parse_interval)]
    pub interval: Option<Duration>,
    /// Drop frames older than this, e.g. `48h`, `7d`.
    #[arg(long, value_parser = parse_span, default_value = "48h")]
    pub max_age: Duration,
    /// Keep the file at most this big, e.g. `512MiB`, `2GiB`; the oldest frames go first.
    #[arg(long, value_parser = parse_size, default_value = "512MiB")]
    pub max_size: u64,
}

pub fn run(mut config: Config, args: RecordArgs) -> anyhow::Result<i32> {
    if config.instances.is_empty() && config.prometheus.is_empty() {
        anyhow::bail!(
            "nothing to record: add [[instance]] or [[prometheus]] entries to the config (see config.example.toml)"
        );
    }
    if let Some(interval) = args.interval {
        config.ui.refresh_ms = interval.as_millis().max(100) as u64;
    }
    let interval = Duration::from_millis(config.ui.refresh_ms);
    let retention = Retention {
        max_age: args.max_age,
        max_bytes: args.max_size,
    };
    let context = AlertContext::from_config(&config, &config.instances)?;
    let mut recorder = FrameRecorder::create(&args.out, retention, context)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let config = Arc::new(config);
    runtime.block_on(async {
        let (events, mut rx) = mpsc::unbounded_channel();
        let handle = backend::spawn(config.clone(), events);
        let stop = async {
            match args.duration {
                Some(d) => tokio::time::sleep(d).await,
                None => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        };
        tokio::pin!(stop);
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let result = loop {
            tokio::select! {
                event = rx.recv() => match event {
                    Some(BackendEvent::Health(h)) => recorder.observe(h),
                    Some(_) => {}
                    None => break Ok(()),
                },
                _ = ticks.tick() => {
                    if let Err(e) = recorder.write_frame(&config).await {
                        break Err(e);
                    }
                }
                _ = &mut stop => break recorder.write_frame(&config).await,
            }
        };
        handle.shutdown().await;
        result
    })?;
    let summary = recorder.summary()?;
    eprintln!(
        "recorded {} frames to {} ({} frames kept, {} bytes)",
        recorder.frames_written(),
        args.out.display(),
        summary.frames,
        summary.file_bytes
    );
    Ok(0)
}

/// `10s`, `30m`, `12h`, `7d` (a bare number is seconds).
pub fn parse_span(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, scale) = match t.char_indices().last() {
        Some((i, 's')) => (&t[..i], 1.0),
        Some((i, 'm')) => (&t[..i], 60.0),
        Some((i, 'h')) => (&t[..i], 3600.0),
        Some((i, 'd')) => (&t[..i], 86_400.0),
        _ => (t, 1.0),
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a duration; use e.g. 10s, 30m, 12h or 7d"))?;
    if !(value > 0.0 && value.is_finite()) {
        return Err(format!("`{text}`: the duration must be positive"));
    }
    Ok(Duration::from_secs_f64(value * scale))
}

/// `65536`, `64KiB`, `512MiB`, `2GiB` (also KB/MB/GB, taken as the same binary units).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => {
            return Err(format!(
                "`{text}`: unknown size unit `{other}`; use KiB, MiB or GiB"
            ))
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size; use e.g. 512MiB"))?;
    let bytes = (value * scale as f64) as u64;
    if bytes < MIN_BYTES {
        return Err(format!(
            "`{text}` is below the smallest recording ({MIN_BYTES} bytes)"
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_sizes_parse_with_units() {
        assert_eq!(parse_span("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_span("2d"), Ok(Duration::from_secs(172_800)));
        assert!(parse_span("soon").is_err());
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("64KiB"), Ok(65_536));
        assert!(parse_size("1KiB").unwrap_err().contains("smallest"));
        assert!(parse_size("3 parsecs").is_err());
    }
}
