//! Lease owner names of coordinator processes (`coord run`, `resume`, `serve`, `mcp`, `worker`)
//! and whether the process behind one is gone.
//!
//! A name is `coord-PID@HOST/PIDNS/BOOT`: the process id, the host name, the inode of the
//! process's PID namespace (`/proc/self/ns/pid`) and the first 16 hex digits of the kernel's boot
//! id (`/proc/sys/kernel/random/boot_id`). A PID means something only inside its namespace and
//! boot: containers on host networking share the host name but not the PID namespace, and a
//! rebooted machine reuses PIDs. So an owner is declared dead only when its host, boot and PID
//! namespace are all this process's and `kill(pid, 0)` says no such process; in every other case
//! (another machine, another container, another boot, a name of the older `coord-PID@HOST`
//! form, a person) nobody can tell, and its leases expire instead.

use std::os::unix::fs::MetadataExt;
use std::sync::OnceLock;

use coord_store::WORKER_OWNER_PREFIX as OWNER_PREFIX;

/// Where a process lives: what a PID is relative to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The host name.
    pub host: String,
    /// The inode of the PID namespace.
    pub pid_ns: u64,
    /// The boot id, its first 16 hex digits (dashes removed).
    pub boot: String,
}

impl Place {
    /// This process's place; `None` where it cannot be read in full (no `/proc`: not Linux).
    pub fn here() -> Option<&'static Place> {
        static HERE: OnceLock<Option<Place>> = OnceLock::new();
        HERE.get_or_init(|| {
            let host = hostname();
            let pid_ns = std::fs::metadata("/proc/self/ns/pid").ok()?.ino();
            let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
            let boot: String = boot.trim().chars().filter(|c| c.is_ascii_hexdigit()).take(16).collect();
            (!host.is_empty() && boot.len() == 16).then_some(Place { host, pid_ns, boot })
        })
        .as_ref()
    }
}

/// What an owner name says about its process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// A coordinator process whose place is known.
    Placed {
        /// Its process id, inside its PID namespace.
        pid: u32,
        /// Where that PID means something.
        place: Place,
    },
    /// A coordinator process of unknown place: the older `coord-PID@HOST` form, or a process
    /// that could not read its place. Its liveness cannot be told.
    Unplaced,
    /// Not a coordinator process (a person or an agent host).
    Other,
}

impl Owner {
    /// Reads an owner name.
    pub fn parse(name: &str) -> Owner {
        let Some(rest) = name.strip_prefix(OWNER_PREFIX) else { return Owner::Other };
        let Some((pid, located)) = rest.split_once('@') else { return Owner::Unplaced };
        let Ok(pid) = pid.parse::<u32>() else { return Owner::Unplaced };
        // From the right: the boot and the namespace never hold a `/`, a host name might.
        let mut parts = located.rsplitn(3, '/');
        let (Some(boot), Some(pid_ns), Some(host)) = (parts.next(), parts.next(), parts.next()) else {
            return Owner::Unplaced;
        };
        let Ok(pid_ns) = pid_ns.parse::<u64>() else { return Owner::Unplaced };
        if host.is_empty() || boot.len() != 16 || !boot.chars().all(|c| c.is_ascii_hexdigit()) {
            return Owner::Unplaced;
        }
        Owner::Placed { pid, place: Place { host: host.to_string(), pid_ns, boot: boot.to_string() } }
    }
}

/// The owner name of process `pid` living at `place` (of the older form without one).
pub fn owner_name(pid: u32, place: Option<&Place>) -> String {
    match place {
        Some(p) => format!("{OWNER_PREFIX}{pid}@{}/{}/{}", p.host, p.pid_ns, p.boot),
        None => format!("{OWNER_PREFIX}{pid}@{}", hostname()),
    }
}

/// This machine's host name (empty where it cannot be read).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default()
}

/// This process's identity as a lease owner: `coord-PID@HOST/PIDNS/BOOT`.
pub fn owner_id() -> String {
    owner_name(std::process::id(), Place::here())
}

/// Whether the coordinator process that owns a lease is gone: only when its host, boot and PID
/// namespace are this process's and no process has its PID. Everyone else's leases expire.
pub fn owner_is_dead(owner: &str) -> bool {
    let Some(here) = Place::here() else { return false };
    dead_at(owner, here, std::process::id(), |pid| {
        !matches!(nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None), Err(nix::errno::Errno::ESRCH))
    })
}

