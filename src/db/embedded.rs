//! A private PostgreSQL cluster started from the machine's own binaries, for
//! running without a configured database (development) and for tests (whose
//! extras, `start_ephemeral` and `restart`, need the `test-support` feature).
//!
//! The server listens only on a unix socket inside its own folder, so it never
//! collides with another server. It is started through a tiny shell guard that
//! holds a pipe from us: when we stop it, or when this process dies however it
//! dies, the pipe closes and the guard shuts PostgreSQL down (and, for a
//! throwaway cluster, deletes its folder).

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

const PORT: u16 = 5432;
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// sockaddr_un holds 108 bytes including the terminating NUL.
const MAX_SOCKET_PATH: usize = 107;

const GUARD: &str = r#"
"$@" &
pid=$!
read _ignored
kill -INT "$pid" 2>/dev/null
wait "$pid"
if [ -n "$PILCROW_PG_REMOVE" ]; then rm -rf "$PILCROW_PG_REMOVE"; fi
"#;

#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// The cluster's data lives in `<root>/postgres`, its log in `<root>/postgres.log`.
    pub root: PathBuf,
    /// A throwaway cluster: durability off for speed, folder removed on stop.
    pub ephemeral: bool,
}

/// A TCP listener with TLS on 127.0.0.1, for testing encrypted connections
/// (the private cluster otherwise listens on its unix socket only).
#[derive(Debug, Clone)]
pub struct TlsListener {
    pub port: u16,
    pub cert_pem: String,
    pub key_pem: String,
}

pub struct Cluster {
    port: u16,
    tls: Option<TlsListener>,
    root: PathBuf,
    data_dir: PathBuf,
    socket_dir: PathBuf,
    bin_dir: PathBuf,
    run_as: Option<(nix::unistd::Uid, nix::unistd::Gid)>,
    ephemeral: bool,
    guard: Option<Child>,
    guard_stdin: Option<ChildStdin>,
}

