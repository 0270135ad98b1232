//! What this machine can do to confine a program: the Landlock ABI the kernel offers, and
//! whether coord may create namespaces (as root, or through unprivileged user namespaces).
//! `coord sandbox check` prints it; a machine that cannot confine anything makes coord refuse
//! to run command and LLM specialists unless their `sandbox = "off"`.

use serde::Serialize;

/// The confinement this machine offers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Support {
    /// The operating system.
    pub os: &'static str,
    /// The Landlock ABI (0: none).
    pub landlock_abi: u8,
    /// Whether user, mount, PID and network namespaces can be created.
    pub namespaces: bool,
    /// Why not, when they cannot.
    pub namespaces_note: Option<String>,
}

impl Support {
    /// Whether coord can confine a program here at all.
    pub fn can_confine(&self) -> bool {
        self.landlock_abi >= 1
    }

    /// One line for people: which layers apply.
    pub fn summary(&self) -> String {
        if !self.can_confine() {
            return format!("no sandbox on this machine ({}: no Landlock)", self.os);
        }
        let mut layers = vec![format!("Landlock ABI {}", self.landlock_abi)];
        if self.landlock_abi >= 4 {
            layers.push("TCP rules".into());
        }
        if self.namespaces {
            layers.push("user, mount, PID and network namespaces".into());
        }
        let mut s = format!("sandbox: {}", layers.join(", "));
        if let Some(note) = &self.namespaces_note {
            s.push_str(&format!(" (no namespaces: {note}; processes that leave their group may outlive an attempt)"));
        }
        s
    }

    /// Why a specialist cannot run here, and what to do.
    pub fn refusal(&self) -> String {
        format!(
            "this machine offers no sandbox ({}): coord refuses to run command and LLM specialists unconfined; \
             set `sandbox = \"off\"` in their [specialists.NAME] section of coord.toml to run them anyway",
            match self.os {
                "linux" => "the kernel has no Landlock (Linux 5.13 or newer, enabled at boot)",
                _ => "only Linux with Landlock is supported",
            }
        )
    }
}

/// What this machine offers (probed once per process).
pub fn support() -> Support {
    static ONCE: std::sync::OnceLock<Support> = std::sync::OnceLock::new();
    ONCE.get_or_init(probe).clone()
}

#[cfg(target_os = "linux")]
fn probe() -> Support {
    let (namespaces, namespaces_note) = namespaces();
    Support { os: "linux", landlock_abi: landlock_abi(), namespaces, namespaces_note }
}

#[cfg(not(target_os = "linux"))]
fn probe() -> Support {
    Support { os: std::env::consts::OS, landlock_abi: 0, namespaces: false, namespaces_note: Some("not Linux".into()) }
}

/// The highest ABI for which the kernel creates a ruleset with every file-system right.
#[cfg(target_os = "linux")]
fn landlock_abi() -> u8 {
    use landlock::{ABI, Access, AccessFs, CompatLevel, Compatible, Ruleset, RulesetAttr};
    let abis = [ABI::V7, ABI::V6, ABI::V5, ABI::V4, ABI::V3, ABI::V2, ABI::V1];
    for (i, abi) in abis.iter().enumerate() {
        let created = Ruleset::default()
            .set_compatibility(CompatLevel::HardRequirement)
            .handle_access(AccessFs::from_all(*abi))
            .and_then(|r| r.create());
        if created.is_ok() {
            return (7 - i) as u8;
        }
    }
    0
}

#[cfg(target_os = "linux")]
fn namespaces() -> (bool, Option<String>) {
    let read = |p: &str| std::fs::read_to_string(p).ok().map(|s| s.trim().to_string());
    if read("/proc/sys/user/max_user_namespaces").as_deref() == Some("0") {
        return (false, Some("user namespaces are disabled (user.max_user_namespaces = 0)".into()));
    }
    if nix::unistd::geteuid().is_root() {
        return (true, None);
    }
    if read("/proc/sys/kernel/unprivileged_userns_clone").as_deref() == Some("0") {
        return (
            false,
            Some("unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone = 0)".into()),
        );
    }
    if read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref() == Some("1") {
        return (false, Some("AppArmor restricts unprivileged user namespaces".into()));
    }
    (true, None)
}
