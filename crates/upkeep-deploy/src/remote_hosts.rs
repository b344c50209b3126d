//! The `ssh` target: releases on remote hosts, each host holding the layout of the local
//! target (`releases/<id>/app`, `releases/<id>/release.json`, `history.json`, `current`)
//! under the same directory.
//!
//! upkeep keeps its own record of the target on this machine, a [`LocalTarget`]: it decides
//! what is prepared, active, failed and pruned, exactly as for a local target, and the hosts
//! follow it. A new release is unpacked here and sent to every host as one `tar` stream over
//! ssh, extracted under a temporary name and renamed into place, so a host never has half a
//! release under a release name. `current` is switched on every host the way the local target
//! does it, a fresh symlink renamed over the old one (`mv -T`), before the record is changed:
//! when a host cannot be switched, the hosts already switched go back and the release that
//! served keeps serving. After each change the hosts' copies of `release.json` and
//! `history.json` are brought up to date, releases the record pruned are removed, and a host
//! that missed a release (it was down, or was added later) is sent it: every deployment and
//! rollback starts with that, so a host that missed a switch is repaired.
//!
//! Deployment stages run on the first host, over ssh, in the release they belong to
//! ([`upkeep_pipeline::ssh`]).
//!
//! A host needs a POSIX shell, `tar`, and `mv -T` and `readlink` (GNU coreutils).

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use upkeep_pipeline::ssh::{RemoteSession, SshClient, SshError, SshIdentity, shell_quote};

use crate::target::{LocalTarget, Release, ReleaseStatus, TargetError};

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error(transparent)]
    Ssh(#[from] SshError),
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("could not switch {host} to release {release}: {source}; {restored}")]
    Switch {
        host: String,
        release: String,
        /// What became of the hosts switched before it.
        restored: String,
        source: Box<SshError>,
    },
}

impl upkeep_hint::Hint for RemoteError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Ssh(error) => error.hint(),
            Self::Switch { source, .. } => source.hint(),
            Self::Target(error) => error.hint(),
        }
    }
}

/// The hosts of an `ssh` target.
#[derive(Debug)]
pub struct RemoteHosts {
    /// Where each host is reached; the first is where deployment stages run.
    pub hosts: Vec<SshClient>,
    /// The directory on every host that holds `releases/` and `current`.
    pub root: String,
    /// Whose target the directory is (`<project>/<environment>`), written to `.upkeep-target`
    /// there on first use: another environment pointed at the same directory is refused
    /// rather than let each prune the other's releases.
    pub owner: String,
    /// Between SIGTERM and SIGKILL when a stage on the host is stopped.
    pub stop_grace: Duration,
    /// Keeps the key file of an `identity-secret` while the hosts are used.
    pub identity: Option<SshIdentity>,
}

impl RemoteHosts {
    /// The host deployment stages run on.
    pub fn primary(&self) -> &SshClient {
        &self.hosts[0]
    }

