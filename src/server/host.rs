//! The provider ends with its host. Terraform normally stops a provider
//! with GRPCController.Shutdown, but a host that dies abruptly (SIGKILL,
//! an OOM kill, a cancelled CI job) never sends it. A provider left behind
//! is re-parented, keeps its listening socket, and keeps the stderr pipe
//! it inherited open, so whatever reads Terraform's output to its end (a
//! CI step, a wrapper) waits forever. So the provider watches its parent:
//!
//! - on Linux the kernel sends a signal when the parent dies
//!   (`PR_SET_PDEATHSIG`); it is armed at start, and the parent checked
//!   right after, for a parent that died before the signal was armed;
//! - everywhere, and as a second guard, the parent pid is checked once a
//!   second: one timer wake-up and one getppid call.
//!
//! The kernel also sends that signal when the *thread* that started the
//! process exits while the parent process lives on, so the signal alone is
//! never taken as death: the parent pid is, because a child whose parent
//! dies gets a new parent (init or a subreaper) before the signal arrives.

use std::time::Duration;

/// How often the parent pid is checked.
pub const POLL: Duration = Duration::from_secs(1);

/// The process that started the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Host {
    pid: u32,
}

impl Host {
    /// The parent now: read first thing at start, before anything could
    /// have outlived it.
    pub fn current() -> Host {
        Host { pid: std::os::unix::process::parent_id() }
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Whether this process still has the parent it started with.
    pub fn is_alive(&self) -> bool {
        std::os::unix::process::parent_id() == self.pid
    }

    /// Resolves once the host is gone; never while it lives.
    pub async fn gone(self) {
        self.gone_polling_every(POLL).await
    }

    async fn gone_polling_every(self, every: Duration) {
        let mut death = DeathSignal::arm();
        let mut poll = tokio::time::interval(every);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            if !self.is_alive() {
                return;
            }
            tokio::select! {
                _ = poll.tick() => {}
                _ = death.recv() => {}
            }
        }
    }
}

/// The kernel's parent-death signal, where there is one. SIGUSR1 because
/// nothing else sends it to a provider; its handler is installed before
/// the signal is armed, so it never takes the default action (exit without
/// a word).
struct DeathSignal {
    #[cfg(target_os = "linux")]
    signal: Option<tokio::signal::unix::Signal>,
}

impl DeathSignal {
    #[cfg(target_os = "linux")]
    fn arm() -> DeathSignal {
        let signal = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1()) {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!(error = %e, "no parent-death signal handler; polling the parent only");
                return DeathSignal { signal: None };
            }
        };
        // SAFETY: prctl with PR_SET_PDEATHSIG only sets a signal number on
        // this process; no memory is passed.
        if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGUSR1 as libc::c_ulong, 0, 0, 0) } != 0 {
            tracing::debug!(error = %std::io::Error::last_os_error(), "PR_SET_PDEATHSIG refused; polling the parent only");
        }
        DeathSignal { signal: Some(signal) }
    }

    #[cfg(not(target_os = "linux"))]
    fn arm() -> DeathSignal {
        DeathSignal {}
    }

    /// The next signal; pending forever where there is none.
    async fn recv(&mut self) {
        #[cfg(target_os = "linux")]
        if let Some(s) = &mut self.signal {
            if s.recv().await.is_some() {
                return;
            }
        }
        std::future::pending::<()>().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_runner_is_a_living_host() {
        let host = Host::current();
        assert!(host.is_alive());
        assert_eq!(host.pid(), std::os::unix::process::parent_id());
    }

    const FAST: Duration = Duration::from_millis(5);

    #[tokio::test]
    async fn a_living_host_is_never_gone() {
        let watch = tokio::time::timeout(FAST * 40, Host::current().gone_polling_every(FAST)).await;
        assert!(watch.is_err(), "the host was taken for gone while alive, within 40 polls");
    }

    #[tokio::test]
    async fn another_parent_means_the_host_is_gone() {
        let stranger = Host { pid: u32::MAX };
        tokio::time::timeout(FAST * 2, stranger.gone_polling_every(FAST)).await.expect("a host that is not our parent is gone at once");
    }
}
