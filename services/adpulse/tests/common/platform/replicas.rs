//! More replicas of a service beside the platform's own, for what every
//! replica must do alike (kill switches).

use std::time::{Duration, Instant};

use super::{Mode, Platform, Ports, tail};
use crate::common::http::Http;

impl Platform {
    /// Every gateway answering ingestion: in the distributed platform its
    /// own and a second `adpulse gateway` started now on the same
    /// configuration (ready when this returns); under `adpulse up`, its
    /// one gateway.
    pub async fn gateways(&mut self) -> Vec<Http> {
        let own = Http::new(&format!("http://127.0.0.1:{}", self.ports.gateway));
        if self.mode == Mode::Embedded {
            return vec![own];
        }
        // A port free when picked may be taken before the gateway binds it
        // (by another test's connection): then another one.
        for _ in 0..3 {
            let addr = self.addr(Ports::free().gateway);
            self.spawn_with(
                "gateway",
                &["gateway"],
                &[("ADPULSE__GATEWAY__LISTEN", &addr)],
            );
            let second = Http::new(&format!("http://{addr}"));
            if self.second_ready(&second).await {
                return vec![own, second];
            }
        }
        panic!("the second gateway could not bind a port\n{}", self.logs());
    }

    /// Waits until the last process started answers ready (true), or exits
    /// because its port was taken (false).
    async fn second_ready(&mut self, http: &Http) -> bool {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = http.try_send("GET", "/health/ready", &[], "").await
                && r.status == 200
            {
                return true;
            }
            let exited = self
                .procs
                .last_mut()
                .and_then(|p| p.child.try_wait().ok().flatten());
            if exited.is_some() {
                let log = self
                    .procs
                    .last()
                    .map(|p| tail(&p.log, 5))
                    .unwrap_or_default();
                assert!(log.contains("binding"), "the second gateway exited:\n{log}");
                self.procs.pop();
                return false;
            }
            assert!(
                Instant::now() < deadline,
                "the second gateway did not get ready\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Platform {
    /// The configuration every child gets (`ADPULSE__…`), for replicas
    /// started by other means (deploy/host/adpulse-host).
    pub fn config(&self) -> &[(String, String)] {
        &self.env
    }

    /// Stops (SIGKILL) the platform's own processes of `role`, for tests
    /// whose replicas of that role run elsewhere.
    pub fn stop_own(&mut self, role: &str) {
        for p in self.procs.iter_mut().filter(|p| p.name == role) {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
        self.procs.retain(|p| p.name != role);
    }
}

impl Platform {
    /// Waits up to `within` for the (first) process to exit; its status,
    /// or `None` if it still runs.
    pub async fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            let p = self.procs.first_mut()?;
            if let Some(status) = p.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
