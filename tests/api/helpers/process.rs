//! `pilcrow serve` as a process of its own, for tests that kill a server
//! (SIGKILL: no shutdown of any kind runs) and check what it left.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;

use super::app::TestApp;

/// A server process on `app`'s database, signing with its key, on a free
/// port, with `env` (`PILCROW__…` overrides) set; healthy when returned.
pub struct Served {
    pub child: Child,
    pub base: String,
}

impl Served {
    pub async fn start(app: &TestApp, env: &[(&str, String)]) -> Served {
        let secret = app.settings.auth.jwt_secret.as_ref().expect("a secret").expose_secret().to_owned();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_pilcrow"));
        command
            .arg("serve")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("PILCROW_ENV")
            .env_remove("RUST_LOG")
            .env("DATABASE_URL", &app.db_url)
            .env("PILCROW__AUTH__JWT_SECRET", secret)
            .env("PILCROW__SERVER__PORT", port.to_string())
            .env("PILCROW__SERVER__WORKERS", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().expect("starting pilcrow serve");
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let started = Instant::now();
        while client.get(format!("{base}/health")).send().await.map(|r| r.status().as_u16()).ok() != Some(200)
        {
            assert!(started.elapsed() < Duration::from_secs(60), "the server never became healthy");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Served { child, base }
    }

    /// `/api/v1` + `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
