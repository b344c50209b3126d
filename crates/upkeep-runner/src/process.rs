//! Whether the process that drives a run is still there. A run whose process was killed stays
//! `running` in its record; readers see it as `interrupted` instead (and record that), so that no
//! run looks alive forever. A process on another host cannot be checked and counts as alive.

use jiff::Timestamp;
use upkeep_pipeline::record::{ProcessRecord, RunRecord, RunStatus};

/// This process, as a run records it.
pub fn current() -> ProcessRecord {
    let pid = std::process::id();
    ProcessRecord {
        pid,
        host: host(),
        boot_id: boot_id(),
        start_ticks: start_ticks(pid).unwrap_or_default(),
    }
}

/// Whether the recorded process has ended: same host, and either the machine was started
/// again since, or no process of that id and start time exists (a zombie counts as ended).
pub fn has_ended(process: &ProcessRecord) -> bool {
    if process.host != host() {
        return false;
    }
    if process.boot_id != boot_id() {
        return true;
    }
    start_ticks(process.pid) != Some(process.start_ticks)
}

/// Marks a run whose driving process has ended as `interrupted`, with the end time and a note;
/// returns whether it did. Runs that wait for approval have no process to lose.
pub fn mark_if_interrupted(record: &mut RunRecord) -> bool {
    let stale = matches!(record.status, RunStatus::Running | RunStatus::Queued)
        && record.process.as_ref().is_some_and(has_ended);
    if !stale {
        return false;
    }
    let pid = record.process.as_ref().map_or(0, |process| process.pid);
    record.status = RunStatus::Interrupted;
    record.finished_at = Some(Timestamp::now());
    record.end_unfinished(RunStatus::Interrupted);
    record.notes.push(format!(
        "interrupted: the process that ran it (pid {pid}) ended without finishing it"
    ));
    true
}

fn host() -> String {
    read_trimmed("/proc/sys/kernel/hostname").unwrap_or_default()
}

fn boot_id() -> String {
    read_trimmed("/proc/sys/kernel/random/boot_id").unwrap_or_default()
}

/// The start time of a live (not zombie) process, from `/proc/<pid>/stat`.
fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields count from its closing one.
    let (_, rest) = stat.rsplit_once(") ")?;
    let mut fields = rest.split(' ');
    // `rest` starts at field 3 (state); start time is field 22.
    let state = fields.next()?;
    if state == "Z" || state == "X" {
        return None;
    }
    fields.nth(18)?.parse().ok()
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|text| text.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_finished_one_has_ended() {
        let me = current();
        assert!(me.start_ticks > 0);
        assert!(!has_ended(&me));
        let mut child = std::process::Command::new("true").spawn().expect("spawn");
        let pid = child.id();
        let started = start_ticks(pid);
        child.wait().expect("wait");
        let gone = ProcessRecord {
            pid,
            start_ticks: started.unwrap_or(1),
            ..current()
        };
        assert!(has_ended(&gone));
        // The same id with another start time is another process (a reused id).
        let reused = ProcessRecord {
            start_ticks: me.start_ticks + 1,
            ..me.clone()
        };
        assert!(has_ended(&reused));
        // After a reboot nothing of before runs; another host cannot be checked.
        assert!(has_ended(&ProcessRecord {
            boot_id: "another boot".to_string(),
            ..me.clone()
        }));
        assert!(!has_ended(&ProcessRecord {
            host: "elsewhere".to_string(),
            pid: 1,
            ..me
        }));
    }
}
