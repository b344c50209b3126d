//! The deployment queue of one environment: deployments never overlap, and a newer one waits
//! its turn instead of cancelling the older one.
//!
//! Each deployment takes a numbered ticket (a file in `tickets/`); numbers come from a counter
//! file updated under a lock, so they follow the order of arrival. The lowest ticket holds the
//! environment; the others poll until theirs is the lowest.
//!
//! A ticket is *held* by an exclusive `flock` on its file, which the kernel releases when the
//! last process holding it ends, whatever ended it. The deployment's own processes (its hooks)
//! inherit the lock, so a hook that outlives upkeep (killed with SIGKILL) or its step keeps the
//! environment closed until it ends: the next deployment never runs beside an orphaned hook.
//! A ticket nobody holds any more is removed by the next waiter. No process id is trusted: a
//! reused id, another host or another container sharing the target cannot fool the lock.
//!
//! ```no_run
//! # fn main() -> Result<(), upkeep_deploy::queue::QueueError> {
//! use upkeep_deploy::queue::DeploymentQueue;
//! let queue = DeploymentQueue::open("/srv/my-shop/staging/.queue")?;
//! let ticket = queue.enter_with("run 42", |event| eprintln!("{event}"))?;
//! // ... deploy ...
//! drop(ticket);
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::layout::{lock_file, to_canonical_json, write_atomically};

/// How often a waiter looks whether it is its turn.
const POLL_INTERVAL: Duration = Duration::from_millis(50);
const TICKETS_DIR: &str = "tickets";
const COUNTER_FILE: &str = "counter";
const LOCK_FILE: &str = "lock";

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// File system errors; `fs-err` puts the path into the message.
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error(
        "{path}: unreadable queue ticket: {reason}",
        path = path.display()
    )]
    BadTicket { path: PathBuf, reason: String },
}

impl upkeep_hint::Hint for QueueError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::BadTicket { .. } => {
                Some("if no deployment is running, remove the file".to_string())
            }
            Self::Io(_) => None,
        }
    }
}

/// What a ticket file records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketInfo {
    pub number: u64,
    /// Names the deployment for people waiting on it (e.g. a run id).
    pub label: String,
    pub pid: u32,
    #[serde(with = "crate::target::timestamp_serde")]
    pub entered: Timestamp,
}

/// What happens while a deployment waits, for the caller to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueEvent {
    /// Reported once per deployment that holds the queue while we wait.
    Waiting { holder: TicketInfo },
    /// A ticket whose process is gone was removed.
    StaleTicketRemoved { ticket: TicketInfo },
}

impl fmt::Display for QueueEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Waiting { holder } => write!(
                f,
                "waiting for deployment {} (ticket {}, taken {} ago by process {}) to finish",
                holder.label,
                holder.number,
                age(holder.entered),
                holder.pid
            ),
            Self::StaleTicketRemoved { ticket } => write!(
                f,
                "removed the ticket of deployment {} (ticket {}): nothing holds it any more",
                ticket.label, ticket.number
            ),
        }
    }
}

/// How long ago `then` was, in the largest whole unit: `42s`, `5m`, `3h`, `2d`.
fn age(then: Timestamp) -> String {
    let seconds = then.duration_until(Timestamp::now()).as_secs().max(0);
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3600 => format!("{}m", seconds / 60),
        3600..86_400 => format!("{}h", seconds / 3600),
        _ => format!("{}d", seconds / 86_400),
    }
}

/// The queue of one environment, in a directory of its own.
#[derive(Debug, Clone)]
pub struct DeploymentQueue {
    dir: PathBuf,
}

/// The right to deploy; dropping it lets the next deployment in (once the processes the
/// deployment started have ended too).
#[derive(Debug)]
pub struct QueueTicket {
    info: TicketInfo,
    path: PathBuf,
    /// Holds the ticket's lock; inherited by the processes the deployment starts.
    lock: Option<fs_err::File>,
}

impl QueueTicket {
    pub fn number(&self) -> u64 {
        self.info.number
    }

    pub fn label(&self) -> &str {
        &self.info.label
    }
}

