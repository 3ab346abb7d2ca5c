//! `watch`: saved files to the database, continuously.
//!
//! ```text
//! notify events --> pending set (one entry per path) --> quiet for the debounce window?
//!   --> pause gate open? + sync root locked shared --> import.rs plans and applies the batch
//! ```
//! notify's thread feeds a std channel; one worker owns the pending set, the debounce timer
//! (`recv_timeout`), the gate check and its own database connection, so no database state is
//! shared between threads. While the gate is shut the worker sleeps on its condition variable
//! and events queue in the channel. A stop request (Ctrl-C, SIGTERM, or [`Stopper::stop`])
//! arrives through the same channel and a flag, wakes the worker wherever it waits, and is
//! honoured between batches; a worker stuck on a frozen database is not waited for beyond a
//! moment. When events may have been lost (a full inotify queue, a directory tree appearing at
//! once), the worker walks the tree and reconciles. Every so often a pull brings database
//! changes to the files nobody is editing.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode};
use notify::{Event, EventKind, RecursiveMode, Watcher as _};

use crate::config::Config;
use crate::disk::gate::{Gate, SyncLock};
use crate::disk::walk::walk_files;
use crate::error::{Error, Result, plain};
use crate::mybb::db::Db;
use crate::sync::apply::ApplyOptions;
use crate::sync::layout::{self, NotAnItem};
use crate::sync::own_dir;
use crate::sync::plan::{self, Action, Flow, Syncer};
use crate::sync::state::State;

mod changed;
mod claim;
mod deletions;
mod pull;
mod rebuilt;

use claim::claim_root;
use deletions::hold_mass_deletion;

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
    /// The most files one batch may delete from the database: a batch deleting more (or one
    /// in which a whole set's or theme's folder vanished) is a branch switch or an `rm -rf`
    /// far more often than a wish, so it is held for an explicit `import`.
    pub max_deletions: usize,
    /// Told of each batch of saved files before it is applied (`watch` prints `check`'s new
    /// findings), but not of a reconcile's walk of every file; it cannot stop the batch.
    pub on_saved: Option<SavedHook>,
}

/// A caller's look at each batch of saved files, as [`WatchOptions::on_saved`]: the engine
/// below the commands calls up to them through it without depending on them.
#[derive(Clone)]
pub struct SavedHook(pub Arc<SavedFn>);

/// What [`SavedHook`] calls, with the batch's paths.
pub type SavedFn = dyn Fn(&[PathBuf]) + Send + Sync;

impl std::fmt::Debug for SavedHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SavedHook")
    }
}

/// What the worker receives.
#[derive(Debug)]
enum Message {
    Fs(notify::Result<Event>),
    Stop,
}

/// What a [`Stopper`], the worker and the thread that runs it share.
#[derive(Debug, Default)]
struct Shared {
    stopping: AtomicBool,
    /// The gate the worker may be blocked on, to wake it when stopping.
    gate: Mutex<Option<Arc<Gate>>>,
    /// Whether the worker has finished; with `stopping`, what [`Armed::run`] waits for.
    done: Mutex<bool>,
    changed: Condvar,
}

impl Shared {
    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    fn finish(&self) {
        *lock(&self.done) = true;
        self.changed.notify_all();
    }
}

/// Locks `mutex`, whose data stays consistent even if a holder panicked.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Asks a running watcher to stop after its current batch.
#[derive(Debug, Clone)]
pub struct Stopper {
    tx: Sender<Message>,
    shared: Arc<Shared>,
}

impl Stopper {
    /// Asks the watcher to stop, waking it wherever it waits (for events, on the pause gate,
    /// for a retry). Does nothing if it has stopped already.
    pub fn stop(&self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        let _ = self.tx.send(Message::Stop);
        if let Some(gate) = lock(&self.shared.gate).as_ref() {
            gate.wake();
        }
        let _done = lock(&self.shared.done);
        self.shared.changed.notify_all();
    }
}

