//! The local deploy target: images unpacked side by side as releases, one of them current.
//!
//! ```text
//! root/
//!   releases/
//!     20240501T120000Z-4f2a9c1d0e3b/   one release
//!       app/                            the unpacked image
//!       release.json                    id, image, environment, deploy type, status
//!   current -> releases/20240501T120000Z-4f2a9c1d0e3b
//!   history.json                        activation order, for rollback
//! ```
//!
//! `current` is switched with a rename of a fresh symlink over it, so at every moment it points
//! at one complete release. A release is unpacked under a temporary name and renamed into
//! place, so a crash never leaves half a release under a release name.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use upkeep_deploy::layout::ImageStore;
//! use upkeep_deploy::target::LocalTarget;
//! let store = ImageStore::open_or_create("/var/lib/upkeep/images")?;
//! let image = store.resolve("my-shop:4f2a9c1")?;
//! let target = LocalTarget::open("/srv/my-shop/staging")?;
//! let release = target.prepare(&store, &image, "my-shop:4f2a9c1", "normal")?;
//! // ... run the install hook in release.app_dir() ...
//! target.activate(&release)?;
//! target.prune(5)?;
//! # Ok(())
//! # }
//! ```

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::image::{ImageError, image_environment, unpack};
use crate::layout::{
    Digest, ImageStore, ResolvedImage, lock_file, to_canonical_json, write_atomically,
};
use crate::queue::process_is_alive;

const RELEASES_DIR: &str = "releases";
const CURRENT_LINK: &str = "current";
const HISTORY_FILE: &str = "history.json";
const RELEASE_FILE: &str = "release.json";
const LOCK_FILE: &str = ".lock";
/// Prefixes of the working names inside `releases/`; they start with a dot so that they are
/// never taken for releases.
const PREPARE_PREFIX: &str = ".prepare-";
const REMOVING_PREFIX: &str = ".removing-";

/// Where a release stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReleaseStatus {
    /// Unpacked, not activated yet.
    Prepared,
    /// What `current` points at.
    Active,
    /// Was active; a newer release replaced it. A rollback may return to it.
    Superseded,
    /// Was active; a rollback left it.
    RolledBack,
    /// Its deployment failed; kept for inspection, never activated, pruned first.
    Failed,
}

/// One release: a directory under `releases/` and its `release.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Release {
    /// `releases/<id>`.
    #[serde(skip)]
    pub dir: PathBuf,
    /// `<UTC yyyymmddThhmmss.mmmZ>-<12 hex digits of the manifest digest>[-<n>]`: sorts by time (to the millisecond).
    pub id: String,
    pub image_digest: Digest,
    /// The tag or digest the image was deployed as.
    pub image_reference: String,
    /// The image environment (`config.Env`), for the hooks that run in this release.
    pub environment: IndexMap<String, String>,
    /// `normal` or `destructive`.
    pub deploy_type: String,
    #[serde(with = "timestamp_serde")]
    pub created: Timestamp,
    pub status: ReleaseStatus,
}

impl Release {
    /// The unpacked image, where hooks run.
    pub fn app_dir(&self) -> PathBuf {
        self.dir.join("app")
    }
}

/// The activation order, oldest first; the last entry is the current release. A rollback
/// returns to the entry before the current one and drops the current one, so repeated
/// rollbacks walk further back.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct History {
    activations: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// File system errors; `fs-err` puts the path into the message.
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error("{path}: {source}", path = path.display())]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(
        "nothing is deployed in {root}: there is no `current` release",
        root = root.display()
    )]
    NothingRunning { root: PathBuf },
    #[error("cannot roll back release {current}: there is no earlier release to return to")]
    NoRollbackTarget { current: String },
    #[error("release {id} failed; a failed release is never activated")]
    ReleaseFailed { id: String },
    #[error("release {id} is the running release; roll back or deploy another one first")]
    ReleaseRunning { id: String },
    #[error(
        "release {id} does not exist in {root}",
        root = root.display()
    )]
    UnknownRelease { id: String, root: PathBuf },
    #[error(
        "{path} points at {target}, which is not a release of this target",
        path = path.display(),
        target = target.display()
    )]
    BrokenCurrent { path: PathBuf, target: PathBuf },
}

impl upkeep_hint::Hint for TargetError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Image(error) => error.hint(),
            Self::NothingRunning { .. } => Some("deploy first".to_string()),
            Self::NoRollbackTarget { .. } => Some("deploy an earlier commit instead".to_string()),
            Self::BrokenCurrent { .. } => {
                Some("point it at a directory under releases/ or remove it".to_string())
            }
            _ => None,
        }
    }
}

/// A directory that holds `releases/` and `current`.
#[derive(Debug, Clone)]
pub struct LocalTarget {
    root: PathBuf,
}

