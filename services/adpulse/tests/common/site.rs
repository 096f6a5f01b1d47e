//! A host as `deploy/host` runs it: replicas started and rolled out by
//! `deploy/host/adpulse-host`, behind a real HAProxy started from
//! `deploy/host/haproxy.cfg` (its addresses moved to free loopback ports).

#![allow(dead_code, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use adpulse_testkit::unique_name;

use super::http::Http;
use super::platform::Platform;

/// The replica names of each role, as in `deploy/host/replicas`.
pub const GATEWAYS: [&str; 2] = ["g1", "g2"];
pub const APIS: [&str; 2] = ["a1", "a2"];
pub const WORKERS: [&str; 2] = ["w1", "w2"];

/// A site folder, its HAProxy and the replicas `adpulse-host` started.
pub struct Site {
    pub dir: PathBuf,
    haproxy: Child,
    /// The gateways, through HAProxy.
    pub gateway: Http,
    /// The APIs, through HAProxy.
    pub api: Http,
    /// Each replica's own address, by name.
    pub listen: Vec<(String, String)>,
}

/// Where HAProxy is: `$ADPULSE_HAPROXY`, else Debian's.
fn haproxy_bin() -> PathBuf {
    let bin = std::env::var_os("ADPULSE_HAPROXY")
        .map_or_else(|| PathBuf::from("/usr/sbin/haproxy"), PathBuf::from);
    assert!(
        bin.exists(),
        "HAProxy is needed at {} (scripts/test installs it: apt-get install haproxy; \
         or set ADPULSE_HAPROXY)",
        bin.display()
    );
    bin
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Free loopback ports, bound together so they differ.
fn free_ports(n: usize) -> Vec<u16> {
    let l: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("a free port"))
        .collect();
    l.iter()
        .map(|l| l.local_addr().expect("address").port())
        .collect()
}