    /// Names the hosts, for messages.
    pub fn names(&self) -> String {
        self.hosts
            .iter()
            .map(SshClient::name)
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn root(&self) -> String {
        shell_quote(&self.root)
    }

    /// Sends a new release to every host.
    pub fn send(&self, release: &Release) -> Result<(), RemoteError> {
        for host in &self.hosts {
            self.send_to(host, release)?;
        }
        Ok(())
    }

    /// Streams the release's directory (`app/` and `release.json`) to `host` as a tar archive,
    /// extracted under a temporary name and renamed into place.
    fn send_to(&self, host: &SshClient, release: &Release) -> Result<(), SshError> {
        let root = self.root();
        let id = shell_quote(&release.id);
        // The archive ends with a marker: a stream cut short on this side (an unreadable file)
        // can look like a complete archive to tar, and must never be renamed into place.
        let command = format!(
            "set -e; cd {root}/releases; t=.prepare-$$; rm -rf \"$t\"; mkdir \"$t\"; \
             tar -x -o -f - -C \"$t\"; \
             if [ ! -f \"$t/{COMPLETE_MARKER}\" ]; then echo 'the release arrived incomplete' >&2; exit 1; fi; \
             rm \"$t/{COMPLETE_MARKER}\"; mv -T \"$t\" {id}"
        );
        host.run(
            &format!("sending release {}", release.id),
            &command,
            |input| write_tree(input, &release.dir),
        )?;
        Ok(())
    }

    /// Switches `current` to release `id` on every host. When a host fails, the hosts switched
    /// before it are switched back to `back_to` (or keep `id` when there is none), and the
    /// error says so.
    pub fn switch(&self, id: &str, back_to: Option<&str>) -> Result<(), RemoteError> {
        for (position, host) in self.hosts.iter().enumerate() {
            if let Err(source) = self.switch_host(host, id) {
                let switched = &self.hosts[..position];
                let restored = match back_to {
                    _ if switched.is_empty() => "no host was switched".to_string(),
                    Some(previous) => {
                        let failed: Vec<String> = switched
                            .iter()
                            .filter(|host| self.switch_host(host, previous).is_err())
                            .map(SshClient::name)
                            .collect();
                        if failed.is_empty() {
                            format!("the hosts switched before it are back on release {previous}")
                        } else {
                            format!(
                                "could not switch {} back to release {previous}: the next deployment or rollback repairs them",
                                failed.join(", ")
                            )
                        }
                    }
                    None => format!(
                        "release {id} is served already by {}",
                        switched
                            .iter()
                            .map(SshClient::name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                return Err(RemoteError::Switch {
                    host: host.name(),
                    release: id.to_string(),
                    restored,
                    source: Box::new(source),
                });
            }
        }
        Ok(())
    }

    /// Points `current` at `releases/<id>` on `host` with a rename over it.
    fn switch_host(&self, host: &SshClient, id: &str) -> Result<(), SshError> {
        let root = self.root();
        let id = shell_quote(id);
        host.run_simple(
            "switching current",
            &format!(
                "set -e; cd {root}; test -f releases/{id}/release.json; \
                 ln -s releases/{id} .current-$$; mv -T .current-$$ current || {{ rm -f .current-$$; exit 1; }}"
            ),
        )?;
        Ok(())
    }

    /// Connects to every host, makes the target's directories there and brings the host in
    /// line with the record: the releases it keeps (sent where missing, failed ones excepted),
    /// their `release.json`, the history and `current`; releases the record no longer has are
    /// removed, as are leftovers of interrupted work. A host that cannot be reached, whose key
    /// is not trusted, or whose directory is not writable is found before anything is
    /// deployed, and a host that missed a release or a switch is repaired.
    pub fn check(&self, record: &LocalTarget) -> Result<(), RemoteError> {
        let releases = record.releases()?;
        let current = record.running()?.map(|release| release.id);
        for host in &self.hosts {
            let present = self.present(host)?;
            for release in &releases {
                if !present.contains(&release.id) && release.status != ReleaseStatus::Failed {
                    self.send_to(host, release)?;
                }
            }
            self.write_metadata(host, record, &releases, current.as_deref())?;
        }
        Ok(())
    }

    /// Brings the hosts' copies of `release.json` and the history up to date and removes the
    /// releases the record no longer has, after a change of the record whose effect on the
    /// hosts is done already (an activation, a failed release, pruning).
    pub fn update_records(&self, record: &LocalTarget) -> Result<(), RemoteError> {
        let releases = record.releases()?;
        let current = record.running()?.map(|release| release.id);
        for host in &self.hosts {
            self.write_metadata(host, record, &releases, current.as_deref())?;
        }
        Ok(())
    }

    /// Makes the target's directories on `host`, refuses a directory another environment owns,
    /// clears what interrupted work left there (first, so that a full disk gets its space back;
    /// no other deployment or rollback of the target runs meanwhile: the caller holds the
    /// queue), claims the directory, and lists the ids of the releases it has.
    fn present(&self, host: &SshClient) -> Result<BTreeSet<String>, SshError> {
        let root = self.root();
        let owner = shell_quote(&self.owner);
        let root_text = self.root.replace(['"', '\\', '$', '`'], "_");
        let listing = host.run_simple(
            "preparing the target directory",
            &format!(
                "mkdir -p {root}/releases {root}/.sessions && test -w {root}/releases \
                 || {{ echo 'cannot write to '{root}/releases >&2; exit 1; }}; \
                 cd {root} || exit 1; \
                 if [ -f .upkeep-target ] && [ \"$(cat .upkeep-target)\" != {owner} ]; then \
                 echo \"{root_text} holds the releases of $(cat .upkeep-target), not of \"{owner}: refusing to touch them >&2; exit 1; fi; \
                 rm -rf .sync-* .current-* .sessions/* releases/.prepare-* releases/.removing-* .upkeep-target.tmp \
                 && {{ [ -f .upkeep-target ] || {{ printf '%s\\n' {owner} > .upkeep-target.tmp && mv -f .upkeep-target.tmp .upkeep-target; }}; }} \
                 && cd releases && for d in *; do if [ -f \"$d/release.json\" ]; then printf '%s\\n' \"$d\"; fi; done"
            ),
        )?;
        Ok(String::from_utf8_lossy(&listing)
            .lines()
            .map(str::to_string)
            .collect())
    }

    /// Sends the record's `release.json` files and history and the list of releases to keep;
    /// the host replaces its copies (each by a rename), removes what is not on the list and
    /// points `current` where the record does.
    fn write_metadata(
        &self,
        host: &SshClient,
        record: &LocalTarget,
        releases: &[Release],
        current: Option<&str>,
    ) -> Result<(), SshError> {
        let root = self.root();
        let switch = current.map_or_else(String::new, |id| {
            let id = shell_quote(id);
            format!(
                "if [ \"$(readlink current 2>/dev/null)\" != releases/{id} ] && [ -f releases/{id}/release.json ]; then \
                 ln -s releases/{id} .current-$$; mv -T .current-$$ current; fi; "
            )
        });
        let command = format!(
            "set -e; cd {root}; s=.sync-$$; rm -rf \"$s\"; mkdir \"$s\"; tar -x -o -f - -C \"$s\"; \
             for f in \"$s\"/releases/*/release.json; do \
               [ -f \"$f\" ] || continue; id=${{f#\"$s\"/releases/}}; id=${{id%/release.json}}; \
               if [ -d \"releases/$id\" ]; then mv -f \"$f\" \"releases/$id/release.json\"; fi; \
             done; \
             cur=$(readlink current 2>/dev/null || true); \
             for d in releases/*; do \
               [ -f \"$d/release.json\" ] || continue; id=${{d#releases/}}; \
               if grep -qxF \"$id\" \"$s/keep\" || [ \"$cur\" = \"releases/$id\" ]; then continue; fi; \
               mv \"$d\" \"releases/.removing-$id\"; rm -rf \"releases/.removing-$id\"; \
             done; \
             if [ -f \"$s/history.json\" ]; then mv -f \"$s/history.json\" history.json; fi; \
             {switch}\
             rm -rf \"$s\""
        );
        let history = record.root().join("history.json");
        host.run("updating the release records", &command, |input| {
            let mut archive = tar::Builder::new(input);
            let keep: String = releases
                .iter()
                .flat_map(|release| [release.id.as_str(), "\n"])
                .collect();
            append_bytes(&mut archive, "keep", keep.as_bytes())?;
            for release in releases {
                let path = release.dir.join("release.json");
                archive.append_path_with_name(
                    &path,
                    format!("releases/{}/release.json", release.id),
                )?;
            }
            if history.is_file() {
                archive.append_path_with_name(&history, "history.json")?;
            }
            archive.finish()
        })?;
        Ok(())
    }

    /// A session of `release` on the first host, starting in `project_dir` (a directory of the
    /// release on this machine, the same path under the release on the host).
    pub fn session(&self, release: &Release, project_dir: &Path) -> RemoteSession {
        let relative = project_dir
            .strip_prefix(&release.dir)
            .unwrap_or_else(|_| Path::new("app"));
        let release_dir = format!("{}/releases/{}", self.root, release.id);
        let work_dir = if relative.as_os_str().is_empty() {
            release_dir
        } else {
            format!("{release_dir}/{}", relative.display())
        };
        RemoteSession {
            ssh: self.primary().clone(),
            work_dir,
            session_dir: format!("{}/.sessions/{}", self.root, crate::layout::unique_suffix()),
            stop_grace: self.stop_grace,
        }
    }
}

/// The last entry of a release's archive: the host renames only a release that has it.
const COMPLETE_MARKER: &str = ".upkeep-complete";

/// Writes `dir` as a tar archive: its files, directories and symlinks (not followed), with
/// their modes, then [`COMPLETE_MARKER`].
fn write_tree(output: &mut dyn Write, dir: &Path) -> io::Result<()> {
    let mut archive = tar::Builder::new(output);
    archive.follow_symlinks(false);
    archive.mode(tar::HeaderMode::Complete);
    archive.append_dir_all(".", dir)?;
    append_bytes(&mut archive, COMPLETE_MARKER, b"")?;
    archive.finish()
}

fn append_bytes(
    archive: &mut tar::Builder<&mut dyn Write>,
    name: &str,
    bytes: &[u8],
) -> io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    archive.append_data(&mut header, name, bytes)
}

/// Rolls `target` back as [`LocalTarget::rollback`] does, on every host first: the hosts are
/// brought in line with the record, switched to the release before, and only then is the
/// record changed. A host that cannot be switched leaves every host on the serving release.
pub fn rollback(
    target: &LocalTarget,
    remote: &RemoteHosts,
) -> Result<(Release, Release), RemoteError> {
    remote.check(target)?;
    let (from, to) = target.rollback_plan()?;
    remote.switch(&to.id, Some(&from.id))?;
    let switched = target.rollback()?;
    remote.update_records(target)?;
    Ok(switched)
}
