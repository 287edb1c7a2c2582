//! PgBouncer in front of the test cluster, for the tests of what the server
//! does behind a pooler. PgBouncer is not part of Rust or PostgreSQL: where
//! it is not installed the tests that need it say so and pass (`.ci/run`
//! installs it). `PILCROW_TEST_POOLER=session` sends every test app's pooled
//! connections through one shared session-mode PgBouncer, with
//! `database.direct_url` on the cluster itself.

use std::io::Write;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::cluster::cluster_address;

/// The guard keeps PgBouncer only as long as the test process: when the
/// process ends, its end of the pipe closes and the guard stops PgBouncer.
/// SIGTERM, not SIGINT: PgBouncer's SIGINT waits for every client to leave,
/// and a test's app is still connected when its PgBouncer is dropped.
const GUARD: &str = r#"
"$@" &
pid=$!
read _ignored
kill -TERM "$pid" 2>/dev/null
wait "$pid"
"#;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolMode {
    Session,
    Transaction,
}

pub struct PgBouncer {
    pub port: u16,
    _guard: Mutex<Child>,
    /// Its configuration and log, removed once it has stopped.
    dir: PathBuf,
}

fn binary() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .and_then(|path| std::env::split_paths(&path).map(|d| d.join("pgbouncer")).find(|p| p.is_file()));
    on_path.or_else(|| Some(PathBuf::from("/usr/sbin/pgbouncer")).filter(|p| p.is_file()))
}

impl PgBouncer {
    /// PgBouncer in `mode` in front of the test cluster; `None` (after saying
    /// so) where it is not installed. `pass_options: false` leaves out
    /// `ignore_startup_parameters`, as PgBouncer is configured by default.
    pub fn start(mode: PoolMode, pass_options: bool, test: &str) -> Option<PgBouncer> {
        let Some(bin) = binary() else {
            println!("skipped {test}: pgbouncer is not installed (apt-get install pgbouncer)");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
        let dir = std::env::temp_dir().join(format!("pilcrow-pgbouncer-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("pgbouncer folder");
        let backend = cluster_address().replace(" user=postgres", "");
        let mode_name = match mode {
            PoolMode::Session => "session",
            PoolMode::Transaction => "transaction",
        };
        let ignore = if pass_options { "ignore_startup_parameters = options\n" } else { "" };
        let ini = format!(
            "[databases]\n* = {backend} user=postgres\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\n\
             listen_port = {port}\nunix_socket_dir =\nauth_type = any\npool_mode = {mode_name}\n\
             default_pool_size = 60\nmax_client_conn = 2000\n{ignore}logfile = {log}\n",
            log = dir.join("pgbouncer.log").display()
        );
        let ini_path = dir.join("pgbouncer.ini");
        std::fs::write(&ini_path, ini).expect("pgbouncer.ini");
        let mut guard = Command::new("/bin/sh");
        // PgBouncer will not run as root; the cluster's account will do.
        if nix::unistd::geteuid().is_root() {
            let account =
                nix::unistd::User::from_name("postgres").ok().flatten().expect("a postgres account");
            nix::unistd::chown(&dir, Some(account.uid), Some(account.gid)).expect("chown");
            nix::unistd::chown(&ini_path, Some(account.uid), Some(account.gid)).expect("chown");
            std::os::unix::process::CommandExt::uid(&mut guard, account.uid.as_raw());
            std::os::unix::process::CommandExt::gid(&mut guard, account.gid.as_raw());
        }
        let child = guard
            .arg("-c")
            .arg(GUARD)
            .arg("sh")
            .arg(bin)
            .arg(&ini_path)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting pgbouncer");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "pgbouncer did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(PgBouncer { port, _guard: Mutex::new(child), dir })
    }

    /// The URL of `db_url`'s database through this pooler.
    pub fn url_for(&self, db_url: &str) -> String {
        let db = db_url.rsplit("dbname=").next().unwrap_or("postgres");
        format!("host=127.0.0.1 port={} user=postgres dbname={db} sslmode=disable", self.port)
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        if let Ok(mut child) = self._guard.lock() {
            if let Some(stdin) = child.stdin.as_mut() {
                let _ = stdin.write_all(b"\n");
            }
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The session-mode PgBouncer every test app uses when
/// `PILCROW_TEST_POOLER=session`; `None` otherwise.
pub fn shared_session_pooler() -> Option<&'static PgBouncer> {
    static SHARED: OnceLock<Option<PgBouncer>> = OnceLock::new();
    SHARED
        .get_or_init(|| match std::env::var("PILCROW_TEST_POOLER").as_deref() {
            Ok("session") => Some(
                // Its own thread: started from a test's runtime, nothing here blocks it.
                std::thread::spawn(|| PgBouncer::start(PoolMode::Session, true, "PILCROW_TEST_POOLER"))
                    .join()
                    .expect("pgbouncer thread")
                    .expect("PILCROW_TEST_POOLER=session needs pgbouncer installed"),
            ),
            _ => None,
        })
        .as_ref()
}
