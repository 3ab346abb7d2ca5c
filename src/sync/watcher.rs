//! `watch`: saved files to the database, continuously.
//!
//! ```text
//! notify events --> pending set (one entry per path) --> quiet for the debounce window?
//!   --> pause gate open? + sync root locked shared --> import.rs plans and applies the batch
//! ```
//! notify's thread feeds a std channel; one worker owns the pending set, the debounce timer
//! (`recv_timeout`), the gate check and its own database connection, so no database state is
//! shared between threads. A stop request (Ctrl-C, SIGTERM, or [`Stopper::stop`]) arrives through
//! the same channel and is honoured between batches. When events may have been lost (a full
//! inotify queue, a directory tree appearing at once), the worker walks the tree and reconciles.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode};
use notify::{Event, EventKind, RecursiveMode, Watcher as _};

use crate::config::Config;
use crate::disk::gate::{Gate, SyncLock};
use crate::disk::walk::walk_files;
use crate::error::{Error, Result};
use crate::mybb::db::Db;
use crate::sync::apply::ApplyOptions;
use crate::sync::layout::{self, NotAnItem};
use crate::sync::own_dir;
use crate::sync::plan::{self, Flow, Syncer};
use crate::sync::state::State;

/// How the watcher behaves.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Quiet time after the last event before a batch is read.
    pub debounce: Duration,
    /// Reconcile every file with the database before watching (off for `--export-first`,
    /// whose export brings the files up to date instead).
    pub reconcile_at_start: bool,
    /// How often to ask the database whether anything changed, to bring it to disk; None to
    /// never do so.
    pub pull_interval: Option<Duration>,
    /// Testing only: stop once this many items were written to the database.
    pub exit_after: Option<usize>,
    /// Where to report what each batch made live (`--live-reload`); never waits.
    pub live: Option<crate::live::Sender>,
}

/// What the worker receives.
#[derive(Debug)]
enum Message {
    Fs(notify::Result<Event>),
    Stop,
}

/// Asks a running watcher to stop after its current batch.
#[derive(Debug, Clone)]
pub struct Stopper(Sender<Message>);

impl Stopper {
    /// Asks the watcher to stop. Does nothing if it has stopped already.
    pub fn stop(&self) {
        let _ = self.0.send(Message::Stop);
    }
}

/// A watcher whose file events are already being collected, not yet processing them.
pub struct Armed {
    root: PathBuf,
    rx: Receiver<Message>,
    tx: Sender<Message>,
    // Kept alive: dropping it stops the events.
    watcher: notify::RecommendedWatcher,
    /// Whether folders are watched one by one (see [`arm`]), so new ones need a watch.
    folder_by_folder: bool,
}

/// Watches `dir` and every readable folder below it, each on its own. A folder that cannot be
/// watched is logged and skipped, unless it is `dir` and `strict`.
fn watch_folders(
    watcher: &mut notify::RecommendedWatcher,
    dir: &std::path::Path,
    strict: bool,
) -> Result<()> {
    for folder in crate::disk::walk::walk(dir)?.1 {
        if let Err(source) = watcher.watch(&folder, RecursiveMode::NonRecursive) {
            if strict && folder == dir {
                return Err(Error::Watch { source });
            }
            log::warn!("{}: not watched: {source}", folder.display());
        }
    }
    Ok(())
}

/// What a watcher did before it stopped.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WatchStats {
    pub batches: usize,
    pub written: usize,
    /// Files brought to disk from the database.
    pub pulled: usize,
    pub refused: usize,
}

/// Starts collecting events under the sync root (created if missing). Events that arrive
/// before [`Armed::run`] are kept, so nothing saved in between is lost.
pub fn arm(config: &Config) -> Result<Armed> {
    fs_err::create_dir_all(&config.sync_root)?;
    own_dir::bind(&config.sync_root, config, own_dir::Binding::CheckAndStamp)?;
    let root = std::path::absolute(&config.sync_root).map_err(|source| Error::IoAt {
        path: config.sync_root.clone(),
        action: "resolve",
        source,
    })?;
    let (tx, rx) = mpsc::channel();
    let events = tx.clone();
    let new_watcher = || {
        let events = events.clone();
        // Links inside the root are never followed (`inspect.rs`), by the watches either.
        let config = notify::Config::default().with_follow_symlinks(false);
        notify::RecommendedWatcher::new(
            move |event| {
                let _ = events.send(Message::Fs(event));
            },
            config,
        )
        .map_err(|source| Error::Watch { source })
    };
    let mut watcher = new_watcher()?;
    let folder_by_folder = match watcher.watch(&root, RecursiveMode::Recursive) {
        Ok(()) => false,
        Err(e) => {
            // One folder that cannot be read makes notify's recursive watch fail as a whole
            // (inotify needs read permission): watch each readable folder on its own instead,
            // and each new folder as it appears. The planner reports the unreadable ones.
            log::warn!("cannot watch the sync root as one tree ({e}); watching folder by folder");
            watcher = new_watcher()?;
            watch_folders(&mut watcher, &root, true)?;
            true
        }
    };
    Ok(Armed { root, rx, tx, watcher, folder_by_folder })
}

