//! Reads a `[[prometheus]]` fleet through the HTTP API (`reqwest`, async, rustls): every figure's
//! query at once, one request each for the whole fleet, merged into `InstanceHealth` rows.
//! A Prometheus that is down, a bad URL or a bad selector becomes an error in the source's rows.

use std::time::Duration;

use futures_util::future::join_all;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use crate::backend::BackendEvent;
use crate::config::prometheus::PrometheusSource;
use crate::health::prometheus::{fleet_queries, merge, FleetQuery, QueryResponse, VectorSample};
use crate::health::{InstanceHealth, Source};

/// How long one API request may take before the source's rows report the timeout.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// One Prometheus source: its client, its queries, and the instances it last listed.
#[derive(Debug)]
pub struct PrometheusReader {
    source: PrometheusSource,
    client: reqwest::Client,
    queries: Vec<FleetQuery>,
    endpoint: String,
    known: Vec<String>,
}

impl PrometheusReader {
    pub fn new(source: PrometheusSource) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| {
                anyhow::anyhow!(
                    "prometheus `{}`: cannot build an HTTP client: {e}",
                    source.name
                )
            })?;
        Ok(PrometheusReader {
            queries: fleet_queries(source.matchers(), &source.instance_label),
            endpoint: format!("{}/api/v1/query", source.url.trim().trim_end_matches('/')),
            client,
            source,
            known: Vec::new(),
        })
    }

    pub fn name(&self) -> &str {
        &self.source.name
    }

    /// One refresh: every figure of every instance, or the error in each known row.
    pub async fn read(&mut self) -> Vec<InstanceHealth> {
        let at = chrono::Utc::now();
        let answers = join_all(self.queries.iter().map(|q| self.query(q))).await;
        let mut figures = Vec::with_capacity(answers.len());
        for (query, answer) in self.queries.iter().zip(answers) {
            match answer {
                Ok(samples) => figures.push((query.figure, samples)),
                Err(e) => return self.failed(&e, at),
            }
        }
        let rows = merge(&self.source.name, &self.source.instance_label, &figures, at);
        if rows.is_empty() {
            let selector = self.source.selector.as_deref().unwrap_or("(none)");
            return self.failed(
                &format!("no mysql_up series match selector {selector}: check `selector` and that Prometheus scrapes mysqld_exporter"),
                at,
            );
        }
        self.known = rows.iter().map(|r| r.instance.clone()).collect();
        rows
    }

    async fn query(&self, query: &FleetQuery) -> Result<Vec<VectorSample>, String> {
        let response = self
            .client
            .get(&self.endpoint)
            .query(&[("query", query.promql.as_str())])
            .send()
            .await
            .map_err(|e| describe_request_error(&e))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| describe_request_error(&e))?;
        // Prometheus answers 400/422 with a JSON error body that says what was wrong.
        match serde_json::from_slice::<QueryResponse>(&body) {
            Ok(parsed) => parsed.into_samples(),
            Err(_) => Err(format!(
                "HTTP {status} without a Prometheus API answer (is `url` the Prometheus server?)"
            )),
        }
    }

    /// The error in every row this source listed last time, or in one row named after it.
    fn failed(&self, error: &str, at: chrono::DateTime<chrono::Utc>) -> Vec<InstanceHealth> {
        let message = format!(
            "prometheus `{}` at {}: {error}",
            self.source.name, self.source.url
        );
        let names = if self.known.is_empty() {
            vec![format!("prometheus:{}", self.source.name)]
        } else {
            self.known.clone()
        };
        names
            .iter()
            .map(|name| {
                let mut h = InstanceHealth::down(name, message.clone(), at);
                h.source = Source::Prometheus(self.source.name.clone());
                h
            })
            .collect()
    }
}

fn describe_request_error(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        format!("no answer within {REQUEST_TIMEOUT:?}")
    } else if e.is_connect() {
        "cannot connect".to_string()
    } else {
        "request failed".to_string()
    };
    // reqwest's chain carries the cause (refused, DNS) without any credential.
    let mut cause = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    if cause.is_empty() {
        what
    } else {
        format!("{what}: {cause}")
    }
}

/// The task body: read the fleet every `interval`, report each row, until cancelled.
pub async fn run(
    mut reader: PrometheusReader,
    interval: Duration,
    cancel: CancellationToken,
    events: UnboundedSender<BackendEvent>,
) {
    loop {
        let started = tokio::time::Instant::now();
        let rows = tokio::select! {
            rows = reader.read() => rows,
            _ = cancel.cancelled() => break,
        };
        for row in rows {
            if events.send(BackendEvent::Health(row)).is_err() {
                return;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep_until(started + interval) => {}
            _ = cancel.cancelled() => break,
        }
    }
    tracing::debug!(source = reader.name(), "prometheus reader stopped");
}
