//! A private PostgreSQL server for tests that restart a server or need settings the shared one
//! lacks: `initdb` into a temporary folder, a free port, stopped on drop. Its binaries:
//! `COORD_PG_BIN`, else `/usr/lib/postgresql/15/bin`; as the `postgres` user when run as root.

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// A private PostgreSQL server in a temporary folder, stopped and removed on drop.
pub struct PrivatePg {
    dir: tempfile::TempDir,
    port: u16,
    bin: PathBuf,
    /// Extra `-c` settings given to every start.
    settings: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

impl PrivatePg {
    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs a server binary; as the `postgres` user when we are root (PostgreSQL refuses root).
    pub fn tool(&self, program: &str, args: &[&str]) -> std::process::Output {
        let path = self.bin.join(program);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        cmd.args(args).stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()))
    }

    pub fn start() -> PrivatePg {
        PrivatePg::start_with(&[])
    }

    /// A server started with extra settings (`-c name=value` pairs).
    pub fn start_with(settings: &[&str]) -> PrivatePg {
        let bin = PathBuf::from(std::env::var("COORD_PG_BIN").unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".into()));
        assert!(
            bin.join("initdb").exists(),
            "PostgreSQL server binaries are needed in {} (set COORD_PG_BIN)",
            bin.display()
        );
        let dir = tempfile::tempdir().unwrap();
        if is_root() {
            let out = Command::new("chown").args(["-R", "postgres:postgres"]).arg(dir.path()).output().unwrap();
            assert!(out.status.success(), "chown: {}", String::from_utf8_lossy(&out.stderr));
        }
        let pg = PrivatePg { dir, port: free_port(), bin, settings: settings.join(" ") };
        let data = pg.data().display().to_string();
        let out = pg.tool("initdb", &["-D", &data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
        pg.ctl_start();
        pg
    }

    pub fn ctl_start(&self) {
        let data = self.data().display().to_string();
        let log = self.dir.path().join("server.log").display().to_string();
        let opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off {}",
            self.port,
            self.dir.path().display(),
            self.settings
        );
        let out = self.tool("pg_ctl", &["-D", &data, "-l", &log, "-o", &opts, "-w", "-t", "60", "start"]);
        assert!(out.status.success(), "pg_ctl start: {}", String::from_utf8_lossy(&out.stderr));
    }

    pub fn ctl_stop(&self, mode: &str) {
        let data = self.data().display().to_string();
        let out = self.tool("pg_ctl", &["-D", &data, "-m", mode, "-w", "-t", "60", "stop"]);
        assert!(out.status.success(), "pg_ctl stop: {}", String::from_utf8_lossy(&out.stderr));
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let data = self.data().display().to_string();
        let _ = self.tool("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
    }
}