impl LocalTarget {
    /// Opens the target in `root`, creating `root/releases` when missing.
    pub fn open(root: impl AsRef<Path>) -> Result<Self, TargetError> {
        let root = root.as_ref().to_path_buf();
        fs_err::create_dir_all(root.join(RELEASES_DIR))?;
        Ok(Self { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn releases_dir(&self) -> PathBuf {
        self.root.join(RELEASES_DIR)
    }

    /// Unpacks `image` as a new release (status `Prepared`). `current` is not touched. On
    /// error nothing is left under `releases/`.
    pub fn prepare(
        &self,
        store: &ImageStore,
        image: &ResolvedImage,
        reference: &str,
        deploy_type: &str,
    ) -> Result<Release, TargetError> {
        let created = Timestamp::now();
        let releases = self.releases_dir();
        let temp_dir = releases.join(format!(
            "{PREPARE_PREFIX}{}",
            crate::layout::unique_suffix()
        ));
        let mut release = Release {
            dir: PathBuf::new(),
            id: String::new(),
            image_digest: image.manifest_digest.clone(),
            image_reference: reference.to_string(),
            environment: image_environment(image),
            deploy_type: deploy_type.to_string(),
            created,
            status: ReleaseStatus::Prepared,
        };
        let result = (|| {
            fs_err::create_dir(&temp_dir)?;
            unpack(store, image, &temp_dir.join("app"))?;
            self.move_into_place(&temp_dir, &mut release)
        })();
        if result.is_err() {
            let _ = remove_tree(&temp_dir);
        }
        result.map(|()| release)
    }

    /// Names the prepared directory: the first free id among `<base>`, `<base>-2`, ... A
    /// rename onto a release that another process created meanwhile fails (the directory is
    /// not empty), and the next id is tried.
    fn move_into_place(&self, temp_dir: &Path, release: &mut Release) -> Result<(), TargetError> {
        let base = format!(
            "{}-{}",
            release.created.strftime("%Y%m%dT%H%M%S%.3fZ"),
            release.image_digest.short()
        );
        for n in 1u32.. {
            let id = if n == 1 {
                base.clone()
            } else {
                format!("{base}-{n}")
            };
            let final_dir = self.releases_dir().join(&id);
            if fs_err::symlink_metadata(&final_dir).is_ok() {
                continue;
            }
            release.id = id;
            write_release_file(temp_dir, release)?;
            match fs_err::rename(temp_dir, &final_dir) {
                Ok(()) => {
                    release.dir = final_dir;
                    return Ok(());
                }
                Err(_) if fs_err::symlink_metadata(&final_dir).is_ok() => {}
                Err(error) => return Err(error.into()),
            }
        }
        unreachable!("the id counter does not run out")
    }

    /// The release `current` points at, if any.
    pub fn running(&self) -> Result<Option<Release>, TargetError> {
        let link = self.root.join(CURRENT_LINK);
        let target = match fs_err::read_link(&link) {
            Ok(target) => target,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        let broken = || TargetError::BrokenCurrent {
            path: link.clone(),
            target: target.clone(),
        };
        let mut components = target.components();
        let id = match (components.next(), components.next(), components.next()) {
            (Some(dir), Some(id), None) if dir.as_os_str() == RELEASES_DIR => {
                id.as_os_str().to_string_lossy().into_owned()
            }
            _ => return Err(broken()),
        };
        match self.load(&id) {
            Ok(release) => Ok(Some(release)),
            Err(TargetError::UnknownRelease { .. }) => Err(broken()),
            Err(error) => Err(error),
        }
    }

    /// Reads what a deployment will change (the running release, the history), so that a
    /// damaged target is found before the first hook runs rather than after the install.
    pub fn check(&self) -> Result<(), TargetError> {
        let _lock = self.lock()?;
        self.read_history()?;
        self.reconcile()?;
        Ok(())
    }

    /// Repairs what an activation killed between its bookkeeping and its switch leaves: the
    /// new release recorded `Active` while `current` still points at the previous one. What
    /// `current` serves is the truth: it is `Active` again, the release that never served is
    /// `Failed`, and the history ends at `current`. The caller holds the lock.
    fn reconcile(&self) -> Result<(), TargetError> {
        let Some(mut running) = self.running()? else {
            return Ok(());
        };
        let unswitched: Vec<Release> = self
            .releases()?
            .into_iter()
            .filter(|release| release.status == ReleaseStatus::Active && release.id != running.id)
            .collect();
        if running.status == ReleaseStatus::Active && unswitched.is_empty() {
            return Ok(());
        }
        for mut release in unswitched {
            release.status = ReleaseStatus::Failed;
            write_release_file(&release.dir, &release)?;
        }
        running.status = ReleaseStatus::Active;
        write_release_file(&running.dir, &running)?;
        let mut history = self.read_history().unwrap_or_default();
        if let Some(position) = history.activations.iter().rposition(|id| *id == running.id) {
            history.activations.truncate(position + 1);
        } else {
            history.activations.push(running.id.clone());
        }
        self.write_history(&history)
    }

    /// Makes `release` the current one and records the activation for rollback. The previous
    /// current release becomes `Superseded`. The bookkeeping (statuses, history) is written
    /// first and the switch of `current` comes last: killed at any moment, the target either
    /// still serves the previous release or serves the new one with everything recorded, and a
    /// rollback works either way. A switch that fails puts the bookkeeping back.
    pub fn activate(&self, release: &Release) -> Result<Release, TargetError> {
        let _lock = self.lock()?;
        let mut release = self.load(&release.id)?;
        if release.status == ReleaseStatus::Failed {
            return Err(TargetError::ReleaseFailed { id: release.id });
        }
        let previous = self.running()?.filter(|previous| previous.id != release.id);
        let history_before = self.read_history()?;
        let mut history = history_before.clone();
        history.activations.retain(|id| *id != release.id);
        history.activations.push(release.id.clone());
        let release_before = release.clone();
        release.status = ReleaseStatus::Active;
        write_release_file(&release.dir, &release)?;
        if let Some(previous) = &previous {
            let mut superseded = previous.clone();
            superseded.status = ReleaseStatus::Superseded;
            write_release_file(&superseded.dir, &superseded)?;
        }
        self.write_history(&history)?;
        if let Err(error) = self.point_current_at(&release.id) {
            // Best effort: the next deployment finds the statuses as they were.
            let _ = write_release_file(&release_before.dir, &release_before);
            if let Some(previous) = &previous {
                let _ = write_release_file(&previous.dir, previous);
            }
            let _ = self.write_history(&history_before);
            return Err(error);
        }
        Ok(release)
    }

    /// Releases a killed deployment left `Prepared` (unpacked, never activated): marked
    /// `Failed`, so that they are never activated and are pruned first. Called while holding
    /// the environment's deployment queue, when no other deployment can be preparing one.
    pub fn fail_abandoned(&self) -> Result<Vec<Release>, TargetError> {
        let _lock = self.lock()?;
        let mut failed = Vec::new();
        for mut release in self.releases()? {
            if release.status == ReleaseStatus::Prepared {
                release.status = ReleaseStatus::Failed;
                write_release_file(&release.dir, &release)?;
                failed.push(release);
            }
        }
        Ok(failed)
    }

    /// Marks a release whose deployment failed. It stays for inspection but is never activated
    /// nor rolled back to, and `prune` removes it before any other.
    pub fn mark_failed(&self, release: &Release) -> Result<Release, TargetError> {
        let _lock = self.lock()?;
        let mut release = self.load(&release.id)?;
        if self
            .running()?
            .is_some_and(|running| running.id == release.id)
        {
            return Err(TargetError::ReleaseRunning { id: release.id });
        }
        release.status = ReleaseStatus::Failed;
        write_release_file(&release.dir, &release)?;
        let mut history = self.read_history()?;
        history.activations.retain(|id| *id != release.id);
        self.write_history(&history)?;
        Ok(release)
    }

    /// Switches back to the release that was active before the current one. Returns
    /// `(from, to)`. The history says which one that is; when it does not know the running
    /// release (it was damaged, or lost its last write), the statuses of the releases do: the
    /// newest `Superseded` release before it. Bookkeeping first, switch last, as in
    /// [`activate`](Self::activate).
    pub fn rollback(&self) -> Result<(Release, Release), TargetError> {
        let _lock = self.lock()?;
        let (mut from, mut to, mut history) = self.plan_rollback()?;
        history.activations.dedup();
        from.status = ReleaseStatus::RolledBack;
        write_release_file(&from.dir, &from)?;
        to.status = ReleaseStatus::Active;
        write_release_file(&to.dir, &to)?;
        self.write_history(&history)?;
        self.point_current_at(&to.id)?;
        Ok((from, to))
    }

    /// What [`rollback`](Self::rollback) would do now, `(from, to)`, without doing it: the
    /// `container` target starts `to`'s container before it switches.
    pub fn rollback_plan(&self) -> Result<(Release, Release), TargetError> {
        let _lock = self.lock()?;
        let (from, to, _) = self.plan_rollback()?;
        Ok((from, to))
    }

    /// The running release, the one to return to, and the history after the rollback. The
    /// caller holds the lock.
    fn plan_rollback(&self) -> Result<(Release, Release, History), TargetError> {
        self.reconcile()?;
        let from = self.running()?.ok_or_else(|| TargetError::NothingRunning {
            root: self.root.clone(),
        })?;
        let history = self.read_history().unwrap_or_default();
        let (history, to) =
            if let Some((position, to)) = self.rollback_target(&from.id, &history)? {
                let mut history = history;
                history.activations.truncate(position + 1);
                (history, to)
            } else {
                let to = self.superseded_before(&from)?.ok_or_else(|| {
                    TargetError::NoRollbackTarget {
                        current: from.id.clone(),
                    }
                })?;
                let history = History {
                    activations: vec![to.id.clone()],
                };
                (history, to)
            };
        Ok((from, to, history))
    }

    /// The release a rollback from `current_id` would return to, with its position in the
    /// history: the nearest earlier activation that still exists and has not failed.
    fn rollback_target(
        &self,
        current_id: &str,
        history: &History,
    ) -> Result<Option<(usize, Release)>, TargetError> {
        let Some(current) = history.activations.iter().rposition(|id| id == current_id) else {
            return Ok(None);
        };
        for position in (0..current).rev() {
            match self.load(&history.activations[position]) {
                Ok(release) if release.status != ReleaseStatus::Failed => {
                    return Ok(Some((position, release)));
                }
                Ok(_) | Err(TargetError::UnknownRelease { .. }) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(None)
    }

    /// The newest release created before `current` that was active once and was superseded.
    fn superseded_before(&self, current: &Release) -> Result<Option<Release>, TargetError> {
        Ok(self.releases()?.into_iter().rfind(|release| {
            release.status == ReleaseStatus::Superseded
                && release.created <= current.created
                && release.id != current.id
        }))
    }

    /// All releases, oldest first.
    pub fn releases(&self) -> Result<Vec<Release>, TargetError> {
        let mut releases = Vec::new();
        for entry in fs_err::read_dir(self.releases_dir())? {
            let name = entry?.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            match self.load(&name) {
                Ok(release) => releases.push(release),
                // Not ours (no release.json): leave it alone.
                Err(TargetError::UnknownRelease { .. }) => {}
                Err(error) => return Err(error),
            }
        }
        releases.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.id.cmp(&b.id)));
        Ok(releases)
    }

    /// Removes the oldest releases so that at most `keep` remain, failed ones first, but never
    /// the current release nor the one a rollback would return to (so more than `keep` may
    /// remain). Also clears leftovers of interrupted prepares and removals. Returns the removed
    /// releases, oldest first.
    pub fn prune(&self, keep: usize) -> Result<Vec<Release>, TargetError> {
        let _lock = self.lock()?;
        self.remove_leftovers()?;
        let releases = self.releases()?;
        // A damaged history must not stop the housekeeping: statuses tell the rest.
        let mut history = self.read_history().unwrap_or_default();
        let mut protected = HashSet::new();
        if let Some(current) = self.running()? {
            let target = match self.rollback_target(&current.id, &history)? {
                Some((_, target)) => Some(target),
                None => self.superseded_before(&current)?,
            };
            if let Some(target) = target {
                protected.insert(target.id);
            }
            protected.insert(current.id);
        }
        let excess = releases.len().saturating_sub(keep);
        let (failed, others): (Vec<Release>, Vec<Release>) = releases
            .into_iter()
            .filter(|release| !protected.contains(&release.id))
            .partition(|release| release.status == ReleaseStatus::Failed);
        let mut removed: Vec<Release> = failed.into_iter().chain(others).take(excess).collect();
        for release in &removed {
            // Renamed first, so an interrupted removal leaves no half release under its id.
            let doomed = self
                .releases_dir()
                .join(format!("{REMOVING_PREFIX}{}", release.id));
            fs_err::rename(&release.dir, &doomed)?;
            remove_tree(&doomed)?;
        }
        history
            .activations
            .retain(|id| !removed.iter().any(|release| release.id == *id));
        self.write_history(&history)?;
        removed.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.id.cmp(&b.id)));
        Ok(removed)
    }

    /// Working directories of prepares whose process is gone, interrupted removals, and the
    /// temporary files of writes a killed process left in the root (only the holder of the
    /// target's lock writes there, and the caller holds it).
    fn remove_leftovers(&self) -> Result<(), TargetError> {
        for entry in fs_err::read_dir(&self.root)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let temporary = name.starts_with(&format!(".{HISTORY_FILE}.tmp-"))
                || name.starts_with(&format!("{CURRENT_LINK}.tmp-"));
            if temporary {
                let _ = fs_err::remove_file(entry.path());
            }
        }
        for entry in fs_err::read_dir(self.releases_dir())? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let abandoned = if let Some(rest) = name.strip_prefix(PREPARE_PREFIX) {
                let pid = rest.split('-').next().and_then(|pid| pid.parse().ok());
                pid.is_some_and(|pid| !process_is_alive(pid))
            } else {
                name.starts_with(REMOVING_PREFIX)
            };
            if abandoned {
                remove_tree(&entry.path())?;
            }
        }
        Ok(())
    }