impl Site {
    /// A site with two gateways, two APIs and two workers on the
    /// platform's configuration, each role's current build a copy of the
    /// test build (`releases/v1/adpulse`), started with `adpulse-host
    /// start` and ready, behind HAProxy.
    pub async fn start(p: &Platform, settings: &str) -> Self {
        let dir = std::env::temp_dir().join(unique_name("site"));
        std::fs::create_dir_all(dir.join("current")).expect("site folder");
        let ports = free_ports(9);
        let names = [GATEWAYS, APIS, WORKERS].concat();
        let mut replicas = String::new();
        let mut listen = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let role = ["gateway", "api", "worker"][i / 2];
            let backend = if role == "worker" { "" } else { role };
            let addr = format!("127.0.0.1:{}", ports[i]);
            replicas.push_str(&format!("{role} {name} {addr} {backend}\n"));
            listen.push(((*name).to_owned(), addr));
        }
        std::fs::write(dir.join("replicas"), replicas).expect("replicas");
        let env: String = p
            .config()
            .iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect();
        std::fs::write(dir.join("adpulse.env"), env).expect("adpulse.env");
        let admin = format!("127.0.0.1:{}", ports[8]);
        let (gw, api) = (ports[6], ports[7]);
        std::fs::write(
            dir.join("site.conf"),
            format!("HAPROXY_ADMIN={admin}\n{settings}\n"),
        )
        .expect("site.conf");
        let v1 = Self::release(&dir, "v1");
        for role in ["gateway", "api", "worker"] {
            std::os::unix::fs::symlink(&v1, dir.join("current").join(role)).expect("symlink");
        }
        let haproxy = Self::start_haproxy(&dir, &listen, &admin, gw, api);
        let site = Self {
            dir,
            haproxy,
            gateway: Http::new(&format!("http://127.0.0.1:{gw}")),
            api: Http::new(&format!("http://127.0.0.1:{api}")),
            listen,
        };
        let out = site.host(&["start"]).await;
        assert!(out.0, "adpulse-host start failed:\n{}", out.1);
        site.wait_balanced().await;
        site
    }

    /// A copy of the test build at `releases/NAME/adpulse`.
    pub fn release(dir: &Path, name: &str) -> PathBuf {
        let to = dir.join("releases").join(name);
        std::fs::create_dir_all(&to).expect("release folder");
        let bin = to.join("adpulse");
        std::fs::copy(env!("CARGO_BIN_EXE_adpulse"), &bin).expect("copy the build");
        bin
    }

    /// `deploy/host/haproxy.cfg` with its addresses moved: the two
    /// frontends, the admin socket and each server's.
    fn start_haproxy(
        dir: &Path,
        listen: &[(String, String)],
        admin: &str,
        gw: u16,
        api: u16,
    ) -> Child {
        let mut cfg = std::fs::read_to_string(repo().join("deploy/host/haproxy.cfg"))
            .expect("deploy/host/haproxy.cfg");
        let shipped = [
            ("127.0.0.1:9999", admin.to_owned()),
            ("127.0.0.1:8080", format!("127.0.0.1:{gw}")),
            ("127.0.0.1:8082", format!("127.0.0.1:{api}")),
        ];
        for (from, to) in shipped {
            assert!(cfg.contains(from), "haproxy.cfg names {from}");
            cfg = cfg.replace(from, &to);
        }
        for (i, (_, addr)) in listen.iter().take(4).enumerate() {
            let from = format!("127.0.0.1:{}", 18080 + i);
            assert!(cfg.contains(&from), "haproxy.cfg names {from}");
            cfg = cfg.replace(&from, addr);
        }
        let path = dir.join("haproxy.cfg");
        std::fs::write(&path, cfg).expect("haproxy.cfg");
        let log = std::fs::File::create(dir.join("haproxy.log")).expect("log");
        Command::new(haproxy_bin())
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start haproxy")
    }

    /// `deploy/host/adpulse-host --site DIR ARGS`: whether it succeeded,
    /// and what it printed.
    pub async fn host(&self, args: &[&str]) -> (bool, String) {
        let mut c = Command::new(repo().join("deploy/host/adpulse-host"));
        c.arg("--site")
            .arg(&self.dir)
            .args(args)
            .stdin(Stdio::null());
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("ADPULSE") {
                c.env_remove(k);
            }
        }
        let out = tokio::task::spawn_blocking(move || c.output().expect("run adpulse-host"))
            .await
            .expect("join");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprint!("{text}");
        (out.status.success(), text)
    }

    /// Waits until HAProxy answers `/health/ready` through both frontends
    /// (its checks saw the replicas up).
    async fn wait_balanced(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        for http in [&self.gateway, &self.api] {
            loop {
                if let Ok(r) = http.try_send("GET", "/health/ready", &[], "").await
                    && r.status == 200
                {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "HAProxy did not balance the replicas:\n{}",
                    self.logs()
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    /// The build replica `name` runs now (`run/NAME.bin`).
    pub fn build_of(&self, name: &str) -> PathBuf {
        let s = std::fs::read_to_string(self.dir.join("run").join(format!("{name}.bin")))
            .unwrap_or_default();
        PathBuf::from(s.trim())
    }

    /// Replica `name`'s `/metrics`.
    pub async fn metrics(&self, name: &str) -> String {
        let addr = &self
            .listen
            .iter()
            .find(|(n, _)| n == name)
            .expect("a replica")
            .1;
        let r = Http::new(&format!("http://{addr}"))
            .send("GET", "/metrics", &[], "")
            .await;
        String::from_utf8_lossy(&r.body).into_owned()
    }

    /// The tails of HAProxy's and every replica's log.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        let mut files = vec![self.dir.join("haproxy.log")];
        if let Ok(d) = std::fs::read_dir(self.dir.join("log")) {
            files.extend(d.filter_map(Result::ok).map(|e| e.path()));
        }
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            out.push_str(&format!("---- {} ----\n", f.display()));
            out.push_str(&lines[lines.len().saturating_sub(30)..].join("\n"));
            out.push('\n');
        }
        out
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("site kept in {}:\n{}", self.dir.display(), self.logs());
        }
        let _ = Command::new(repo().join("deploy/host/adpulse-host"))
            .arg("--site")
            .arg(&self.dir)
            .arg("stop")
            .stdin(Stdio::null())
            .output();
        let _ = self.haproxy.kill();
        let _ = self.haproxy.wait();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The smallest histogram bound at or below which 99% of `metric`'s
/// samples fall, over every series in `text` (Prometheus exposition): an
/// upper bound of the p99.
pub fn p99_bound(texts: &[String], metric: &str) -> Option<f64> {
    let mut buckets: Vec<(f64, f64)> = Vec::new();
    let prefix = format!("{metric}_bucket{{");
    for line in texts.iter().flat_map(|t| t.lines()) {
        let Some(rest) = line.strip_prefix(&prefix) else {
            continue;
        };
        let le = rest.split("le=\"").nth(1)?.split('"').next()?;
        let le: f64 = if le == "+Inf" {
            f64::INFINITY
        } else {
            le.parse().ok()?
        };
        let n: f64 = line.rsplit(' ').next()?.parse().ok()?;
        match buckets.iter_mut().find(|(b, _)| *b == le) {
            Some((_, c)) => *c += n,
            None => buckets.push((le, n)),
        }
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total = buckets.last()?.1;
    buckets
        .iter()
        .find(|(_, c)| *c >= 0.99 * total)
        .map(|(b, _)| *b)
}
