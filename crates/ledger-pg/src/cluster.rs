//! A throwaway PostgreSQL server for the tests and the benchmarks: a fresh
//! cluster made with the `postgresql` Debian package's own `initdb`,
//! started with `pg_ctl` on a free port of 127.0.0.1 (as the `postgres`
//! user when this process is root, which `initdb` refuses), stopped and
//! removed on drop. Where the binaries are missing, [`Postgres::start`]
//! says why, so that a test can say it was skipped (`.ci/run` installs the
//! package). Not for production: trust authentication on loopback.

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// Why a cluster could not be made or started.
pub type Result<T> = std::result::Result<T, String>;

/// A running PostgreSQL cluster of its own.
pub struct Postgres {
    dir: TempDir,
    bin: PathBuf,
    port: u16,
    /// Databases made so far, to name the next.
    made: std::cell::Cell<u32>,
}

/// The directory of `initdb` and `pg_ctl`: `$PG_BIN`, or the newest
/// `/usr/lib/postgresql/N/bin`.
fn bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, b)| b)
}

/// Whether this process runs as root, which `initdb` refuses.
fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// A server certificate and its key, in PEM, for a cluster that accepts
/// TCP connections only over TLS.
pub struct ServerTls {
    /// The certificate chain, leaf first.
    pub cert_pem: String,
    /// Its private key.
    pub key_pem: String,
}

impl Postgres {
    /// Starts a cluster, or returns why it cannot (no binaries here).
    pub fn start() -> Result<Postgres> {
        Postgres::start_with(None)
    }

    /// Starts a cluster whose TCP port accepts only TLS connections, made
    /// with `tls`; [`Postgres::database`] goes through its Unix socket.
    pub fn start_tls(tls: ServerTls) -> Result<Postgres> {
        Postgres::start_with(Some(tls))
    }

    fn start_with(tls: Option<ServerTls>) -> Result<Postgres> {
        let Some(bin) = bin_dir() else {
            return Err(
                "no PostgreSQL server binaries (install the postgresql package, as .ci/run does, or set PG_BIN)".into(),
            );
        };
        let io = |e: std::io::Error| e.to_string();
        let dir = tempfile::Builder::new()
            .prefix("rl-pg-")
            .tempdir()
            .map_err(io)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(io)?
            .port();
        let pg = Postgres {
            dir,
            bin,
            port,
            made: std::cell::Cell::new(0),
        };
        let mut options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200 -c log_connections=on",
            path(pg.dir.path())
        );
        if let Some(tls) = tls {
            use std::os::unix::fs::PermissionsExt;
            let file = |name: &str, text: &str, mode: u32| -> Result<PathBuf> {
                let file = pg.dir.path().join(name);
                std::fs::write(&file, text).map_err(io)?;
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode))
                    .map_err(io)?;
                Ok(file)
            };
            let cert = file("server.crt", &tls.cert_pem, 0o644)?;
            let key = file("server.key", &tls.key_pem, 0o600)?;
            let hba = file(
                "pg_hba.conf",
                "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
                0o644,
            )?;
            options.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={} -c hba_file={}",
                path(&cert),
                path(&key),
                path(&hba)
            ));
        }
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(pg.dir.path())
                .status()
                .map_err(|e| format!("chown: {e}"))?;
            if !status.success() {
                return Err(format!(
                    "cannot give {} to the postgres user",
                    pg.dir.path().display()
                ));
            }
        }
        let data = pg.data();
        pg.run(
            "initdb",
            &[
                "-D",
                path(&data),
                "-U",
                "ledger",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )?;
        let log = pg.dir.path().join("server.log");
        pg.run(
            "pg_ctl",
            &[
                "-D",
                path(&data),
                "-o",
                &options,
                "-l",
                path(&log),
                "-w",
                "start",
            ],
        )?;
        Ok(pg)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs one of the server's programs, as the postgres user when this
    /// process is root.
    fn run(&self, program: &str, args: &[&str]) -> Result<()> {
        let exe = self.bin.join(program);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd
            .args(args)
            .output()
            .map_err(|e| format!("cannot run {program}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "{program} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(())
    }

    /// The address of database `db` on this server.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://ledger@127.0.0.1:{}/{db}", self.port)
    }

    /// A new, empty database, and its address.
    pub fn database(&self) -> Result<String> {
        let n = self.made.get() + 1;
        self.made.set(n);
        let name = format!("ledgers{n}");
        // Through the Unix socket, which needs no TLS.
        let mut client = postgres::Config::new()
            .host_path(self.dir.path())
            .port(self.port)
            .user("ledger")
            .dbname("postgres")
            .connect(postgres::NoTls)
            .map_err(|e| e.to_string())?;
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .map_err(|e| e.to_string())?;
        Ok(self.url(&name))
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How many connections the server has received so far, from its log
    /// (every connection is logged, as it arrives).
    pub fn connections(&self) -> Result<usize> {
        let log = std::fs::read_to_string(self.dir.path().join("server.log"))
            .map_err(|e| format!("server.log: {e}"))?;
        Ok(log.matches("connection received:").count())
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self.run("pg_ctl", &["-D", path(&data), "-m", "immediate", "stop"]);
    }
}