    fn load(&self, id: &str) -> Result<Release, TargetError> {
        let dir = self.releases_dir().join(id);
        let path = dir.join(RELEASE_FILE);
        let bytes = match fs_err::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Err(TargetError::UnknownRelease {
                    id: id.to_string(),
                    root: self.root.clone(),
                });
            }
            Err(error) => return Err(error.into()),
        };
        let mut release: Release =
            serde_json::from_slice(&bytes).map_err(|source| TargetError::Json { path, source })?;
        release.dir = dir;
        Ok(release)
    }

    /// Creates a symlink beside `current` and renames it over `current`: rename is atomic,
    /// so `current` never is missing or half-switched. The target is relative, so the whole
    /// root can be moved.
    fn point_current_at(&self, id: &str) -> Result<(), TargetError> {
        let temp_link = self
            .root
            .join(format!("{CURRENT_LINK}.tmp-{}", std::process::id()));
        let _ = fs_err::remove_file(&temp_link);
        fs_err::os::unix::fs::symlink(Path::new(RELEASES_DIR).join(id), &temp_link)?;
        if let Err(error) = fs_err::rename(&temp_link, self.root.join(CURRENT_LINK)) {
            let _ = fs_err::remove_file(&temp_link);
            return Err(error.into());
        }
        Ok(())
    }

    fn read_history(&self) -> Result<History, TargetError> {
        let path = self.root.join(HISTORY_FILE);
        match fs_err::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|source| TargetError::Json { path, source })
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(History::default()),
            Err(error) => Err(error.into()),
        }
    }

    /// Writes the history, keeping only releases that exist: ids of releases pruned or
    /// removed by hand do not linger.
    fn write_history(&self, history: &History) -> Result<(), TargetError> {
        let mut history = history.clone();
        history
            .activations
            .retain(|id| self.releases_dir().join(id).join(RELEASE_FILE).is_file());
        write_atomically(&self.root.join(HISTORY_FILE), &to_canonical_json(&history))?;
        Ok(())
    }

    /// Serialises `activate`, `rollback`, `mark_failed` and `prune` between processes (a manual
    /// rollback while a deployment runs); released when dropped.
    fn lock(&self) -> Result<fs_err::File, TargetError> {
        Ok(lock_file(&self.root.join(LOCK_FILE))?)
    }
}