/// [`owner_is_dead`] seen from `here` by process `me`, with `exists` asking whether a PID of
/// this namespace is taken.
fn dead_at(owner: &str, here: &Place, me: u32, exists: impl Fn(i32) -> bool) -> bool {
    let Owner::Placed { pid, place } = Owner::parse(owner) else { return false };
    let Ok(raw) = i32::try_from(pid) else { return false };
    // PID 0 and below address process groups in kill(2): never a process of its own.
    if place != *here || pid == me || raw <= 0 {
        return false;
    }
    !exists(raw)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn here() -> Place {
        Place { host: "build-7".into(), pid_ns: 4026531836, boot: "42895e8450724f35".into() }
    }

    /// Process 4242 is gone, every other PID is taken.
    fn only_4242_gone(pid: i32) -> bool {
        pid != 4242
    }

    #[test]
    fn names_round_trip_and_keep_the_worker_prefix() {
        let name = owner_name(4242, Some(&here()));
        assert_eq!(name, "coord-4242@build-7/4026531836/42895e8450724f35");
        assert!(name.starts_with(OWNER_PREFIX), "the store tells coordinators' leases by the prefix");
        assert_eq!(Owner::parse(&name), Owner::Placed { pid: 4242, place: here() });
        // A host name with a slash still reads back: the place is taken from the right.
        let odd = Place { host: "a/b".into(), ..here() };
        assert_eq!(Owner::parse(&owner_name(7, Some(&odd))), Owner::Placed { pid: 7, place: odd });
    }

    #[test]
    fn a_dead_pid_of_this_host_boot_and_namespace_is_dead() {
        let name = owner_name(4242, Some(&here()));
        assert!(dead_at(&name, &here(), 1, only_4242_gone));
        // The same PID alive: not dead.
        assert!(!dead_at(&name, &here(), 1, |_| true));
        // Ourselves: never.
        assert!(!dead_at(&name, &here(), 4242, only_4242_gone));
    }

    #[test]
    fn the_same_host_in_another_pid_namespace_or_boot_cannot_be_told() {
        // A container on host networking: same host name, its own PID namespace; its PID 4242
        // means nothing here, however dead our 4242 is.
        let container = Place { pid_ns: 4026532999, ..here() };
        assert!(!dead_at(&owner_name(4242, Some(&container)), &here(), 1, only_4242_gone));
        // Before a reboot.
        let earlier = Place { boot: "0123456789abcdef".into(), ..here() };
        assert!(!dead_at(&owner_name(4242, Some(&earlier)), &here(), 1, only_4242_gone));
        // Another machine.
        let other = Place { host: "build-8".into(), ..here() };
        assert!(!dead_at(&owner_name(4242, Some(&other)), &here(), 1, only_4242_gone));
    }

    #[test]
    fn old_and_foreign_names_are_never_declared_dead() {
        for name in [
            "coord-4242@build-7",
            "coord-4242@",
            "coord-x@build-7/4026531836/42895e8450724f35",
            "coord-4242@build-7/notanumber/42895e8450724f35",
            "coord-4242@build-7/4026531836/short",
            "coord-4242@/4026531836/42895e8450724f35",
            "coord-0@build-7/4026531836/42895e8450724f35",
            "coord-4294967295@build-7/4026531836/42895e8450724f35",
            "person:alice",
            "mcp-host",
        ] {
            assert!(!dead_at(name, &here(), 1, |_| false), "{name}");
        }
        assert_eq!(Owner::parse("coord-4242@build-7"), Owner::Unplaced);
        assert_eq!(Owner::parse("person:alice"), Owner::Other);
    }

    #[test]
    fn this_process_reads_its_place_and_a_dead_child_is_dead() {
        let Some(here) = Place::here() else {
            eprintln!("skipped: this system has no /proc to read a place from");
            return;
        };
        assert_eq!(owner_id(), owner_name(std::process::id(), Some(here)));
        assert!(!owner_is_dead(&owner_id()), "this process is alive");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(owner_is_dead(&owner_name(pid, Some(here))), "a reaped child is gone");
        let elsewhere = Place { pid_ns: here.pid_ns.wrapping_add(1), ..here.clone() };
        assert!(!owner_is_dead(&owner_name(pid, Some(&elsewhere))), "another namespace's PID");
        assert!(!owner_is_dead(&owner_name(pid, None)), "the old form");
    }
}
