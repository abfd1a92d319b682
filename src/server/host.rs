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
//!   second by a small thread that otherwise sleeps: one wake-up and one
//!   getppid call a second (`scripts/bench idle`).
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
        let watch = self.poll_on_a_thread(every);
        // Resolves only when the thread saw the parent change; without the
        // thread (or if it ended otherwise) the signal is left to tell.
        let polled = async move {
            if let Some(rx) = watch {
                if rx.await.is_ok() {
                    return;
                }
            }
            std::future::pending::<()>().await
        };
        tokio::pin!(polled);
        loop {
            if !self.is_alive() {
                return;
            }
            tokio::select! {
                _ = &mut polled => return,
                _ = death.recv() => {}
            }
        }
    }

    /// The once-a-second check, on a small thread of its own that only
    /// sleeps: a tokio timer would wake the runtime's workers every second
    /// (about 7 context switches a second, against none when idle); a
    /// sleeping thread costs one. Answers when the parent has changed.
    fn poll_on_a_thread(self, every: Duration) -> Option<tokio::sync::oneshot::Receiver<()>> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let watch = std::thread::Builder::new().name("host-watch".into()).stack_size(64 * 1024).spawn(move || {
            while self.is_alive() {
                if tx.is_closed() {
                    return;
                }
                std::thread::sleep(every);
            }
            let _ = tx.send(());
        });
        match watch {
            Ok(_) => Some(rx),
            Err(e) => {
                tracing::debug!(error = %e, "no host-watch thread; relying on the parent-death signal");
                None
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
    async fn the_polling_thread_answers_only_for_a_changed_parent() {
        let living = Host::current().poll_on_a_thread(FAST).expect("the thread starts");
        assert!(tokio::time::timeout(FAST * 40, living).await.is_err(), "the thread took a living host for gone");
        let stranger = Host { pid: u32::MAX }.poll_on_a_thread(FAST).expect("the thread starts");
        let answer = tokio::time::timeout(FAST * 40, stranger).await.expect("the thread answers within a poll");
        assert!(answer.is_ok(), "the thread said the host is gone");
    }

    #[tokio::test]
    async fn another_parent_means_the_host_is_gone() {
        let stranger = Host { pid: u32::MAX };
        tokio::time::timeout(FAST * 2, stranger.gone_polling_every(FAST)).await.expect("a host that is not our parent is gone at once");
    }
}