impl Drop for QueueTicket {
    fn drop(&mut self) {
        drop(self.lock.take());
        // A process of the deployment that is still running holds the lock: the ticket stays
        // until it ends, and the next waiter removes it then. Nothing to do about a failure
        // here either: a ticket nobody holds is removed by the next waiter.
        if let Ok(false) = is_held(&self.path) {
            let _ = fs_err::remove_file(&self.path);
        }
    }
}

/// Whether some process holds the lock of the ticket at `path`.
fn is_held(path: &Path) -> io::Result<bool> {
    let file = fs_err::File::open(path)?;
    match file.file().try_lock_shared() {
        Ok(()) => Ok(false),
        Err(std::fs::TryLockError::WouldBlock) => Ok(true),
        Err(std::fs::TryLockError::Error(error)) => Err(error),
    }
}

impl DeploymentQueue {
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, QueueError> {
        let dir = dir.as_ref().to_path_buf();
        fs_err::create_dir_all(dir.join(TICKETS_DIR))?;
        Ok(Self { dir })
    }

    /// Waits until it is this deployment's turn, then returns its ticket.
    pub fn enter(&self, label: &str) -> Result<QueueTicket, QueueError> {
        self.enter_with(label, |_| {})
    }

    /// Like [`enter`](Self::enter), telling `on_event` who it waits for and which stale tickets
    /// it removed.
    pub fn enter_with(
        &self,
        label: &str,
        mut on_event: impl FnMut(&QueueEvent),
    ) -> Result<QueueTicket, QueueError> {
        let ticket = self.take_ticket(label, std::process::id())?;
        let mut reported_holder = None;
        loop {
            let mut holder = None;
            for other in self.tickets()? {
                if other.number >= ticket.info.number {
                    continue;
                }
                let path = self.ticket_path(other.number);
                match is_held(&path) {
                    Ok(true) => {}
                    // Its deployment ended between listing and looking.
                    Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
                    Err(error) => return Err(error.into()),
                    Ok(false) => {
                        // Only the waiter whose removal succeeds reports it.
                        if fs_err::remove_file(&path).is_ok() {
                            on_event(&QueueEvent::StaleTicketRemoved { ticket: other });
                        }
                        continue;
                    }
                }
                holder.get_or_insert(other);
            }
            let Some(holder) = holder else {
                return Ok(ticket);
            };
            if reported_holder != Some(holder.number) {
                reported_holder = Some(holder.number);
                on_event(&QueueEvent::Waiting { holder });
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// The tickets in the queue, lowest (the holder) first.
    pub fn tickets(&self) -> Result<Vec<TicketInfo>, QueueError> {
        let mut tickets = Vec::new();
        for entry in fs_err::read_dir(self.dir.join(TICKETS_DIR))? {
            let path = entry?.path();
            // Temporary files of `write_atomically` start with a dot.
            let is_ticket = path.extension().is_some_and(|ext| ext == "json")
                && !path
                    .file_name()
                    .is_some_and(|name| name.to_string_lossy().starts_with('.'));
            if !is_ticket {
                continue;
            }
            let bytes = match fs_err::read(&path) {
                Ok(bytes) => bytes,
                // Its deployment finished between listing and reading.
                Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
                Err(error) => return Err(error.into()),
            };
            let info: TicketInfo =
                serde_json::from_slice(&bytes).map_err(|error| QueueError::BadTicket {
                    path: path.clone(),
                    reason: error.to_string(),
                })?;
            tickets.push(info);
        }
        tickets.sort_by_key(|ticket| ticket.number);
        Ok(tickets)
    }

    /// Draws the next number and writes the ticket, both under the lock: once a number is
    /// drawn, every lower ticket is on disk or gone, so the lowest ticket is the holder.
    fn take_ticket(&self, label: &str, pid: u32) -> Result<QueueTicket, QueueError> {
        let _lock = lock_file(&self.dir.join(LOCK_FILE))?;
        let counter_path = self.dir.join(COUNTER_FILE);
        let last = match fs_err::read_to_string(&counter_path) {
            Ok(text) => text.trim().parse::<u64>().unwrap_or(0),
            Err(error) if error.kind() == io::ErrorKind::NotFound => 0,
            Err(error) => return Err(error.into()),
        };
        // A lost or damaged counter must not hand out a number below a waiting ticket.
        let highest_waiting = self.tickets()?.last().map_or(0, |ticket| ticket.number);
        let number = last.max(highest_waiting) + 1;
        write_atomically(&counter_path, format!("{number}\n").as_bytes())?;
        let info = TicketInfo {
            number,
            label: label.to_string(),
            pid,
            entered: Timestamp::now(),
        };
        let path = self.ticket_path(number);
        let lock = write_locked(&path, &to_canonical_json(&info))?;
        Ok(QueueTicket {
            info,
            path,
            lock: Some(lock),
        })
    }

    fn ticket_path(&self, number: u64) -> PathBuf {
        // Zero-padded so that a directory listing shows the queue order.
        self.dir
            .join(TICKETS_DIR)
            .join(format!("{number:020}.json"))
    }
}

/// Writes a ticket beside `path`, locks it and renames it into place: it is never visible
/// unlocked, so no waiter takes a ticket being written for a stale one. The lock's descriptor
/// is left open across `exec`, so every process the deployment starts holds it too.
fn write_locked(path: &Path, bytes: &[u8]) -> io::Result<fs_err::File> {
    use std::io::Write as _;
    let file_name = path.file_name().unwrap_or_default().to_string_lossy();
    let temporary = path.with_file_name(format!(".{file_name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = fs_err::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        file.file().lock()?;
        rustix::io::fcntl_setfd(file.file(), rustix::io::FdFlags::empty())?;
        fs_err::rename(&temporary, path)?;
        Ok(file)
    })();
    if result.is_err() {
        let _ = fs_err::remove_file(&temporary);
    }
    result
}

/// Whether a process with this id exists (signal 0 probes without sending anything). A
/// process of another user counts as alive: we may not signal it, but it is there.
pub(crate) fn process_is_alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        Err(error) => error != rustix::io::Errno::SRCH,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    fn wait_for_tickets(queue: &DeploymentQueue, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while queue.tickets().unwrap().len() < count {
            assert!(Instant::now() < deadline, "tickets did not appear");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn deployments_run_one_after_another_in_arrival_order() {
        let dir = tempfile::tempdir().unwrap();
        let queue = DeploymentQueue::open(dir.path()).unwrap();
        let record: Arc<Mutex<Vec<(u32, Instant, Instant)>>> = Arc::default();
        let events: Arc<Mutex<Vec<String>>> = Arc::default();
        // Holders stay until all three have arrived, so who waits for whom is deterministic.
        let arrived = Arc::new(std::sync::atomic::AtomicU32::new(0));

        let mut threads = Vec::new();
        for n in 1..=3u32 {
            let (thread_queue, record, events, thread_arrived) = (
                queue.clone(),
                Arc::clone(&record),
                Arc::clone(&events),
                Arc::clone(&arrived),
            );
            threads.push(std::thread::spawn(move || {
                let ticket = thread_queue
                    .enter_with(&format!("run {n}"), |event| {
                        events.lock().unwrap().push(format!("{n}: {event}"));
                    })
                    .unwrap();
                assert_eq!(ticket.number(), u64::from(n));
                let entered = Instant::now();
                while thread_arrived.load(std::sync::atomic::Ordering::SeqCst) < 3 {
                    std::thread::sleep(Duration::from_millis(5));
                }
                std::thread::sleep(Duration::from_millis(100));
                let left = Instant::now();
                record.lock().unwrap().push((n, entered, left));
                drop(ticket);
            }));
            // The next deployment arrives only once this one has its ticket.
            wait_for_tickets(&queue, n as usize);
            arrived.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        for thread in threads {
            thread.join().unwrap();
        }

        let record = record.lock().unwrap();
        let order: Vec<u32> = record.iter().map(|(n, _, _)| *n).collect();
        assert_eq!(order, vec![1, 2, 3]);
        for pair in record.windows(2) {
            assert!(pair[0].2 <= pair[1].1, "deployments overlapped: {record:?}");
        }
        let mut events: Vec<String> = events
            .lock()
            .unwrap()
            .iter()
            .map(|event| without_age(event))
            .collect();
        events.sort();
        assert_eq!(
            events,
            vec![
                "2: waiting for deployment run 1 (ticket 1) to finish",
                "3: waiting for deployment run 1 (ticket 1) to finish",
                "3: waiting for deployment run 2 (ticket 2) to finish",
            ]
        );
        assert!(queue.tickets().unwrap().is_empty());
    }

    /// `waiting for deployment x (ticket 1, taken 0s ago by process 7) to finish` without
    /// the parts that change from run to run.
    fn without_age(event: &str) -> String {
        match (event.find(", taken "), event.find(") to finish")) {
            (Some(start), Some(end)) => format!("{}{}", &event[..start], &event[end..]),
            _ => event.to_string(),
        }
    }

    impl QueueTicket {
        /// What a killed process leaves: the ticket file, with nothing holding its lock.
        fn crash(mut self) {
            drop(self.lock.take());
            std::mem::forget(self);
        }
    }

    #[test]
    fn a_ticket_nobody_holds_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let queue = DeploymentQueue::open(dir.path()).unwrap();
        // The process id does not matter, even one that is alive (reused ids).
        let stale = queue
            .take_ticket("crashed run", std::process::id())
            .unwrap();
        stale.crash();

        let mut events = Vec::new();
        let started = Instant::now();
        let ticket = queue
            .enter_with("run 2", |event| events.push(event.to_string()))
            .unwrap();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(ticket.number(), 2);
        assert_eq!(
            events,
            vec![
                "removed the ticket of deployment crashed run (ticket 1): nothing holds it any more"
            ]
        );
        assert_eq!(
            queue
                .tickets()
                .unwrap()
                .into_iter()
                .map(|ticket| ticket.number)
                .collect::<Vec<_>>(),
            vec![2]
        );
    }

    #[test]
    fn dropping_the_ticket_removes_it_and_numbers_keep_rising() {
        let dir = tempfile::tempdir().unwrap();
        let queue = DeploymentQueue::open(dir.path()).unwrap();
        let first = queue.enter("a").unwrap();
        assert_eq!(first.label(), "a");
        let info = queue.tickets().unwrap();
        assert_eq!(info.len(), 1);
        assert_eq!(info[0].number, 1);
        assert_eq!(info[0].label, "a");
        assert_eq!(info[0].pid, std::process::id());
        drop(first);
        assert!(queue.tickets().unwrap().is_empty());
        assert_eq!(queue.enter("b").unwrap().number(), 2);
    }

    #[test]
    fn a_lost_counter_does_not_reuse_waiting_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let queue = DeploymentQueue::open(dir.path()).unwrap();
        let held = queue.take_ticket("holder", std::process::id()).unwrap();
        let _waiter = queue.take_ticket("waiter", std::process::id()).unwrap();
        fs_err::remove_file(dir.path().join("counter")).unwrap();
        let next = queue.take_ticket("late", std::process::id()).unwrap();
        assert_eq!((held.number(), next.number()), (1, 3));
    }

    #[test]
    fn an_unreadable_ticket_is_reported_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let queue = DeploymentQueue::open(dir.path()).unwrap();
        let path = dir.path().join("tickets/00000000000000000001.json");
        fs_err::write(&path, "{").unwrap();
        let error = queue.enter("run").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with(&format!("{}: unreadable queue ticket: ", path.display())),
            "{error}"
        );
    }

    #[test]
    fn a_process_the_deployment_started_keeps_the_queue_closed_until_it_ends() {
        let dir = tempfile::tempdir().unwrap();
        let queue = DeploymentQueue::open(dir.path()).unwrap();
        let ticket = queue.enter("first").unwrap();
        // A hook that outlives its deployment (here: its ticket) inherits the lock.
        let mut orphan = std::process::Command::new("sleep")
            .arg("1")
            .spawn()
            .unwrap();
        drop(ticket);
        let mut events = Vec::new();
        let second = queue
            .enter_with("second", |event| {
                events.push(without_age(&event.to_string()));
            })
            .unwrap();
        assert!(
            orphan.try_wait().unwrap().is_some(),
            "the second deployment entered while the first one's process still ran"
        );
        assert_eq!(
            events,
            [
                "waiting for deployment first (ticket 1) to finish",
                "removed the ticket of deployment first (ticket 1): nothing holds it any more"
            ]
        );
        assert_eq!(second.number(), 2);
    }

    #[test]
    fn process_liveness() {
        assert!(process_is_alive(std::process::id()));
        assert!(!process_is_alive(dead_pid()));
        assert!(!process_is_alive(0));
        assert!(!process_is_alive(u32::MAX));
    }
}