fn write_release_file(dir: &Path, release: &Release) -> Result<(), TargetError> {
    let mut bytes = serde_json::to_vec_pretty(release).unwrap_or_default();
    bytes.push(b'\n');
    write_atomically(&dir.join(RELEASE_FILE), &bytes)?;
    Ok(())
}

/// Removes a directory tree, if it exists. Hooks may have left read-only directories, which
/// `remove_dir_all` cannot empty, so on "permission denied" they are made writable first.
fn remove_tree(path: &Path) -> io::Result<()> {
    let result = match fs_err::remove_dir_all(path) {
        Err(error) if error.kind() == io::ErrorKind::PermissionDenied => {
            make_writable(path)?;
            fs_err::remove_dir_all(path)
        }
        other => other,
    };
    match result {
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

fn make_writable(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let metadata = fs_err::symlink_metadata(dir)?;
    if !metadata.is_dir() {
        return Ok(());
    }
    fs_err::set_permissions(
        dir,
        PermissionsExt::from_mode(metadata.permissions().mode() | 0o700),
    )?;
    for entry in fs_err::read_dir(dir)? {
        make_writable(&entry?.path())?;
    }
    Ok(())
}

/// RFC 3339 text for timestamps in our JSON files (jiff's serde support is not enabled).
pub(crate) mod timestamp_serde {
    use jiff::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub fn serialize<S: Serializer>(
        timestamp: &Timestamp,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_str(timestamp)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{ImageInput, build_image};

    struct Fixture {
        dir: tempfile::TempDir,
        store: ImageStore,
        target: LocalTarget,
    }

    impl Fixture {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let store = ImageStore::open_or_create(dir.path().join("images")).unwrap();
            let target = LocalTarget::open(dir.path().join("staging")).unwrap();
            Self { dir, store, target }
        }

        /// An image whose `index.php` says `content`.
        fn image(&self, content: &str) -> ResolvedImage {
            let tree = self.dir.path().join(format!("tree-{content}"));
            fs_err::create_dir_all(&tree).unwrap();
            fs_err::write(tree.join("index.php"), content).unwrap();
            let built = build_image(
                &self.store,
                &ImageInput {
                    root: &tree,
                    environment: [("APPLICATION_ENV".to_string(), content.to_string())]
                        .into_iter()
                        .collect(),
                    labels: std::collections::BTreeMap::new(),
                    created: "2024-05-01T12:00:00Z".parse().unwrap(),
                    base: None,
                },
            )
            .unwrap();
            self.store
                .resolve(&built.manifest_digest.to_string())
                .unwrap()
        }

        fn prepare(&self, content: &str) -> Release {
            let image = self.image(content);
            self.target
                .prepare(&self.store, &image, &format!("shop:{content}"), "normal")
                .unwrap()
        }

        fn deploy(&self, content: &str) -> Release {
            let release = self.prepare(content);
            self.target.activate(&release).unwrap()
        }

        fn running_content(&self) -> String {
            let running = self.target.running().unwrap().unwrap();
            fs_err::read_to_string(running.app_dir().join("index.php")).unwrap()
        }

        fn ids(&self) -> Vec<String> {
            self.target
                .releases()
                .unwrap()
                .into_iter()
                .map(|release| release.id)
                .collect()
        }

        /// Every name under `releases/`, working directories included.
        fn release_dir_names(&self) -> Vec<String> {
            let mut names: Vec<String> = fs_err::read_dir(self.target.root().join("releases"))
                .unwrap()
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        }
    }

    fn statuses(target: &LocalTarget) -> Vec<(String, ReleaseStatus)> {
        target
            .releases()
            .unwrap()
            .into_iter()
            .map(|release| {
                let content = fs_err::read_to_string(release.app_dir().join("index.php")).unwrap();
                (content, release.status)
            })
            .collect()
    }

    #[test]
    fn prepare_unpacks_the_image_as_a_new_release() {
        let fixture = Fixture::new();
        let image = fixture.image("one");
        let release = fixture
            .target
            .prepare(&fixture.store, &image, "shop:one", "destructive")
            .unwrap();

        assert_eq!(release.status, ReleaseStatus::Prepared);
        assert_eq!(
            release.dir,
            fixture.target.root().join("releases").join(&release.id)
        );
        assert_eq!(
            fs_err::read_to_string(release.app_dir().join("index.php")).unwrap(),
            "one"
        );
        // <yyyymmddThhmmss.mmmZ>-<12 hex>
        let (time, digest) = release.id.split_once('-').unwrap();
        assert_eq!(time.len(), 20);
        assert_eq!(
            time,
            release.created.strftime("%Y%m%dT%H%M%S%.3fZ").to_string()
        );
        assert_eq!(digest, image.manifest_digest.short());

        let stored: serde_json::Value =
            serde_json::from_slice(&fs_err::read(release.dir.join("release.json")).unwrap())
                .unwrap();
        assert_eq!(stored["id"], release.id.as_str());
        assert_eq!(
            stored["image_digest"],
            image.manifest_digest.to_string().as_str()
        );
        assert_eq!(stored["image_reference"], "shop:one");
        assert_eq!(stored["environment"]["APPLICATION_ENV"], "one");
        assert_eq!(stored["deploy_type"], "destructive");
        assert_eq!(stored["status"], "prepared");
        assert_eq!(stored["created"], release.created.to_string().as_str());

        assert_eq!(fixture.target.releases().unwrap(), vec![release]);
        assert!(fixture.target.running().unwrap().is_none());
        assert_eq!(fixture.release_dir_names().len(), 1);
    }

    #[test]
    fn release_ids_get_a_suffix_when_taken() {
        let fixture = Fixture::new();
        let image = fixture.image("one");
        let mut ids = Vec::new();
        for _ in 0..3 {
            let temp_dir = fixture.target.releases_dir().join(".prepare-test");
            fs_err::create_dir(&temp_dir).unwrap();
            let mut release = Release {
                dir: PathBuf::new(),
                id: String::new(),
                image_digest: image.manifest_digest.clone(),
                image_reference: "shop:one".to_string(),
                environment: IndexMap::new(),
                deploy_type: "normal".to_string(),
                created: "2024-05-01T12:00:00Z".parse().unwrap(),
                status: ReleaseStatus::Prepared,
            };
            fixture
                .target
                .move_into_place(&temp_dir, &mut release)
                .unwrap();
            ids.push(release.id);
        }
        let base = format!("20240501T120000.000Z-{}", image.manifest_digest.short());
        assert_eq!(
            ids,
            vec![base.clone(), format!("{base}-2"), format!("{base}-3")]
        );
        assert_eq!(fixture.ids(), ids);
    }

    #[test]
    fn activate_switches_current() {
        let fixture = Fixture::new();
        let one = fixture.deploy("one");
        assert_eq!(one.status, ReleaseStatus::Active);
        let link = fixture.target.root().join("current");
        assert_eq!(
            fs_err::read_link(&link).unwrap(),
            Path::new("releases").join(&one.id)
        );
        assert_eq!(fixture.running_content(), "one");

        let two = fixture.deploy("two");
        assert_eq!(fixture.running_content(), "two");
        assert_eq!(fixture.target.running().unwrap().unwrap().id, two.id);
        assert_eq!(
            statuses(&fixture.target),
            vec![
                ("one".to_string(), ReleaseStatus::Superseded),
                ("two".to_string(), ReleaseStatus::Active)
            ]
        );
        // Only the link and the bookkeeping files; no temporary link left behind.
        let mut names: Vec<String> = fs_err::read_dir(fixture.target.root())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, vec![".lock", "current", "history.json", "releases"]);
    }

    #[test]
    fn rollback_walks_back_through_the_activations() {
        let fixture = Fixture::new();
        let one = fixture.deploy("one");
        let two = fixture.deploy("two");
        let three = fixture.deploy("three");

        let (from, to) = fixture.target.rollback().unwrap();
        assert_eq!(
            (from.id.as_str(), to.id.as_str()),
            (three.id.as_str(), two.id.as_str())
        );
        assert_eq!(from.status, ReleaseStatus::RolledBack);
        assert_eq!(to.status, ReleaseStatus::Active);
        assert_eq!(fixture.running_content(), "two");

        let (from, to) = fixture.target.rollback().unwrap();
        assert_eq!(
            (from.id.as_str(), to.id.as_str()),
            (two.id.as_str(), one.id.as_str())
        );
        assert_eq!(fixture.running_content(), "one");

        let error = fixture.target.rollback().unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "cannot roll back release {}: there is no earlier release to return to",
                one.id
            )
        );
        assert_eq!(
            upkeep_hint::Hint::hint(&error).as_deref(),
            Some("deploy an earlier commit instead")
        );
        assert_eq!(fixture.running_content(), "one");
        assert_eq!(
            statuses(&fixture.target),
            vec![
                ("one".to_string(), ReleaseStatus::Active),
                ("two".to_string(), ReleaseStatus::RolledBack),
                ("three".to_string(), ReleaseStatus::RolledBack)
            ]
        );
    }

    #[test]
    fn a_new_deployment_after_a_rollback_rolls_back_to_the_rollback_target() {
        let fixture = Fixture::new();
        fixture.deploy("one");
        let two = fixture.deploy("two");
        fixture.deploy("three");
        fixture.target.rollback().unwrap();
        let four = fixture.deploy("four");
        let (from, to) = fixture.target.rollback().unwrap();
        assert_eq!((from.id, to.id), (four.id, two.id));
    }

    #[test]
    fn rollback_with_nothing_running_is_an_error() {
        let fixture = Fixture::new();
        let error = fixture.target.rollback().unwrap_err();
        assert!(
            matches!(error, TargetError::NothingRunning { .. }),
            "{error}"
        );
        assert!(
            error.to_string().starts_with("nothing is deployed in "),
            "{error}"
        );
    }

    #[test]
    fn a_failed_release_is_kept_but_never_activated() {
        let fixture = Fixture::new();
        let one = fixture.deploy("one");
        let two = fixture.prepare("two");
        let failed = fixture.target.mark_failed(&two).unwrap();
        assert_eq!(failed.status, ReleaseStatus::Failed);
        assert!(failed.app_dir().join("index.php").is_file());

        let error = fixture.target.activate(&two).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "release {} failed; a failed release is never activated",
                two.id
            )
        );
        assert_eq!(fixture.target.running().unwrap().unwrap().id, one.id);

        let error = fixture.target.mark_failed(&one).unwrap_err();
        assert!(
            matches!(error, TargetError::ReleaseRunning { .. }),
            "{error}"
        );
    }

    #[test]
    fn a_failed_prepare_leaves_no_release_and_current_untouched() {
        let fixture = Fixture::new();
        let one = fixture.deploy("one");
        let names_before = fixture.release_dir_names();

        let broken = fixture.image("broken");
        let layer = &broken.manifest.layers[0].digest;
        fs_err::write(fixture.store.blob_path(layer), b"not a layer").unwrap();
        let error = fixture
            .target
            .prepare(&fixture.store, &broken, "shop:broken", "normal")
            .unwrap_err();
        assert!(matches!(error, TargetError::Image(_)), "{error}");

        assert_eq!(fixture.release_dir_names(), names_before);
        assert_eq!(fixture.ids(), vec![one.id.clone()]);
        assert_eq!(fixture.target.running().unwrap().unwrap().id, one.id);
        assert_eq!(fixture.running_content(), "one");
    }

    #[test]
    fn prune_removes_the_oldest_failed_first() {
        let fixture = Fixture::new();
        let failed = fixture.prepare("failed");
        fixture.target.mark_failed(&failed).unwrap();
        let b = fixture.deploy("b");
        let c = fixture.deploy("c");
        let d = fixture.deploy("d");
        let e = fixture.deploy("e");

        let removed: Vec<String> = fixture
            .target
            .prune(3)
            .unwrap()
            .into_iter()
            .map(|release| release.id)
            .collect();
        assert_eq!(removed, vec![failed.id, b.id]);
        assert_eq!(
            fixture.ids(),
            vec![c.id.clone(), d.id.clone(), e.id.clone()]
        );
        assert_eq!(fixture.release_dir_names().len(), 3);

        // Keeping 1 still keeps the rollback target.
        fixture.target.prune(1).unwrap();
        assert_eq!(fixture.ids(), vec![d.id.clone(), e.id.clone()]);
        let (from, to) = fixture.target.rollback().unwrap();
        assert_eq!((from.id, to.id), (e.id, d.id));
    }

    #[test]
    fn prune_never_removes_current_or_the_rollback_target() {
        let fixture = Fixture::new();
        fixture.deploy("a");
        let b = fixture.deploy("b");
        let c = fixture.deploy("c");
        fixture.deploy("d");
        // current c, rollback target b; a and d (rolled back) may go.
        fixture.target.rollback().unwrap();
        let removed = fixture.target.prune(1).unwrap();
        assert_eq!(removed.len(), 2);
        assert_eq!(fixture.ids(), vec![b.id.clone(), c.id.clone()]);
        assert_eq!(fixture.running_content(), "c");
        let (_, to) = fixture.target.rollback().unwrap();
        assert_eq!(to.id, b.id);
    }

    #[test]
    fn prune_clears_leftovers_of_dead_prepares_only() {
        let fixture = Fixture::new();
        fixture.deploy("a");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead_pid = child.id();
        child.wait().unwrap();
        let releases = fixture.target.releases_dir();
        let dead = releases.join(format!(".prepare-{dead_pid}-0"));
        let alive = releases.join(format!(".prepare-{}-99", std::process::id()));
        let interrupted = releases.join(".removing-20240101T000000Z-000000000000");
        for dir in [&dead, &alive, &interrupted] {
            fs_err::create_dir_all(dir.join("app")).unwrap();
        }
        fixture.target.prune(5).unwrap();
        assert!(!dead.exists());
        assert!(alive.exists());
        assert!(!interrupted.exists());
        assert_eq!(fixture.ids().len(), 1);
    }

    #[test]
    fn rollback_works_from_the_statuses_when_the_history_is_damaged() {
        let fixture = Fixture::new();
        let one = fixture.deploy("one");
        let two = fixture.deploy("two");
        let three = fixture.deploy("three");
        let history = fixture.target.root().join("history.json");
        fs_err::write(&history, "{not json").unwrap();
        // Damaged history is found before a deployment runs a hook.
        assert!(fixture.target.check().is_err());
        let (from, to) = fixture.target.rollback().unwrap();
        assert_eq!((from.id, to.id), (three.id.clone(), two.id.clone()));
        assert_eq!(fixture.running_content(), "two");
        // The history is whole again, and later rollbacks walk further back.
        fixture.target.check().unwrap();
        let (_, to) = fixture.target.rollback().unwrap();
        assert_eq!(to.id, one.id);
        // A history that lost the running release (its last write) works the same way.
        let four = fixture.deploy("four");
        fs_err::write(&history, r#"{"activations":[]}"#).unwrap();
        let (from, to) = fixture.target.rollback().unwrap();
        assert_eq!(from.id, four.id);
        assert_eq!(to.id, one.id);
    }

    #[test]
    fn activation_records_before_it_switches_and_leftovers_are_cleared() {
        let fixture = Fixture::new();
        let one = fixture.deploy("one");
        let two = fixture.deploy("two");
        assert_eq!(
            statuses(&fixture.target),
            [
                ("one".to_string(), ReleaseStatus::Superseded),
                ("two".to_string(), ReleaseStatus::Active)
            ]
        );
        let history: serde_json::Value = serde_json::from_slice(
            &fs_err::read(fixture.target.root().join("history.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(history["activations"], serde_json::json!([one.id, two.id]));
        // What a process killed while writing leaves in the root.
        let root = fixture.target.root();
        fs_err::write(root.join(".history.json.tmp-4242-0"), "{").unwrap();
        fs_err::os::unix::fs::symlink("releases/x", root.join("current.tmp-4242")).unwrap();
        fixture.target.prune(5).unwrap();
        let mut names: Vec<String> = fs_err::read_dir(root)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, [".lock", "current", "history.json", "releases"]);
    }

    #[test]
    fn an_activation_killed_before_its_switch_is_repaired() {
        let fixture = Fixture::new();
        let one = fixture.deploy("one");
        let two = fixture.prepare("two");
        // The bookkeeping of activating `two`, without the switch.
        let mut recorded = two.clone();
        recorded.status = ReleaseStatus::Active;
        write_release_file(&recorded.dir, &recorded).unwrap();
        let mut superseded = fixture.target.running().unwrap().unwrap();
        superseded.status = ReleaseStatus::Superseded;
        write_release_file(&superseded.dir, &superseded).unwrap();
        fixture
            .target
            .write_history(&History {
                activations: vec![one.id.clone(), two.id.clone()],
            })
            .unwrap();
        fixture.target.check().unwrap();
        assert_eq!(fixture.running_content(), "one");
        assert_eq!(
            statuses(&fixture.target),
            [
                ("one".to_string(), ReleaseStatus::Active),
                ("two".to_string(), ReleaseStatus::Failed)
            ]
        );
        let history = fs_err::read_to_string(fixture.target.root().join("history.json")).unwrap();
        assert!(!history.contains(&two.id), "{history}");
    }

    #[test]
    fn a_release_a_killed_deployment_left_prepared_is_failed_and_pruned_first() {
        let fixture = Fixture::new();
        let one = fixture.deploy("one");
        let abandoned = fixture.prepare("killed");
        let two = fixture.deploy("two");
        let failed = fixture.target.fail_abandoned().unwrap();
        assert_eq!(
            failed.iter().map(|release| &release.id).collect::<Vec<_>>(),
            [&abandoned.id]
        );
        let removed = fixture.target.prune(2).unwrap();
        assert_eq!(removed[0].id, abandoned.id);
        assert_eq!(fixture.ids(), [one.id, two.id]);
    }

    #[test]
    fn the_history_forgets_releases_that_are_gone() {
        let fixture = Fixture::new();
        let one = fixture.deploy("one");
        fixture.deploy("two");
        remove_tree(&one.dir).unwrap();
        fixture.deploy("three");
        let history = fs_err::read_to_string(fixture.target.root().join("history.json")).unwrap();
        assert!(!history.contains(&one.id), "{history}");
    }

    #[test]
    fn a_current_link_outside_releases_is_reported() {
        let fixture = Fixture::new();
        fs_err::os::unix::fs::symlink("/srv/elsewhere", fixture.target.root().join("current"))
            .unwrap();
        let error = fixture.target.running().unwrap_err();
        assert!(
            matches!(error, TargetError::BrokenCurrent { .. }),
            "{error}"
        );
        assert!(
            error
                .to_string()
                .contains("points at /srv/elsewhere, which is not a release"),
            "{error}"
        );
    }
}