/// A watcher whose file events are already being collected, not yet processing them.
pub struct Armed {
    root: PathBuf,
    rx: Receiver<Message>,
    tx: Sender<Message>,
    shared: Arc<Shared>,
    // Kept alive: dropping it stops the events.
    watcher: notify::RecommendedWatcher,
    /// Whether folders are watched one by one (see [`arm`]), so new ones need a watch.
    folder_by_folder: bool,
    /// The claim on the sync root, held until the watcher stops (see [`claim_root`]).
    claim: std::fs::File,
    /// The worker's connection, made by [`arm`], which asks it which server the board is on.
    db: Db,
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
            log::warn!("{}: not watched: {}", folder.display(), plain(&source));
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

/// Starts collecting events under the sync root (created if missing), and connects the worker
/// to the database (a board that cannot be reached is an error). Events that arrive before
/// [`Armed::run`] are kept, so nothing saved in between is lost.
pub fn arm(config: &Config) -> Result<Armed> {
    fs_err::create_dir_all(&config.sync_root)?;
    let claim = claim_root(&config.sync_root)?;
    // The worker's own connection, made before the stamp is checked so that it is asked which
    // server the board is on: a connection only for that question cost a connect and its read
    // buffer. A board that cannot be reached ends the run here, as the worker's connect did.
    let db = Db::connect(&config.db, &config.prefix)?;
    own_dir::bind(&config.sync_root, config, &db, own_dir::Binding::CheckAndStamp)?;
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
            move |event: notify::Result<Event>| {
                // A read (an open) is no change (see `note`): dropped here, not queued, since
                // a start-up or pull that reads every file of a big board would queue an event
                // per file, about 10 MB on 30 sets, while the worker is busy reading (issue 32).
                if let Ok(read @ Event { kind: EventKind::Access(kind), .. }) = &event
                    && *kind != AccessKind::Close(AccessMode::Write)
                    && !read.need_rescan()
                {
                    return;
                }
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
            log::warn!(
                "cannot watch the sync root as one tree ({}); watching folder by folder",
                plain(&e)
            );
            watcher = new_watcher()?;
            watch_folders(&mut watcher, &root, true)?;
            true
        }
    };
    Ok(Armed { root, rx, tx, shared: Arc::default(), watcher, folder_by_folder, claim, db })
}

/// How long a stop request waits for a worker stuck in a database call (a frozen server
/// answers nothing until the connection's timeout) before the run ends without it.
const STOP_GRACE: Duration = Duration::from_millis(700);

impl Armed {
    /// Returns a handle that stops the watcher.
    pub fn stopper(&self) -> Stopper {
        Stopper { tx: self.tx.clone(), shared: Arc::clone(&self.shared) }
    }

