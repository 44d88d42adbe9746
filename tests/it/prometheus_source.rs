//! A `[[prometheus]]` source against the real Debian `prometheus` and `prometheus-mysqld-exporter`
//! scraping a sandbox: `arkc health --once --format json` lists the instance with its source.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use arkc::sandbox::{Sandbox, SandboxOptions};

use crate::support::ports::{refused_port, reserved_port};
use crate::support::wait::wait_for;

/// A child process killed and reaped when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The exporter and Prometheus binaries, or `None` (and a message saying why the test skips).
pub fn prometheus_binaries() -> Option<(PathBuf, PathBuf)> {
    match (program("prometheus"), program("prometheus-mysqld-exporter")) {
        (Some(p), Some(e)) => Some((p, e)),
        _ => {
            eprintln!(
                "SKIPPED: `prometheus` and `prometheus-mysqld-exporter` are not both installed \
                 (Debian packages prometheus, prometheus-mysqld-exporter; scripts/lib.sh installs them)"
            );
            None
        }
    }
}

/// A sandbox scraped every second by mysqld_exporter and Prometheus, with the series labelled
/// `instance = "sbx"`; Prometheus' API is at `url`.
pub struct ScrapedSandbox {
    /// Kept running for as long as Prometheus scrapes it.
    _sandbox: Sandbox,
    pub url: String,
    _exporter: Running,
    _prometheus: Running,
    _dir: tempfile::TempDir,
}

impl ScrapedSandbox {
    pub fn start(name: &str, prometheus: &Path, exporter: &Path) -> ScrapedSandbox {
        let sandbox = Sandbox::start(SandboxOptions {
            name: name.into(),
            ..SandboxOptions::default()
        })
        .unwrap();
        // The exporter refuses a [client] without a password: a monitoring account of its own.
        sandbox
            .exec_sql(
                "CREATE USER 'exporter'@'127.0.0.1' IDENTIFIED BY 'exp-secret-1'; \
                 GRANT PROCESS, REPLICATION CLIENT, SELECT ON *.* TO 'exporter'@'127.0.0.1'",
            )
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let my_cnf = dir.path().join("exporter.cnf");
        std::fs::write(
            &my_cnf,
            format!(
                "[client]\nuser=exporter\npassword=exp-secret-1\nhost=127.0.0.1\nport={}\n",
                sandbox.port()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&my_cnf, std::fs::Permissions::from_mode(0o600)).unwrap();
        let exporter_port = reserved_port();
        let exporter = Running(
            Command::new(exporter)
                .arg(format!("--config.my-cnf={}", my_cnf.display()))
                .arg(format!("--web.listen-address=127.0.0.1:{exporter_port}"))
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(dir.path().join("exporter.log")).unwrap())
                .spawn()
                .unwrap(),
        );
        let prom_port = reserved_port();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: mysql\n    static_configs:\n\
                 \x20     - targets: ['127.0.0.1:{exporter_port}']\n        labels:\n          instance: sbx\n"
            ),
        )
        .unwrap();
        let prometheus = Running(
            Command::new(prometheus)
                .arg(format!("--config.file={}", config.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.path().join("tsdb").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(dir.path().join("prometheus.log")).unwrap())
                .spawn()
                .unwrap(),
        );
        let scraped = ScrapedSandbox {
            _sandbox: sandbox,
            url: format!("http://127.0.0.1:{prom_port}"),
            _exporter: exporter,
            _prometheus: prometheus,
            _dir: dir,
        };
        scraped.wait_for_samples();
        scraped
    }

    /// The scraped server's port, for a direct `[[instance]]` entry of the same server.
    pub fn port(&self) -> u16 {
        self._sandbox.port()
    }

    /// Until the target is up with at least two samples, so that `rate()` has an answer.
    fn wait_for_samples(&self) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = reqwest::Client::new();
        let endpoint = format!("{}/api/v1/query", self.url);
        let query = r#"count_over_time(mysql_up{job="mysql"}[1m]) >= 2 and on (instance) mysql_up{job="mysql"} == 1"#;
        wait_for(
            "Prometheus to hold 2 samples of mysql_up = 1",
            Duration::from_secs(60),
            || {
                runtime.block_on(async {
                    let body = client
                        .get(&endpoint)
                        .query(&[("query", query)])
                        .send()
                        .await
                        .map_err(|e| e.to_string())?
                        .text()
                        .await
                        .map_err(|e| e.to_string())?;
                    match body.contains("\"sbx\"") {
                        true => Ok(()),
                        false => Err(body),
                    }
                })
            },
        );
    }
}

fn health_json(config: &Path) -> Vec<serde_json::Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_arkc"))
        .arg("--config")
        .arg(config)
        .args(["health", "--once", "--format", "json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("exp-secret-1"),
        "a password reached the output"
    );
    serde_json::from_str::<Vec<serde_json::Value>>(&stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn health_lists_a_sandbox_read_through_prometheus_and_errors_per_source() {
    let Some((prometheus, exporter)) = prometheus_binaries() else {
        return;
    };
    let scraped = ScrapedSandbox::start("prom", &prometheus, &exporter);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[[prometheus]]\nname = \"fleet\"\nurl = \"{}\"\nselector = '{{job=\"mysql\"}}'\n\n\
             [[prometheus]]\nname = \"nowhere\"\nurl = \"http://127.0.0.1:{}\"\n\n\
             [[prometheus]]\nname = \"typo\"\nurl = \"{}\"\nselector = '{{job=~\"(\"}}'\n",
            scraped.url,
            refused_port(),
            scraped.url
        ),
    )
    .unwrap();
    let rows = health_json(&config);
    let row = |name: &str| {
        rows.iter()
            .find(|r| r["instance"] == name)
            .unwrap_or_else(|| panic!("no row `{name}` in {rows:#?}"))
    };
    let sbx = row("sbx");
    eprintln!("the sandbox through Prometheus: {sbx:#}");
    assert_eq!(sbx["source"], "prometheus:fleet", "{sbx:#}");
    assert_eq!(sbx["status"], "up", "{sbx:#}");
    assert!(sbx["qps"].as_f64().is_some_and(|q| q > 0.0), "{sbx:#}");
    assert!(
        sbx["threads_connected"].as_u64().is_some_and(|t| t >= 1),
        "{sbx:#}"
    );
    assert!(sbx["max_connections"].as_u64().is_some(), "{sbx:#}");
    assert!(
        sbx["version"]
            .as_str()
            .is_some_and(|v| v.contains("MariaDB")),
        "{sbx:#}"
    );

    let down = row("prometheus:nowhere");
    assert_eq!(down["source"], "prometheus:nowhere");
    assert_eq!(down["status"], "down");
    let error = down["error"].as_str().unwrap();
    assert!(error.contains("cannot connect"), "{error}");

    let typo = row("prometheus:typo");
    assert_eq!(typo["status"], "down");
    let error = typo["error"].as_str().unwrap();
    assert!(
        error.contains("bad_data") && error.contains("parse error"),
        "{error}"
    );
}