impl Cluster {
    /// A throwaway cluster in a fresh folder under the system temp directory.
    #[cfg(feature = "test-support")]
    pub fn start_ephemeral() -> anyhow::Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let root = std::env::temp_dir().join(format!("pilcrow-pg-{}-{nanos}", std::process::id()));
        Self::start(ClusterOptions { root, ephemeral: true })
    }

    /// A throwaway streaming replica of this cluster (`pg_basebackup -R`),
    /// replaying the primary's log `apply_delay` after it was written.
    #[cfg(feature = "test-support")]
    pub fn start_replica(&self, apply_delay: Duration) -> anyhow::Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let root = std::env::temp_dir().join(format!("pilcrow-pg-replica-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
        hand_over(&root, self.run_as)?;
        let data_dir = root.join("postgres");
        let output = self
            .command("pg_basebackup")
            .arg("-D")
            .arg(&data_dir)
            .arg("-h")
            .arg(&self.socket_dir)
            .args(["-p", &self.port.to_string(), "-U", "postgres", "-R", "-X", "stream", "-c", "fast"])
            .stdin(Stdio::null())
            .output()
            .context("running pg_basebackup")?;
        if !output.status.success() {
            bail!("pg_basebackup failed: {}", String::from_utf8_lossy(&output.stderr).trim());
        }
        // The primary's socket lives in its data directory, and the backup
        // copies the socket's lock file, which would stop the replica starting.
        for entry in fs::read_dir(&data_dir)?.flatten() {
            if entry.file_name().to_string_lossy().starts_with(".s.PGSQL.") {
                fs::remove_file(entry.path())?;
            }
        }
        let mut conf = fs::OpenOptions::new().append(true).open(data_dir.join("postgresql.auto.conf"))?;
        std::io::Write::write_all(
            &mut conf,
            format!("recovery_min_apply_delay = '{}ms'\n", apply_delay.as_millis()).as_bytes(),
        )?;
        Self::start(ClusterOptions { root, ephemeral: true })
    }

    /// Starts (initialising on first use) the cluster under `options.root`.
    pub fn start(options: ClusterOptions) -> anyhow::Result<Self> {
        Self::start_with(options, None)
    }

    /// A throwaway cluster that also accepts TLS connections on `tls.port` of 127.0.0.1.
    #[cfg(feature = "test-support")]
    pub fn start_ephemeral_tls(tls: TlsListener) -> anyhow::Result<Self> {
        let root = std::env::temp_dir().join(format!("pilcrow-pg-tls-{}-{}", std::process::id(), tls.port));
        Self::start_with(ClusterOptions { root, ephemeral: true }, Some(tls))
    }

    fn start_with(options: ClusterOptions, tls: Option<TlsListener>) -> anyhow::Result<Self> {
        let port = tls.as_ref().map_or(PORT, |t| t.port);
        let bin_dir = find_bin_dir().ok_or_else(|| {
            anyhow!(
                "no PostgreSQL server binaries found (looked on PATH, in `pg_config --bindir` and \
                 /usr/lib/postgresql/*/bin): install PostgreSQL (e.g. `apt-get install postgresql`) \
                 or set DATABASE_URL to an existing server"
            )
        })?;
        let run_as = unprivileged_account()?;
        fs::create_dir_all(&options.root).with_context(|| format!("creating {}", options.root.display()))?;
        let root = options.root.canonicalize()?;
        let data_dir = root.join("postgres");
        if options.ephemeral {
            hand_over(&root, run_as)?;
        }
        fs::create_dir_all(&data_dir)?;
        fs::set_permissions(&data_dir, fs::Permissions::from_mode(0o700))?;
        hand_over(&data_dir, run_as)?;
        if run_as.is_some() {
            check_reachable(&data_dir)?;
        }
        let socket_dir = if data_dir.join(format!(".s.PGSQL.{port}")).as_os_str().len() <= MAX_SOCKET_PATH {
            data_dir.clone()
        } else {
            let dir = std::env::temp_dir().join(format!("pilcrow-sock-{}", std::process::id()));
            fs::create_dir_all(&dir)?;
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
            hand_over(&dir, run_as)?;
            dir
        };
        let mut cluster = Cluster {
            port,
            tls,
            root,
            data_dir,
            socket_dir,
            bin_dir,
            run_as,
            ephemeral: options.ephemeral,
            guard: None,
            guard_stdin: None,
        };
        if !cluster.data_dir.join("PG_VERSION").exists() {
            cluster.initdb()?;
        }
        cluster.write_tls_files()?;
        cluster.launch()?;
        Ok(cluster)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// A connection string for `database` on this cluster.
    pub fn url(&self, database: &str) -> String {
        format!("host={} port={} user=postgres dbname={database}", self.socket_dir.display(), self.port)
    }

    /// Creates `database` unless it exists.
    pub async fn ensure_database(&self, database: &str) -> anyhow::Result<()> {
        let mut conn = AsyncPgConnection::establish(&self.url("postgres")).await?;
        let exists: i64 = diesel::dsl::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!(
            "count(*) FROM pg_database WHERE datname = '{}'",
            database.replace('\'', "''")
        )))
        .get_result(&mut conn)
        .await?;
        if exists == 0 {
            diesel::sql_query(format!("CREATE DATABASE \"{}\"", database.replace('"', "\"\"")))
                .execute(&mut conn)
                .await?;
        }
        Ok(())
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.tool(program));
        if let Some((uid, gid)) = self.run_as {
            cmd.uid(uid.as_raw()).gid(gid.as_raw());
        }
        cmd.env_remove("PGDATA").env("LC_ALL", "C.UTF-8");
        cmd
    }

    /// A PostgreSQL program: beside `postgres`, or beside the file a
    /// linked `postgres` points to (PATH may hold links to the server only).
    fn tool(&self, program: &str) -> PathBuf {
        let here = self.bin_dir.join(program);
        if here.is_file() {
            return here;
        }
        fs::canonicalize(self.bin_dir.join("postgres"))
            .ok()
            .and_then(|real| Some(real.parent()?.join(program)))
            .filter(|p| p.is_file())
            .unwrap_or_else(|| PathBuf::from(program))
    }

    fn initdb(&self) -> anyhow::Result<()> {
        let output = self
            .command("initdb")
            .arg("-D")
            .arg(&self.data_dir)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-instructions"])
            .stdin(Stdio::null())
            .output()
            .context("running initdb")?;
        if !output.status.success() {
            bail!(
                "initdb failed for {}: {}",
                self.data_dir.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }

    /// The server's certificate and key, beside its configuration (relative
    /// paths in postgresql.conf are read from the data directory).
    fn write_tls_files(&self) -> anyhow::Result<()> {
        let Some(tls) = &self.tls else { return Ok(()) };
        for (name, contents, mode) in
            [("server.crt", &tls.cert_pem, 0o644), ("server.key", &tls.key_pem, 0o600)]
        {
            let path = self.data_dir.join(name);
            fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
            fs::set_permissions(&path, fs::Permissions::from_mode(mode))?;
            hand_over(&path, self.run_as)?;
        }
        Ok(())
    }

    fn launch(&mut self) -> anyhow::Result<()> {
        let log_path = self.root.join("postgres.log");
        let log = fs::OpenOptions::new().create(true).append(true).open(&log_path)?;
        // `sh -c GUARD sh postgres args...`: the guard runs "$@".
        let postgres = self.bin_dir.join("postgres");
        let mut guard = Command::new("/bin/sh");
        if let Some((uid, gid)) = self.run_as {
            guard.uid(uid.as_raw()).gid(gid.as_raw());
        }
        guard
            .arg("-c")
            .arg(GUARD)
            .arg("sh")
            .arg(postgres)
            .arg("-D")
            .arg(&self.data_dir)
            .arg("-k")
            .arg(&self.socket_dir)
            .args(["-p", &self.port.to_string()]);
        if self.tls.is_some() {
            guard.args(["-c", "listen_addresses=127.0.0.1", "-c", "ssl=on"]);
            guard.args(["-c", "ssl_cert_file=server.crt", "-c", "ssl_key_file=server.key"]);
        } else {
            guard.args(["-c", "listen_addresses="]);
        }
        if self.ephemeral {
            guard.args([
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=300",
            ]);
            guard.env("PILCROW_PG_REMOVE", &self.root);
        } else {
            guard.env_remove("PILCROW_PG_REMOVE");
        }
        let child = guard
            .env("LC_ALL", "C.UTF-8")
            .env_remove("PGDATA")
            // Its own process group: a Ctrl-C in the terminal reaches us, and we
            // stop the database only after the server has drained.
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting postgres")?;
        self.guard = Some(child);
        self.guard_stdin = self.guard.as_mut().and_then(|c| c.stdin.take());
        self.wait_ready(&log_path)
    }

    /// Waits for postmaster.pid to say "ready" or "standby" (PostgreSQL writes it there
    /// once it accepts connections).
    fn wait_ready(&mut self, log_path: &Path) -> anyhow::Result<()> {
        let pid_file = self.data_dir.join("postmaster.pid");
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(contents) = fs::read_to_string(&pid_file) {
                // "standby": a hot standby that accepts connections.
                if contents.lines().nth(7).is_some_and(|l| matches!(l.trim(), "ready" | "standby"))
                    && self.socket_dir.join(format!(".s.PGSQL.{}", self.port)).exists()
                {
                    return Ok(());
                }
            }
            let exited = match self.guard.as_mut() {
                Some(child) => child.try_wait()?.is_some(),
                None => true,
            };
            let postgres_gone = exited || !self.postgres_alive_or_starting(&pid_file);
            if postgres_gone || Instant::now() > deadline {
                self.stop();
                bail!(
                    "PostgreSQL did not start in {}; its log ({}) ends with:\n{}",
                    self.data_dir.display(),
                    log_path.display(),
                    tail(log_path, 2000)
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn postgres_alive_or_starting(&self, pid_file: &Path) -> bool {
        // Until the pid file exists postgres may still be starting; once it
        // exists, a line-1 pid that is gone means startup failed.
        let Ok(contents) = fs::read_to_string(pid_file) else { return true };
        let Some(pid) = contents.lines().next().and_then(|l| l.trim().parse::<i32>().ok()) else {
            return true;
        };
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
    }

    /// Fast shutdown; waits for it. Safe to call twice.
    pub fn stop(&mut self) {
        drop(self.guard_stdin.take());
        if let Some(mut child) = self.guard.take() {
            let _ = child.wait();
        }
    }

    /// Starts a stopped cluster again on the same data (not for ephemeral ones,
    /// whose folder is gone after `stop`). The outage test uses it.
    #[cfg(feature = "test-support")]
    pub fn restart(&mut self) -> anyhow::Result<()> {
        if self.guard.is_none() {
            self.launch()?;
        }
        Ok(())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

fn tail(path: &Path, max: usize) -> String {
    let mut s = String::new();
    if let Ok(mut f) = fs::File::open(path) {
        let _ = f.read_to_string(&mut s);
    }
    let start = s.len().saturating_sub(max);
    let start = (start..s.len()).find(|&i| s.is_char_boundary(i)).unwrap_or(s.len());
    s[start..].to_owned()
}

/// initdb refuses to run as root; when we are root, the cluster runs as the
/// `postgres` system account.
fn unprivileged_account() -> anyhow::Result<Option<(nix::unistd::Uid, nix::unistd::Gid)>> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    let user = nix::unistd::User::from_name("postgres")?.ok_or_else(|| {
        anyhow!(
            "running as root needs a `postgres` system account for the private cluster, or set DATABASE_URL"
        )
    })?;
    Ok(Some((user.uid, user.gid)))
}

fn hand_over(path: &Path, run_as: Option<(nix::unistd::Uid, nix::unistd::Gid)>) -> anyhow::Result<()> {
    if let Some((uid, gid)) = run_as {
        nix::unistd::chown(path, Some(uid), Some(gid))
            .with_context(|| format!("handing {} to the postgres account", path.display()))?;
    }
    Ok(())
}

/// The postgres account must be able to walk down to its data directory.
fn check_reachable(data_dir: &Path) -> anyhow::Result<()> {
    for dir in data_dir.ancestors().skip(1) {
        let mode = fs::metadata(dir)?.permissions().mode();
        if mode & 0o001 == 0 {
            bail!(
                "the postgres account cannot reach {} because {} is not searchable by others; \
                 work from another folder, set database.data_dir, or set DATABASE_URL",
                data_dir.display(),
                dir.display()
            );
        }
    }
    Ok(())
}

fn find_bin_dir() -> Option<PathBuf> {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    if let Some(path) = std::env::var_os("PATH") {
        if let Some(dir) = std::env::split_paths(&path).find(|d| has_server(d)) {
            return Some(dir);
        }
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_server(&dir) {
            return Some(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            has_server(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, dir)| dir)
}
