//! The deployment queue of one environment: deployments never overlap, and a newer one waits
//! its turn instead of cancelling the older one.
//!
//! Each deployment takes a numbered ticket (a file in `tickets/`); numbers come from a counter
//! file updated under a lock, so they follow the order of arrival. The lowest ticket holds the
//! environment; the others poll until theirs is the lowest. Dropping the ticket removes its
//! file and lets the next one in. A ticket whose process is gone (a crashed or killed
//! deployment) is removed by the next waiter, so a crash never blocks the queue.
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

impl upkeep_pipeline::hint::Hint for QueueError {
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
                "waiting for deployment {} (ticket {}) to finish",
                holder.label, holder.number
            ),
            Self::StaleTicketRemoved { ticket } => write!(
                f,
                "removed the ticket of deployment {} (ticket {}): its process {} is gone",
                ticket.label, ticket.number, ticket.pid
            ),
        }
    }
}

/// The queue of one environment, in a directory of its own.
#[derive(Debug, Clone)]
pub struct DeploymentQueue {
    dir: PathBuf,
}

/// The right to deploy; dropping it lets the next deployment in.
#[derive(Debug)]
pub struct QueueTicket {
    info: TicketInfo,
    path: PathBuf,
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
        // Nothing to do about a failure here; a ticket left behind of a process that ends is
        // removed as stale by the next waiter.
        let _ = fs_err::remove_file(&self.path);
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
                if !process_is_alive(other.pid) {
                    // Only the waiter whose removal succeeds reports it.
                    if fs_err::remove_file(self.ticket_path(other.number)).is_ok() {
                        on_event(&QueueEvent::StaleTicketRemoved { ticket: other });
                    }
                    continue;
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
        write_atomically(&path, &to_canonical_json(&info))?;
        Ok(QueueTicket { info, path })
    }

    fn ticket_path(&self, number: u64) -> PathBuf {
        // Zero-padded so that a directory listing shows the queue order.
        self.dir
            .join(TICKETS_DIR)
            .join(format!("{number:020}.json"))
    }
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
        let mut events = events.lock().unwrap().clone();
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

    #[test]
    fn a_ticket_of_a_dead_process_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let queue = DeploymentQueue::open(dir.path()).unwrap();
        let pid = dead_pid();
        let stale = queue.take_ticket("crashed run", pid).unwrap();
        // A crashed process never drops its ticket.
        std::mem::forget(stale);

        let mut events = Vec::new();
        let started = Instant::now();
        let ticket = queue
            .enter_with("run 2", |event| events.push(event.to_string()))
            .unwrap();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(ticket.number(), 2);
        assert_eq!(
            events,
            vec![format!(
                "removed the ticket of deployment crashed run (ticket 1): its process {pid} is gone"
            )]
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
    fn process_liveness() {
        assert!(process_is_alive(std::process::id()));
        assert!(!process_is_alive(dead_pid()));
        assert!(!process_is_alive(0));
        assert!(!process_is_alive(u32::MAX));
    }
}