impl Armed {
    /// Returns a handle that stops the watcher.
    pub fn stopper(&self) -> Stopper {
        Stopper(self.tx.clone())
    }

    /// Runs the worker until stopped: connects to the database (a failure here ends the run),
    /// then applies each quiet batch of changed files while `gate` is open.
    pub fn run(
        self,
        config: &Config,
        options: &WatchOptions,
        gate: Arc<Gate>,
    ) -> Result<WatchStats> {
        let db = Db::connect(&config.db, &config.prefix)?;
        let config = Config { sync_root: self.root.clone(), ..config.clone() };
        let worker = Worker {
            root: self.root.clone(),
            db,
            config,
            options: options.clone(),
            gate,
            lock: own_dir::lock(&self.root)?,
            pending: BTreeSet::new(),
            rescan: options.reconcile_at_start,
            last_event: Instant::now(),
            retry_at: None,
            backoff: Duration::ZERO,
            outage: false,
            bad_ignore_file: false,
            next_pull: options.pull_interval.map(|every| Instant::now() + every),
            fingerprint: None,
            own_newest: None,
            stats: WatchStats::default(),
            watcher: self.watcher,
            folder_by_folder: self.folder_by_folder,
            reported: std::collections::HashSet::new(),
        };
        worker.run(&self.rx)
    }
}

struct Worker {
    root: PathBuf,
    db: Db,
    config: Config,
    options: WatchOptions,
    gate: Arc<Gate>,
    lock: SyncLock,
    pending: BTreeSet<PathBuf>,
    /// Walk the whole tree before the next batch (start-up, lost events).
    rescan: bool,
    last_event: Instant,
    /// While the database is unreachable: when to try again.
    retry_at: Option<Instant>,
    backoff: Duration,
    outage: bool,
    /// `.mybb-syncignore` could not be read: changes wait until it is fixed.
    bad_ignore_file: bool,
    /// When to next ask the database whether anything changed.
    next_pull: Option<Instant>,
    /// The database's fingerprint when last pulled, or right after the watcher's own writes.
    fingerprint: Option<Vec<u64>>,
    /// The newest stamp when the watcher itself last wrote rows.
    own_newest: Option<u64>,
    stats: WatchStats,
    watcher: notify::RecommendedWatcher,
    folder_by_folder: bool,
    /// Refusals already reported by a pull, as (path, reason).
    reported: std::collections::HashSet<(PathBuf, String)>,
}

/// The longest wait between attempts while the database is unreachable.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How often a worker whose batch is due looks at a paused gate again.
const PAUSED_POLL: Duration = Duration::from_millis(50);