    /// Runs the worker until stopped, on the connection [`arm`] made: applies each quiet batch
    /// of changed files while `gate` is open. The worker runs on a thread of its own, so that a
    /// stop request ends the run within [`STOP_GRACE`] even while the worker waits for a
    /// database that does not answer.
    pub fn run(
        self,
        config: &Config,
        options: &WatchOptions,
        gate: Arc<Gate>,
    ) -> Result<WatchStats> {
        let shared = Arc::clone(&self.shared);
        // Held until this returns: the root stays claimed while the worker may still write.
        let _claim = self.claim;
        *lock(&shared.gate) = Some(Arc::clone(&gate));
        let config = Config { sync_root: self.root.clone(), ..config.clone() };
        let (root, rx, options, db) = (self.root, self.rx, options.clone(), self.db);
        let (watcher, worker_shared) = ((self.watcher, self.folder_by_folder), Arc::clone(&shared));
        let worker = std::thread::Builder::new()
            .name("mybb-sync-watch".to_owned())
            .spawn(move || {
                let result = Worker::start(
                    root,
                    db,
                    config,
                    options,
                    gate,
                    Arc::clone(&worker_shared),
                    watcher,
                )
                .and_then(|worker| worker.run(&rx));
                worker_shared.finish();
                result
            })
            .map_err(|e| {
                Error::usage(format!("cannot start the watcher's thread: {}", plain(&e)))
            })?;
        let done = lock(&shared.done);
        let done = shared
            .changed
            .wait_while(done, |done| !*done && !shared.stopping())
            .unwrap_or_else(PoisonError::into_inner);
        let (done, _) = shared
            .changed
            .wait_timeout_while(done, STOP_GRACE, |done| !*done)
            .unwrap_or_else(PoisonError::into_inner);
        if !*done {
            log::warn!(
                "stopped without waiting for the database, which does not answer; unsaved \
                 changes stay on disk and are applied at the next start"
            );
            return Ok(WatchStats::default());
        }
        drop(done);
        match worker.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

struct Worker {
    root: PathBuf,
    db: Db,
    config: Config,
    options: WatchOptions,
    gate: Arc<Gate>,
    shared: Arc<Shared>,
    lock: SyncLock,
    pending: BTreeSet<PathBuf>,
    /// Walk the whole tree before the next batch (start-up, lost events).
    rescan: bool,
    last_event: Instant,
    /// While the database is unreachable: when to try again.
    retry_at: Option<Instant>,
    backoff: Duration,
    outage: bool,
    /// When to next ask the database whether anything changed.
    next_pull: Option<Instant>,
    /// The database's fingerprint when last pulled (taken before the pull read any row).
    fingerprint: Option<Vec<u64>>,
    stats: WatchStats,
    /// `.mybb-syncignore` could not be read: changes wait until it is fixed.
    bad_ignore_file: bool,
    /// Kept alive here: dropping it stops the events. New folders need a watch of their own
    /// when `folder_by_folder`.
    watcher: notify::RecommendedWatcher,
    folder_by_folder: bool,
    /// Refusals already reported by a pull, as (path, reason).
    reported: std::collections::HashSet<(PathBuf, String)>,
    /// Deletions on disk held for an explicit `import` (see [`WatchOptions::max_deletions`]),
    /// as last reported.
    held_deletions: BTreeSet<PathBuf>,
    /// Files found deleted by a batch, waiting until no file has vanished for
    /// [`Worker::deletion_quiet`], then judged together: an `rm -rf` or a branch switch is
    /// one group, whatever the batches its events fell into.
    deletions: BTreeSet<PathBuf>,
    /// When a file was last seen gone after an event.
    last_deletion: Instant,
    /// Rows another transaction holds up are being retried (said once, until all are written).
    held_up: bool,
    /// The pause before retrying such rows, doubled up to [`MAX_BUSY_BACKOFF`].
    busy_backoff: Duration,
    /// Conflicts a batch already warned about: a pull does not queue them again (the same
    /// warning would print twice), until a batch sees the path in another state.
    conflicted: std::collections::HashSet<PathBuf>,
    /// While the sync state is partial: what the last reconcile left unsettled, until the
    /// batches settle it (see `rebuilt.rs`); None while it is complete, or not yet compared.
    unsettled: Option<BTreeSet<PathBuf>>,
}

/// The longest wait between attempts while the database is unreachable.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// The longest pause between attempts at a row another transaction holds: each attempt waits
/// for the row in the server too (the session's lock wait), which sees the lock go at once.
const MAX_BUSY_BACKOFF: Duration = Duration::from_secs(1);
/// The most events taken from the queue before the worker looks at its timers again.
const DRAIN_MAX: usize = 100_000;

impl Worker {
    fn start(
        root: PathBuf,
        db: Db,
        config: Config,
        options: WatchOptions,
        gate: Arc<Gate>,
        shared: Arc<Shared>,
        (watcher, folder_by_folder): (notify::RecommendedWatcher, bool),
    ) -> Result<Worker> {
        Ok(Worker {
            lock: own_dir::lock(&root)?,
            root,
            db,
            config,
            gate,
            shared,
            pending: BTreeSet::new(),
            rescan: options.reconcile_at_start,
            last_event: Instant::now(),
            retry_at: None,
            backoff: Duration::ZERO,
            outage: false,
            next_pull: options.pull_interval.map(|every| Instant::now() + every),
            fingerprint: None,
            stats: WatchStats::default(),
            bad_ignore_file: false,
            watcher,
            folder_by_folder,
            reported: std::collections::HashSet::new(),
            held_deletions: BTreeSet::new(),
            deletions: BTreeSet::new(),
            last_deletion: Instant::now(),
            held_up: false,
            busy_backoff: Duration::ZERO,
            conflicted: std::collections::HashSet::new(),
            unsettled: None,
            options,
        })
    }

    fn run(mut self, rx: &Receiver<Message>) -> Result<WatchStats> {
        if self.rescan {
            self.process(false)?;
        }
        // `--export-first` shuts the gate quietly before the worker starts: the first word the
        // user reads is "watching", then what waits for what (issue 27).
        let paused = match self.gate.is_paused() {
            true => "; changes wait until the export ends",
            false => "",
        };
        log::info!(
            "watching {} (debounce {} ms){paused}",
            self.root.display(),
            self.options.debounce.as_millis()
        );
        while !self.shared.stopping() {
            let message = match self.due_at() {
                None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                Some(due) => rx.recv_timeout(due.saturating_duration_since(Instant::now())),
            };
            match message {
                Ok(Message::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                Ok(Message::Fs(event)) => self.note(event),
                Err(RecvTimeoutError::Timeout) => {}
            }
            // A backlog (thousands of events, --debounce 0) is taken as one batch, and a stop
            // request queued behind it is seen now, not after a batch per event.
            if !self.drain(rx) || self.shared.stopping() {
                break;
            }
            let now = Instant::now();
            let due = self.batch_at().is_some_and(|due| due <= now);
            let deletions_due = self.deletions_at().is_some_and(|at| at <= now);
            let pull_due = self.pull_at().is_some_and(|at| at <= now);
            if (due || deletions_due || pull_due) && self.gate.is_paused() {
                // Sleep on the gate until it opens (or a stop); events queue meanwhile.
                if !self.gate.wait_while_paused(|| self.shared.stopping()) {
                    break;
                }
                continue;
            }
            if due {
                self.process(false)?;
            }
            if deletions_due && !self.shared.stopping() {
                self.pending.extend(std::mem::take(&mut self.deletions));
                self.process(true)?;
            }
            if self.pull_at().is_some_and(|at| at <= Instant::now()) && !self.shared.stopping() {
                self.pull()?;
            }
            if self.options.exit_after.is_some_and(|n| self.stats.written >= n) {
                break;
            }
        }
        log::info!("stopped watching {}", self.root.display());
        Ok(self.stats)
    }

    /// Notes every message already queued, up to [`DRAIN_MAX`]; returns false on a stop.
    fn drain(&mut self, rx: &Receiver<Message>) -> bool {
        for _ in 0..DRAIN_MAX {
            match rx.try_recv() {
                Ok(Message::Fs(event)) => self.note(event),
                Ok(Message::Stop) => return false,
                Err(_) => break,
            }
        }
        true
    }

    /// Returns when the next batch or pull is due, or None when there is nothing to do, in
    /// which case the worker sleeps until an event arrives.
    fn due_at(&self) -> Option<Instant> {
        [self.batch_at(), self.pull_at(), self.deletions_at()].into_iter().flatten().min()
    }

    /// Returns when the pending batch is due: after a quiet debounce window, and during an
    /// outage not before the next retry.
    fn batch_at(&self) -> Option<Instant> {
        (!self.pending.is_empty() || self.rescan).then(|| {
            let quiet = self.last_event + self.options.debounce;
            self.retry_at.map_or(quiet, |retry| retry.max(quiet))
        })
    }

    /// Returns when the next pull is due (during an outage, not before the next retry).
    fn pull_at(&self) -> Option<Instant> {
        let pull = self.next_pull?;
        Some(self.retry_at.map_or(pull, |retry| retry.max(pull)))
    }

    /// Queues files a pull found edited, for the next batch after a quiet debounce window.
    fn defer(&mut self, paths: Vec<PathBuf>) {
        if !paths.is_empty() {
            log::debug!("{} file(s) edited since the last sync wait for their batch", paths.len());
            self.pending.extend(paths);
            self.last_event = Instant::now();
        }
    }

    /// Notes that the database answered, ending an outage.
    fn reachable(&mut self) {
        if self.outage {
            log::info!("the database is reachable again; pending changes applied");
        }
        self.bad_ignore_file = false;
        self.outage = false;
        self.retry_at = None;
        self.backoff = Duration::ZERO;
    }

    /// Handles an error of a batch or pull: a database outage (refused, dead or frozen: a
    /// timeout) keeps `batch` pending and schedules a retry with capped backoff, logged once
    /// per outage; anything else ends the watcher.
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
        // A SQLite file that stayed busy, or failed a statement, is that engine's outage.
        if !matches!(
            error,
            Error::Connect { .. }
                | Error::Query { .. }
                | Error::PgConnect { .. }
                | Error::PgQuery { .. }
                | Error::Sqlite { .. }
                | Error::SqliteBusy { .. }
        ) {
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
                log::warn!(
                    "file events may have been lost ({}); will rescan the sync root",
                    plain(&e)
                );
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
            if std::fs::symlink_metadata(&path).is_err() {
                self.last_deletion = Instant::now();
            }
            self.pending.insert(path);
            self.last_event = Instant::now();
        }
    }

    /// Applies the pending batch under the sync root's shared lock. A database outage keeps
    /// the batch pending and schedules a retry; other errors end the watcher.
    /// With `deletions`, the batch is the deletions found earlier, now quiet: they are judged
    /// together and applied unless they are a mass deletion. Without, deletions the batch
    /// finds wait in [`Worker::deletions`].
    fn process(&mut self, deletions: bool) -> Result<()> {
        let _shared = self.lock.shared()?;
        // A batch of deletions is judged alone; a pending walk waits for the next batch.
        let rescanning = self.rescan && !deletions;
        // A reconcile walks the tree one set's or theme's folder at a time, each planned and
        // applied before the next is walked: the paths of every file are never held (issue 32).
        let mut folders = Vec::new();
        if rescanning {
            self.rescan = false;
            folders = plan::owner_folders(&self.root)?;
            // A walk cannot find a file deleted while no watcher ran (or whose event was
            // lost); the state can. Without it, `--no-pull` never saw such a deletion, and a
            // pull saw it only when the database changed. They are judged as any deletion:
            // after the quiet window, held when they are a mass deletion.
            let gone = Syncer::new(&self.db, &self.config, None)
                .and_then(|syncer| syncer.deleted_files(&State::load(&self.root)?));
            match gone {
                Ok(gone) => self.pending.extend(gone),
                Err(e) => {
                    self.rescan = true;
                    return self.outage_or(e, Vec::new());
                }
            }
            log::debug!("reconciling {} folder(s) with the database", folders.len());
        }
        let batch: Vec<PathBuf> = std::mem::take(&mut self.pending).into_iter().collect();
        if batch.is_empty() && folders.is_empty() {
            return Ok(());
        }
        // A reconcile walks every file, and a batch of deletions holds no file: neither is a
        // save to tell the hook about.
        if !rescanning
            && !deletions
            && let Some(hook) = &self.options.on_saved
        {
            (hook.0)(&batch);
        }
        let max_deletions = self.options.max_deletions;
        let mut held = None;
        let mut waiting = Vec::new();
        // A batch of deletions is judged whole; any other (a reconcile's walk of every file)
        // goes in parts, each planned and applied before the next is read (issue 32).
        let part = if deletions { batch.len() } else { crate::sync::plan::PART_ITEMS };
        let result = Syncer::new(&self.db, &self.config, None).and_then(|syncer| {
            let mut state = State::load(&self.root)?;
            let mut report = crate::sync::apply::Report::default();
            let mut walked: Vec<PathBuf>;
            let mut folders = folders.iter();
            let mut parts = batch.chunks(part.max(1));
            loop {
                let paths = match parts.next() {
                    Some(paths) => paths,
                    None => {
                        let Some(folder) = folders.next() else { break };
                        walked = crate::disk::walk::walk_files(folder)?;
                        parts = walked.chunks(part.max(1));
                        continue;
                    }
                };
                let mut plan = syncer.plan_paths(paths, &state)?;
                if deletions {
                    held = hold_mass_deletion(&mut plan, max_deletions, &self.root);
                } else {
                    plan.retain(|p| match p.action {
                        Action::Delete(_) => {
                            waiting.push(p.path.clone());
                            false
                        }
                        _ => true,
                    });
                }
                let options = ApplyOptions { retry_busy_later: true, ..ApplyOptions::default() };
                report.absorb(syncer.apply(plan, Flow::BOTH, &mut state, &options)?);
            }
            // A reconcile compared every file of the root: one that settled them all completes
            // a rebuilt (partial) state, as a full `import` does.
            let mut replaced = false;
            if rescanning && !state.trusted && report.settled_everything() && waiting.is_empty() {
                crate::test_hooks::hold(crate::test_hooks::HOLD_BEFORE_COMPLETION);
                // Only a state that holds the records of every file settled: one replaced
                // meanwhile (a lost or unreadable file, set aside by a save) lacks them, and
                // completed, would take a file whose row was deleted for a new one.
                let settled = report.unchanged.len() + report.pulled.len();
                if State::load(&self.root)?.keys().count() < settled {
                    replaced = true;
                } else {
                    state.complete();
                    state.save(self.config.durable)?;
                    // A new root's empty state was never rebuilt: nothing to tell.
                    if !(report.unchanged.is_empty()
                        && report.written.is_empty()
                        && report.pulled.is_empty())
                    {
                        log::info!("the sync state is complete again");
                    }
                }
            }
            Ok((report, state.trusted, replaced))
        });
        let still_waiting = waiting.clone();
        if !waiting.is_empty() {
            log::debug!("{} deleted file(s) wait for deletions to stop", waiting.len());
            self.deletions.extend(waiting);
        }
        let (report, trusted, replaced) = match result {
            Ok(done) => done,
            Err(e) => {
                self.rescan |= rescanning;
                // Rows may have been written and not all their dependants (every set's file of
                // a global template) brought to disk; the batch again finds those rows in sync,
                // so nothing would tell a narrowed pull (see `pull.rs`): the next compares all.
                self.fingerprint = None;
                return self.outage_or(e, batch);
            }
        };
        if !report.written.is_empty() {
            crate::test_hooks::hold(crate::test_hooks::HOLD_AFTER_BATCH);
        }
        self.publish(&report.live);
        self.reachable();
        // A path of this batch not held now (saved again, or deleted alone) is held no more.
        let held_now: BTreeSet<&PathBuf> =
            held.iter().flat_map(|(paths, _)| paths.iter()).collect();
        for path in &batch {
            if !held_now.contains(path) {
                self.held_deletions.remove(path);
            }
        }
        if rescanning {
            // The walk saw every file: a held deletion whose file is back is held no more.
            self.held_deletions.retain(|path| std::fs::symlink_metadata(path).is_err());
        }
        if replaced {
            log::warn!(
                "the sync state was replaced while every file was compared (by another program, \
                 or lost): it lacks records of files just settled, so it stays partial; \
                 comparing every file again"
            );
            self.unsettled = None;
            self.rescan = true;
        } else {
            let open = held_now.iter().copied().chain(&still_waiting);
            self.note_rebuilt(rescanning, trusted, &batch, &report, open);
        }
        self.report_held_deletions(held);
        for (path, copy) in &report.removed {
            log::debug!("{} kept as {}", self.config.shown(path), self.config.shown(copy));
        }
        self.stats.batches += 1;
        self.stats.written += report.written.len();
        // The fingerprint stays the last pull's, never moved past this batch's writes: an
        // Admin CP edit made while they were written moved it too, and no fingerprint tells
        // the two apart. So the next pull compares the sets and themes the batch wrote to as
        // well, where the three-way compare finds the batch's own rows in sync (recorded in
        // the state) and brings anybody else's edit to disk.
        self.stats.pulled += report.pulled.len();
        self.stats.refused += report.refused.len();
        self.reported.extend(report.refused.iter().cloned());
        for path in &batch {
            self.conflicted.remove(path);
        }
        if rescanning {
            // The walk planned every file: its conflicts are all of them.
            self.conflicted.clear();
        }
        self.conflicted.extend(report.conflicts.iter().map(|(path, _)| path.clone()));
        // Gone from both sides (a removal of our own seen as an event, or an item deleted on
        // both): nothing changed, so nothing to tell at info. A file deleted on disk whose row
        // remains is a deletion, reported where it is applied or held.
        for path in &report.missing {
            log::debug!("{}: no file and no row; nothing to do", self.config.shown(path));
        }
        if !report.unstable.is_empty() {
            // Still being written: wait for the writer to go quiet, then read again.
            self.pending.extend(report.unstable);
            self.last_event = Instant::now();
        }
        self.retry_busy(report.busy);
        Ok(())
    }

    /// Keeps the files whose row another transaction held up pending, to be tried again after
    /// a growing pause for as long as the row stays held; says so once (issue 26). With none
    /// left, says that the rows went through.
    fn retry_busy(&mut self, busy: Vec<(PathBuf, String)>) {
        let Some((first, why)) = busy.first() else {
            if self.held_up {
                log::info!("the rows held by another transaction are free again; saves applied");
                self.held_up = false;
                self.busy_backoff = Duration::ZERO;
            }
            return;
        };
        if !self.held_up {
            let others = match busy.len() {
                1 => String::new(),
                n => format!(" (and {} other file(s))", n - 1),
            };
            log::warn!(
                "{}{others}: not written yet: {why}; trying again until it is free",
                self.config.shown(first)
            );
            self.held_up = true;
        }
        self.busy_backoff =
            (self.busy_backoff * 2).clamp(Duration::from_millis(100), MAX_BUSY_BACKOFF);
        self.retry_at = Some(Instant::now() + self.busy_backoff);
        self.pending.extend(busy.into_iter().map(|(path, _)| path));
    }
}