impl Worker {
    fn run(mut self, rx: &Receiver<Message>) -> Result<WatchStats> {
        if self.rescan {
            self.process()?;
        }
        log::info!(
            "watching {} (debounce {} ms)",
            self.root.display(),
            self.options.debounce.as_millis()
        );
        loop {
            let message = match self.due_at() {
                None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                Some(due) => rx.recv_timeout(due.saturating_duration_since(Instant::now())),
            };
            match message {
                Ok(Message::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                Ok(Message::Fs(event)) => self.note(event),
                Err(RecvTimeoutError::Timeout) => {}
            }
            if self.due_at().is_some_and(|due| due <= Instant::now()) {
                if !self.gate.is_paused() {
                    self.process()?;
                } else {
                    // Events keep being collected while paused; look at the gate again soon.
                    self.retry_at = Some(Instant::now() + PAUSED_POLL);
                }
            }
            if self.next_pull.is_some_and(|at| at <= Instant::now()) {
                if self.gate.is_paused() {
                    self.next_pull = Some(Instant::now() + PAUSED_POLL);
                } else {
                    self.pull()?;
                }
            }
            if self.options.exit_after.is_some_and(|n| self.stats.written >= n) {
                break;
            }
        }
        log::info!("stopped watching {}", self.root.display());
        Ok(self.stats)
    }

    /// Returns when the next batch or pull is due, or None when there is nothing to do, in
    /// which case the worker sleeps until an event arrives.
    fn due_at(&self) -> Option<Instant> {
        let batch = (!self.pending.is_empty() || self.rescan).then(|| {
            let quiet = self.last_event + self.options.debounce;
            self.retry_at.map_or(quiet, |retry| retry.max(quiet))
        });
        match (batch, self.next_pull) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Brings database changes (Admin CP edits, reverts) to disk, when a cheap fingerprint of
    /// the tables says something changed. Runs between batches, behind the same gate and lock,
    /// so the files it writes are echoes that change nothing in the database.
    fn pull(&mut self) -> Result<()> {
        let every = self.options.pull_interval.unwrap_or(Duration::from_secs(2));
        self.next_pull = Some(Instant::now() + every);
        let _shared = self.lock.shared()?;
        let fingerprint = match self.db.fingerprint() {
            Ok(fingerprint) => fingerprint,
            Err(e) => return self.outage_or(e, Vec::new()),
        };
        // Within the stamps' one-second resolution, two edits of one row can leave the same
        // fingerprint: while the newest stamp is that recent, compare contents anyway, unless
        // that stamp is our own writes' (then only an Admin CP re-edit of the very row we
        // wrote, within the same second, would go unseen until the next change).
        let newest = fingerprint.first().copied().unwrap_or(0);
        let recent = newest + 2 >= crate::mybb::db::now() && Some(newest) != self.own_newest;
        if Some(&fingerprint) == self.fingerprint.as_ref() && !recent {
            return Ok(());
        }
        // The baseline of the masters first (one cheap query when they did not change), so an
        // upgrade's old masters are recorded before anything is pulled.
        match crate::sync::baseline::keep_up(&self.db, &self.root, self.config.durable) {
            Ok(()) => {}
            Err(e @ (Error::Connect { .. } | Error::Query { .. })) => {
                return self.outage_or(e, Vec::new());
            }
            Err(e) => log::warn!(
                "the baseline of the master templates was not updated: {}",
                crate::error::chain(&e)
            ),
        }
        let result = Syncer::new(&self.db, &self.config, None).and_then(|syncer| {
            let board = crate::mybb::board::Board::load(&self.db)?;
            let scope = syncer.default_scope(&board)?;
            let mut state = State::load(&self.root)?;
            let mut plan = syncer.plan_scope(&board, &scope, &state, false)?;
            // A pull looks at every file: a refusal it already reported (a stray file in a
            // theme folder, a link) is reported once, not at every change in the database.
            plan.retain(|p| match &p.action {
                plan::Action::Refused(why) => self.reported.insert((p.path.clone(), why.clone())),
                _ => true,
            });
            syncer.apply(plan, Flow::BOTH, &mut state, &ApplyOptions::default())
        });
        match result {
            Ok(report) => {
                self.publish(&report.live);
                for path in &report.pulled {
                    log::info!("{}: brought to disk from the database", self.config.shown(path));
                }
                self.stats.pulled += report.pulled.len();
                self.stats.written += report.written.len();
                self.fingerprint = Some(fingerprint);
                if self.outage {
                    log::info!("the database is reachable again");
                    self.outage = false;
                }
                Ok(())
            }
            Err(e) => self.outage_or(e, Vec::new()),
        }
    }

    /// Handles an error of a batch or pull: a database outage keeps `batch` pending and
    /// schedules a retry, logged once per outage; anything else ends the watcher.
    fn outage_or(&mut self, error: Error, batch: Vec<PathBuf>) -> Result<()> {
        // A typo in the ignore file is fixed in the editor, not by restarting the watcher.
        if let Error::IgnoreFile { message } = &error {
            self.pending.extend(batch);
            self.retry_at = Some(Instant::now() + MAX_BACKOFF);
            if !self.bad_ignore_file {
                log::warn!("{message}; the changes wait until it is fixed");
                self.bad_ignore_file = true;
            }
            return Ok(());
        }
        self.bad_ignore_file = false;
        if !matches!(error, Error::Connect { .. } | Error::Query { .. }) {
            return Err(error);
        }
        self.pending.extend(batch);
        self.backoff = (self.backoff * 2).clamp(Duration::from_millis(100), MAX_BACKOFF);
        self.retry_at = Some(Instant::now() + self.backoff);
        if !self.outage {
            log::warn!(
                "{}; keeping {} pending change(s) and retrying",
                crate::error::chain(&error),
                self.pending.len()
            );
            self.outage = true;
        }
        Ok(())
    }

    /// Tells live-reload browsers, if any, what a batch made live. Called only once the batch's
    /// rows and cache files are written.
    fn publish(&self, changes: &[crate::live::Change]) {
        if let Some(live) = &self.options.live
            && !changes.is_empty()
        {
            live.publish(&self.db, changes);
        }
    }

    /// Records one notify event.
    fn note(&mut self, event: notify::Result<Event>) {
        let event = match event {
            Ok(event) => event,
            Err(e) => {
                log::warn!("file events may have been lost ({e}); will rescan the sync root");
                self.rescan = true;
                return;
            }
        };
        if event.need_rescan() {
            log::warn!("the file event queue overflowed; will rescan the sync root");
            self.rescan = true;
        }
        // Reads (ours included) are not changes; a file closed after writing is.
        if let EventKind::Access(kind) = event.kind
            && kind != AccessKind::Close(AccessMode::Write)
        {
            return;
        }
        for path in event.paths {
            // Looked at without following a link: a link is planned (and refused) as it is.
            if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
                if self.folder_by_folder
                    && let Err(e) = watch_folders(&mut self.watcher, &path, false)
                {
                    log::warn!("{}: not watched: {}", path.display(), crate::error::chain(&e));
                }
                // A directory created or moved in: its files may have come with no event.
                match walk_files(&path) {
                    Ok(files) => self.add(files),
                    Err(_) => self.rescan = true,
                }
            } else {
                self.add([path]);
            }
        }
    }

    fn add(&mut self, paths: impl IntoIterator<Item = PathBuf>) {
        for path in paths {
            let Ok(relative) = path.strip_prefix(&self.root) else { continue };
            // Links and unreadable folders are not items, but are reported, so kept.
            let looked_at = || {
                std::fs::symlink_metadata(&path)
                    .is_ok_and(|m| m.file_type().is_symlink() || m.is_dir())
            };
            let in_layout = relative.starts_with(layout::TEMPLATE_SETS_DIR)
                || relative.starts_with(layout::STYLES_DIR);
            if layout::parse(relative) == Err(NotAnItem::Ignored) && !(in_layout && looked_at()) {
                continue;
            }
            log::debug!("changed: {}", self.config.shown(&path));
            self.pending.insert(path);
            self.last_event = Instant::now();
        }
    }

    /// Applies the pending batch under the sync root's shared lock. A database outage keeps
    /// the batch pending and schedules a retry; other errors end the watcher.
    fn process(&mut self) -> Result<()> {
        let _shared = self.lock.shared()?;
        if self.rescan {
            self.rescan = false;
            let files = plan::walk_root(&self.root)?;
            log::debug!("reconciling {} files with the database", files.len());
            self.pending.extend(files);
        }
        let batch: Vec<PathBuf> = std::mem::take(&mut self.pending).into_iter().collect();
        if batch.is_empty() {
            return Ok(());
        }
        let result = Syncer::new(&self.db, &self.config, None).and_then(|syncer| {
            let mut state = State::load(&self.root)?;
            let plan = syncer.plan_paths(&batch, &state)?;
            syncer.apply(plan, Flow::BOTH, &mut state, &ApplyOptions::default())
        });
        match result {
            Ok(report) => {
                self.publish(&report.live);
                if self.outage {
                    log::info!("the database is reachable again; pending changes applied");
                }
                self.bad_ignore_file = false;
                self.outage = false;
                self.retry_at = None;
                self.backoff = Duration::ZERO;
                self.stats.batches += 1;
                self.stats.written += report.written.len();
                if !report.written.is_empty() && self.options.pull_interval.is_some() {
                    // Our own writes are no news: the next pull need not compare every file.
                    if let Ok(fingerprint) = self.db.fingerprint() {
                        self.own_newest = fingerprint.first().copied();
                        self.fingerprint = Some(fingerprint);
                    }
                }
                self.stats.pulled += report.pulled.len();
                self.stats.refused += report.refused.len();
                self.reported.extend(report.refused.iter().cloned());
                for path in &report.missing {
                    log::info!(
                        "{}: deleted on disk; the database keeps it",
                        self.config.shown(path)
                    );
                }
                if !report.unstable.is_empty() {
                    // Still being written: wait for the writer to go quiet, then read again.
                    self.pending.extend(report.unstable);
                    self.last_event = Instant::now();
                }
                Ok(())
            }
            Err(e) => self.outage_or(e, batch),
        }
    }
}
