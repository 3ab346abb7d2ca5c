//! What a board is asked, whatever engine holds it: the rows mybb-sync reads and the facade,
//! [`Db`], through which the rest of the code reads MyBB's tables and makes its few writes.
//!
//! This part is engine-neutral: it names no SQL. The statements are the engine's (MySQL and
//! MariaDB in [`mysql`], PostgreSQL in [`postgres`], SQLite in [`sqlite`]), and [`Db`] only
//! hands each question to the engine the board is on. A new question is a method here, one
//! line through `on_engine!`, and a method of the same name in each engine's module. What holds for every engine is written here:
//!
//! - MyBB's tables are usually MyISAM: there are no transactions to lean on, so every write is
//!   one statement that is safe on its own, and the template and stylesheet writes are
//!   compare-and-swap in that one statement (an `UPDATE` only where the row still holds what
//!   was read; an `INSERT` that finds an older row of the same item removes itself again).
//! - The write functions are `pub(crate)` and called only from `sync/apply/`, the one door
//!   through which file content reaches the database, from `cache.rs`, which keeps MyBB's
//!   stylesheet lists and `default_theme` cache in step with it, and from the theme import.
//! - Nothing read is trusted: a value that does not convert is an error naming table, row and
//!   column, never a panic.

mod batch;
mod decode;
mod mysql;
pub mod postgres;
mod rows;
mod sql;
mod sqlite;

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::config::{DbTarget, EngineKind};
use crate::error::{Error, Result};

/// How long connecting, and each read or write on a connection, may take before the server
/// counts as unreachable. Generous for MyBB's small rows; short enough that a frozen server is
/// noticed (and logged) within seconds.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// A row of `templates`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateRow {
    pub tid: u32,
    pub sid: i32,
    pub title: String,
    pub template: Vec<u8>,
    pub dateline: u64,
}

/// A row of `themes`. `properties` and `stylesheets` are PHP-serialized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThemeRow {
    pub tid: u32,
    pub name: String,
    pub pid: u32,
    pub def: bool,
    pub properties: String,
    pub stylesheets: String,
}

/// The columns of a `themes` row that the Admin CP's Edit Theme form writes (issue 28).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThemeForm {
    pub name: String,
    pub pid: u32,
    pub allowedgroups: String,
    /// PHP-serialized.
    pub properties: String,
}

/// A row of `themestylesheets`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StylesheetRow {
    pub sid: u32,
    pub name: String,
    pub tid: u32,
    pub attachedto: String,
    pub stylesheet: Vec<u8>,
    pub cachefile: String,
    pub lastmodified: u64,
}

/// A stylesheet row too big for the connection to read (see [`Db::stylesheets_within_packet`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Oversize {
    /// The row's sid.
    pub sid: u32,
    /// The stylesheet's size, in bytes.
    pub bytes: u64,
    /// The connection's `max_allowed_packet`, in bytes.
    pub limit: u64,
}

impl Oversize {
    /// Returns why the stylesheet `name` of theme `tid` is not read, and what to change.
    pub fn describe(&self, name: &str, tid: u32) -> String {
        format!(
            "the stylesheet {name:?} (sid {}, theme tid {tid}) is {} bytes, too big to read \
             with its row in one packet of at most {} bytes: raise max_allowed_packet in the \
             database server's configuration (e.g. max_allowed_packet = 64M under [mysqld]) to \
             sync it",
            self.sid, self.bytes, self.limit
        )
    }
}

/// A `templates` row as the Admin CP's theme export reads it: raw bytes, written out as they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportTemplate {
    pub title: Vec<u8>,
    pub template: Vec<u8>,
    pub version: Vec<u8>,
}

/// A `templates` row with its `version`, for the upgrade commands (`outdated`, `merge`,
/// `revert`), which compare custom copies with the master they came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionedTemplate {
    pub tid: u32,
    pub sid: i32,
    pub title: String,
    /// MyBB's version code when the row was written (varchar: plugins write `1`, `0`, ...).
    pub version: String,
    pub template: Vec<u8>,
    pub dateline: u64,
}

/// A key-value table of MyBB's, read one row at a time by its key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lookup {
    /// The table, unprefixed.
    pub(crate) table: &'static str,
    /// The column a row is found by, and the column read.
    pub(crate) key_column: &'static str,
    pub(crate) value_column: &'static str,
    /// How a row is named in errors: "datacache row", "setting".
    pub(crate) shown: &'static str,
}

impl Lookup {
    /// `datacache`: MyBB's cache of serialized values, by `title`.
    pub(crate) const DATACACHE: Lookup = Lookup {
        table: "datacache",
        key_column: "title",
        value_column: "cache",
        shown: "datacache row",
    };

    /// `settings`: the board's settings, by `name` (MyBB copies them into
    /// `inc/settings.php`).
    pub(crate) const SETTING: Lookup =
        Lookup { table: "settings", key_column: "name", value_column: "value", shown: "setting" };
}

/// Returns the configuration error (exit 2) of a board with no `templates` table under the
/// table prefix `prefix`: `board` names the database for the message, `wanted` is the table
/// looked for, and `prefixes` are those of the tables whose names end in `templates`.
fn no_tables_under_prefix<'a>(
    board: &str,
    prefix: &str,
    wanted: &str,
    prefixes: impl Iterator<Item = &'a str>,
) -> Error {
    let prefixes: Vec<String> = prefixes.map(|p| format!("{p:?}")).collect();
    let known = if prefixes.is_empty() {
        "no prefix has one: is this MyBB's database?".to_owned()
    } else {
        format!("prefixes with a templates table: {}", prefixes.join(", "))
    };
    Error::usage(format!(
        "{board} has no MyBB tables with the table prefix {prefix:?} (no table {wanted}); \
         {known}; set the prefix with --prefix, MYBB_TABLE_PREFIX or inc/config.php's \
         table_prefix"
    ))
}

/// Returns the current Unix time in seconds, as MyBB's `TIME_NOW`, by the clock the kernel
/// stamps files with (Linux's coarse realtime clock, up to a tick behind the precise one).
///
/// A stylesheet's `lastmodified` must not be later than the mtime of the cache file written
/// right after its row, or MyBB's stylesheet list points the page at `css.php` instead of the
/// file. By the precise clock it was, in about one save in 300 that fell in the first
/// milliseconds of a second (MyBB's own `TIME_NOW`, taken when its request starts, is early
/// enough not to).
pub fn now() -> u64 {
    #[cfg(target_os = "linux")]
    {
        use nix::time::{ClockId, clock_gettime};
        // The coarse clock cannot fail on Linux; were it refused, the precise clock follows.
        if let Ok(coarse) = clock_gettime(ClockId::CLOCK_REALTIME_COARSE) {
            return u64::try_from(coarse.tv_sec()).unwrap_or(0);
        }
    }
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// How MyBB's driver for a board's engine hands a row's values to PHP. It shows wherever MyBB
/// serializes what it read: the `inherited` map of a theme's stylesheet list and the
/// `default_theme` datacache row (checked against each engine's Admin CP, docs/engines.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhpRows {
    /// Every value a string, keyed by its column's name: mysqli, and pgsql's `pg_fetch_array()`
    /// (PGSQL_ASSOC).
    Strings,
    /// MyBB's SQLite driver (PDO) under PHP 8.1 or later: a value stored as an integer comes as
    /// a PHP int, and its `fetch_array()` keys each value by name and by position
    /// (`PDO::FETCH_BOTH`). PHP 8.0 and older hand strings; MyBB reads either alike.
    PdoSqlite,
}

/// A connection to a MyBB database: one connection, made again when a ping after a pause or an
/// error on it says that it is gone. Every question is handed to the engine the board is on.
pub struct Db {
    engine: Engine,
}

/// The engine a board is on, each with its own connection and its own SQL. An enum rather than
/// a trait object: the set of engines is closed, and each question is one `match` away.
enum Engine {
    MySql(mysql::MySql),
    Postgres(postgres::Postgres),
    Sqlite(sqlite::Sqlite),
}

/// Hands a question to the engine of `$db`: `on_engine!(self, e => e.themes())`.
macro_rules! on_engine {
    ($db:expr, $e:ident => $call:expr) => {
        match &$db.engine {
            Engine::MySql($e) => $call,
            Engine::Postgres($e) => $call,
            Engine::Sqlite($e) => $call,
        }
    };
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Db({})", on_engine!(self, e => e.target()))
    }
}

/// Connecting and reading the board.
impl Db {
    /// Connects to `target`; `prefix` is the validated table prefix. Honours the address the user
    /// gave: TCP stays TCP unless a socket was asked for. A database without MyBB's tables under
    /// the prefix is a configuration error (exit 2) naming the prefixes that have them.
    pub fn connect(target: &DbTarget, prefix: &str) -> Result<Db> {
        let engine = match target.engine {
            EngineKind::MySql => Engine::MySql(mysql::MySql::connect(target, prefix)?),
            EngineKind::Postgres => Engine::Postgres(postgres::Postgres::connect(target, prefix)?),
            EngineKind::Sqlite => Engine::Sqlite(sqlite::Sqlite::open(target, prefix)?),
        };
        Ok(Db { engine })
    }

    /// Returns the template sets as `(sid, title)`, by sid.
    pub fn template_sets(&self) -> Result<Vec<(i32, String)>> {
        on_engine!(self, e => e.template_sets())
    }

    /// Returns the template groups as `(prefix, title)`, by gid.
    pub fn template_groups(&self) -> Result<Vec<(String, String)>> {
        on_engine!(self, e => e.template_groups())
    }

    /// Returns the templates of the sets `sids` (optionally only those titled one of `titles`),
    /// ordered by tid, so that among duplicates of one (sid, title) the last one wins, as in MyBB.
    pub fn templates(&self, sids: &[i32], titles: Option<&[String]>) -> Result<Vec<TemplateRow>> {
        // Nothing to ask for: no statement (an empty `IN ()` is not SQL).
        if sids.is_empty() || titles.is_some_and(|t| t.is_empty()) {
            return Ok(Vec::new());
        }
        on_engine!(self, e => e.templates(sids, titles))
    }

    /// Returns every theme, by tid.
    pub fn themes(&self) -> Result<Vec<ThemeRow>> {
        on_engine!(self, e => e.themes())
    }

    /// Returns how MyBB's driver for this board's engine hands rows to PHP.
    pub fn php_rows(&self) -> PhpRows {
        match self.engine {
            Engine::Sqlite(_) => PhpRows::PdoSqlite,
            Engine::MySql(_) | Engine::Postgres(_) => PhpRows::Strings,
        }
    }

    /// Returns every stylesheet row, by sid; an error naming the first row too big for the
    /// connection to read (see [`Db::stylesheets_within_packet`]).
    pub fn stylesheets(&self) -> Result<Vec<StylesheetRow>> {
        let (rows, oversize) = self.stylesheets_within_packet()?;
        match oversize.first().and_then(|big| rows.iter().find(|r| r.sid == big.sid)) {
            Some(row) => Err(Error::Data { what: oversize[0].describe(&row.name, row.tid) }),
            None => Ok(rows),
        }
    }

    /// Returns every stylesheet row, by sid, and the rows too big for the connection to read:
    /// a stylesheet is a LONGTEXT, which a server whose `max_allowed_packet` was raised (or
    /// lowered since) can hold beyond what one packet of ours takes with the row's other
    /// columns. Such a row comes back with an empty `stylesheet`, listed apart, where reading
    /// it failed every command with "Packet is larger than max_allowed_packet" (issue 26).
    pub fn stylesheets_within_packet(&self) -> Result<(Vec<StylesheetRow>, Vec<Oversize>)> {
        on_engine!(self, e => e.stylesheets_within_packet())
    }

    /// Returns a `datacache` row's serialized value, if the row exists.
    pub fn datacache(&self, title: &str) -> Result<Option<String>> {
        on_engine!(self, e => e.lookup(Lookup::DATACACHE, title))
    }

    /// Returns the value of MyBB setting `name` (a `settings` row, which MyBB copies into
    /// `inc/settings.php`), if the row exists.
    pub fn setting(&self, name: &str) -> Result<Option<String>> {
        on_engine!(self, e => e.lookup(Lookup::SETTING, name))
    }

    /// Returns the names of every MyBB setting (the `settings` table), for `check`'s
    /// `unknown-setting` rule: one read per run.
    pub fn setting_names(&self) -> Result<Vec<String>> {
        on_engine!(self, e => e.keys(Lookup::SETTING))
    }

    /// Returns the board's version code (1837 for MyBB 1.8.37), which the Admin CP writes into
    /// every template it saves, read from the `version` datacache row.
    pub fn version_code(&self) -> Result<String> {
        let prefix = on_engine!(self, e => e.prefix());
        let missing = || Error::Data {
            what: format!(
                "{prefix}datacache has no readable `version` row: is this a MyBB 1.8 database?"
            ),
        };
        let cache = self.datacache("version")?.ok_or_else(missing)?;
        let value = crate::php::serialize::parse(&cache)
            .map_err(|e| Error::Data { what: format!("{prefix}datacache row `version`: {e}") })?;
        value
            .get("version_code")
            .and_then(|v| v.as_int())
            .map(|code| code.to_string())
            .ok_or_else(missing)
    }

    /// Returns, for each `(table, column)` of `columns` (a MyBB table, unprefixed), whether it
    /// can store characters outside the Basic Multilingual Plane (emoji) through this
    /// connection: false where the engine would silently turn them into `?` (MySQL's 3-byte
    /// `utf8`, in the column or as the connection's character set).
    pub fn store_four_byte_utf8(&self, columns: &[(&str, &str)]) -> Result<Vec<bool>> {
        on_engine!(self, e => e.store_four_byte_utf8(columns))
    }

    /// Returns a cheap fingerprint of the templates and stylesheets that changes with any
    /// insert, delete or edit, content included (so a Search & Replace that leaves `dateline`
    /// alone is seen too), with the sets themselves (a set deleted and made again under its
    /// title has a new sid, which the fingerprint sees), the number of themes, and any theme's
    /// Edit Theme fields (name, parent, groups, properties: its `theme.json`, issue 28), by tid.
    pub fn fingerprint(&self) -> Result<Vec<u64>> {
        on_engine!(self, e => e.fingerprint())
    }
}

/// Which server this is, however it is reached (issue 25): one board is one database on one
/// server, whether through the Unix socket or TCP.
impl Db {
    /// Returns a name of the database server that is the same through every address it
    /// answers on (see the engine's `server_identity` for how each engine names itself).
    pub fn server_identity(&self) -> Result<String> {
        on_engine!(self, e => e.server_identity())
    }
}

/// The compare-and-swap writes of templates and stylesheets, and the caches kept in step.
impl Db {
    /// Inserts a template row, as the Admin CP does for a copy-on-write or a new title, unless
    /// set `sid` has a row titled `title` by then. Returns the new tid, or None if such a row
    /// appeared (another writer got there first; ours was removed again).
    pub(crate) fn insert_template(
        &self,
        sid: i32,
        title: &str,
        content: &str,
        version: &str,
    ) -> Result<Option<u64>> {
        on_engine!(self, e => e.insert_template(sid, title, content, version))
    }

    /// Updates the content of template row `tid`, with the version, status and dateline the
    /// Admin CP writes, if the row still holds `seen` byte for byte (compare-and-swap). Returns
    /// false if it does not (or is gone): someone else wrote it since it was read.
    pub(crate) fn update_template(
        &self,
        tid: u32,
        title: &str,
        content: &str,
        version: &str,
        seen: &[u8],
    ) -> Result<bool> {
        on_engine!(self, e => e.update_template(tid, title, content, version, seen))
    }

    /// Updates template rows as [`Db::update_template`] does, many per statement: each row
    /// `(tid, content, seen)` gets `content` if it still holds `seen` byte for byte. Returns,
    /// for each row written here, whether it was written (false: someone else wrote it since it
    /// was read, or it is gone). Rows too large to share a statement of `budget` bytes (see
    /// [`Db::statement_budget`]) are left out, for [`Db::update_template`].
    pub(crate) fn update_templates(
        &self,
        rows: &[(u32, &str, &[u8])],
        version: &str,
        budget: usize,
    ) -> Result<HashMap<u32, bool>> {
        on_engine!(self, e => e.update_templates(rows, version, budget))
    }

    /// Inserts template rows as [`Db::insert_template`] does, many per statement: one row
    /// `(sid, title, content)` each for copy-on-writes and new titles. Returns, for each
    /// `(sid, title)` written here, whether our row is the one that stays (false: another row
    /// of that item appeared meanwhile and ours was removed again). Rows too large to share a
    /// statement of `budget` bytes are left out, for [`Db::insert_template`].
    pub(crate) fn insert_templates_unless_taken(
        &self,
        rows: &[(i32, &str, &str)],
        version: &str,
        budget: usize,
    ) -> Result<HashMap<(i32, String), bool>> {
        on_engine!(self, e => e.insert_templates_unless_taken(rows, version, budget))
    }

    /// Returns the bytes one statement's values may take (`budget` of [`Db::update_templates`]
    /// and [`Db::insert_templates_unless_taken`]), asked anew by each caller's round, not kept:
    /// an admin may lower the server's limit while a watcher runs.
    pub(crate) fn statement_budget(&self) -> Result<usize> {
        on_engine!(self, e => e.statement_budget())
    }

    /// Inserts a stylesheet row into theme `tid` as it is, for a theme just created (by
    /// `theme import`, as MyBB's `import_theme_xml()` does, duplicates of a name included).
    /// Returns the new sid.
    pub(crate) fn insert_new_stylesheet(
        &self,
        tid: u32,
        name: &str,
        attachedto: &str,
        content: &str,
        lastmodified: u64,
    ) -> Result<u64> {
        on_engine!(self, e => e.insert_new_stylesheet(tid, name, attachedto, content, lastmodified))
    }

    /// Inserts a stylesheet row into theme `tid`, unless the theme has one named `name` by
    /// then. Returns the new sid, or None if such a row appeared (ours was removed again).
    pub(crate) fn insert_stylesheet(
        &self,
        tid: u32,
        name: &str,
        attachedto: &str,
        content: &str,
        lastmodified: u64,
    ) -> Result<Option<u64>> {
        on_engine!(self, e => e.insert_stylesheet(tid, name, attachedto, content, lastmodified))
    }

    /// Updates stylesheet row `sid`: its content, `cachefile` = its name, and `lastmodified`,
    /// if the row still holds `seen` byte for byte. Returns false if it does not (or is gone).
    pub(crate) fn update_stylesheet(
        &self,
        sid: u32,
        name: &str,
        content: &str,
        lastmodified: u64,
        seen: &[u8],
    ) -> Result<bool> {
        on_engine!(self, e => e.update_stylesheet(sid, name, content, lastmodified, seen))
    }

    /// Sets stylesheet row `sid`'s `cachefile`, as the Admin CP does (to
    /// `css.php?stylesheet={sid}`) when it could not write the row's cache file.
    pub(crate) fn set_stylesheet_cachefile(&self, sid: u32, cachefile: &str) -> Result<()> {
        on_engine!(self, e => e.set_stylesheet_cachefile(sid, cachefile))
    }

    /// Writes theme `tid`'s rebuilt stylesheet list and, when given, its `properties` (whose
    /// `disporder` the rebuild keeps in step), both PHP-serialized, in one statement: a reader
    /// sees both old or both new columns, with or without transactions.
    pub(crate) fn update_theme_lists(
        &self,
        tid: u32,
        properties: Option<&str>,
        stylesheets: &str,
    ) -> Result<()> {
        on_engine!(self, e => e.update_theme_lists(tid, properties, stylesheets))
    }

    /// Stores `value` (PHP-serialized) as datacache row `title`, creating the row if need be:
    /// MyBB's `$cache->update()`, which is one statement.
    pub(crate) fn update_datacache(&self, title: &str, value: &str) -> Result<()> {
        on_engine!(self, e => e.update_datacache(title, value))
    }
}

/// Deletions carried from disk to the database (issue 25): what the Admin CP's delete does to
/// the row.
impl Db {
    /// Deletes theme `tid`'s stylesheet row `sid`, as the Admin CP's `delete_stylesheet` does,
    /// only if it still belongs to that theme and holds `seen` byte for byte (an Admin CP edit
    /// since it was read is not thrown away unseen). Never a master theme's row (tid 1).
    /// Returns true if and only if a row went.
    pub(crate) fn delete_stylesheet(&self, tid: u32, sid: u32, seen: &[u8]) -> Result<bool> {
        on_engine!(self, e => e.delete_stylesheet(tid, sid, seen))
    }
}

/// Theme packages (issue 13): the reads of the Admin CP's theme export
/// (admin/modules/style/themes.php, action `export`) and the writes of `import_theme_xml()`
/// (admin/inc/functions_themes.php).
impl Db {
    /// Returns the stylesheet rows of the themes `tids` as the export reads them: every
    /// column, by tid descending, ties in the server's order (the export keeps the first row of
    /// each `cachefile`, so that order decides).
    pub fn stylesheets_for_export(&self, tids: &[u32]) -> Result<Vec<StylesheetRow>> {
        if tids.is_empty() {
            return Ok(Vec::new());
        }
        on_engine!(self, e => e.stylesheets_for_export(tids))
    }

    /// Returns the templates of set `sid` as the export reads them: unordered, so in the order
    /// the server hands them to MyBB too.
    pub fn templates_for_export(&self, sid: i64) -> Result<Vec<ExportTemplate>> {
        on_engine!(self, e => e.templates_for_export(sid))
    }

    /// Returns the tid of a theme called `name` (compared as the database compares, so in the
    /// column's collation: usually case-insensitive), as `import_theme_xml()`'s name check
    /// finds it.
    pub fn theme_tid_by_name(&self, name: &str) -> Result<Option<u32>> {
        on_engine!(self, e => e.theme_tid_by_name(name))
    }

    /// Inserts a template set titled `title`. Returns its sid.
    pub(crate) fn insert_template_set(&self, title: &str) -> Result<u64> {
        on_engine!(self, e => e.insert_template_set(title))
    }

    /// Inserts the templates `(title, template, version)` into set `sid`, in order, with
    /// `status` '' and `dateline` now: the rows `import_theme_xml()` inserts. On an error, the
    /// rows before it stay (there are no transactions to undo them).
    pub(crate) fn insert_templates(
        &self,
        sid: i32,
        templates: &[(&str, &str, &str)],
    ) -> Result<()> {
        on_engine!(self, e => e.insert_templates(sid, templates))
    }

    /// Inserts a theme row as `build_new_theme()` does: `def` 0, `allowedgroups` `all`, empty
    /// `properties` and `stylesheets` (filled in next). Returns its tid.
    pub(crate) fn insert_theme(&self, name: &str, pid: u32) -> Result<u64> {
        on_engine!(self, e => e.insert_theme(name, pid))
    }

    /// Writes theme `tid`'s `properties` alone, as `build_new_theme()` does when the parent has
    /// no stylesheet list to inherit.
    pub(crate) fn update_theme_properties(&self, tid: u32, properties: &str) -> Result<()> {
        on_engine!(self, e => e.update_theme_properties(tid, properties))
    }
}

/// Development themes (issue 29): Edit Theme's allowed groups, and the Admin CP's Delete Theme
/// and Delete Template Set, for `dev` and `publish --drop`.
impl Db {
    /// Writes theme `tid`'s `allowedgroups` (`all`, or gids joined by commas), as Edit Theme's
    /// "Allowed User Groups" does. Never the master theme.
    pub(crate) fn set_theme_allowedgroups(&self, tid: u32, groups: &str) -> Result<()> {
        on_engine!(self, e => e.set_theme_allowedgroups(tid, groups))
    }

    /// Deletes every stylesheet row of theme `tid`, as Delete Theme does (never tid 1).
    pub(crate) fn delete_theme_stylesheets(&self, tid: u32) -> Result<()> {
        on_engine!(self, e => e.delete_theme_stylesheets(tid))
    }

    /// Resets the members whose saved style is theme `tid` to the default (0), as Delete
    /// Theme does; nothing where the prefix has no `users` table.
    pub(crate) fn reset_users_style(&self, tid: u32) -> Result<()> {
        on_engine!(self, e => e.reset_users_style(tid))
    }

    /// Gives the children of theme `tid` the parent `pid`, as Delete Theme does.
    pub(crate) fn reparent_children(&self, tid: u32, pid: u32) -> Result<()> {
        on_engine!(self, e => e.reparent_children(tid, pid))
    }

    /// Deletes the row of theme `tid` (never tid 1), as Delete Theme's last statement.
    pub(crate) fn delete_theme(&self, tid: u32) -> Result<()> {
        on_engine!(self, e => e.delete_theme(tid))
    }

    /// Deletes template set `sid` (never master or global) with its templates, as Delete
    /// Template Set does.
    pub(crate) fn delete_template_set(&self, sid: i32) -> Result<()> {
        on_engine!(self, e => e.delete_template_set(sid))
    }
}

/// The theme file (issue 28): the rows of the Admin CP's Edit Theme, stylesheet properties and
/// Save Stylesheet Orders forms (admin/modules/style/themes.php).
impl Db {
    /// Returns every theme's Edit Theme fields as `(tid, fields)`, by tid.
    pub fn theme_forms(&self) -> Result<Vec<(u32, ThemeForm)>> {
        on_engine!(self, e => e.theme_forms())
    }

    /// Writes theme `tid`'s Edit Theme fields `new` (Save Stylesheet Orders writes only the
    /// `properties` among them), if the row still holds `seen` byte for byte. Returns false if
    /// it does not, or is gone.
    pub(crate) fn update_theme_form(
        &self,
        tid: u32,
        new: &ThemeForm,
        seen: &ThemeForm,
    ) -> Result<bool> {
        on_engine!(self, e => e.update_theme_form(tid, new, seen))
    }

    /// Sets stylesheet row `sid`'s pages (`attachedto`), as the stylesheet properties form
    /// does, if it still holds `seen`. Returns false if it does not, or is gone.
    pub(crate) fn update_stylesheet_attachedto(
        &self,
        sid: u32,
        attachedto: &str,
        seen: &str,
    ) -> Result<bool> {
        on_engine!(self, e => e.update_stylesheet_attachedto(sid, attachedto, seen))
    }
}

/// The upgrade commands (`outdated`, `merge`, `revert`): custom copies against their masters.
impl Db {
    /// Returns every master (sid -2), global (sid -1) and set (sid >= 1) template with its
    /// version, ordered by tid (so a later duplicate of one (sid, title) wins, as in MyBB).
    pub fn versioned_templates(&self) -> Result<Vec<VersionedTemplate>> {
        on_engine!(self, e => e.versioned_templates(true))
    }

    /// Returns every template row as [`Db::versioned_templates`] does, but only the master and
    /// global rows with their bodies: a set's row comes with an empty template. What the
    /// baseline needs, without holding every set's text (issue 32).
    pub fn template_versions(&self) -> Result<Vec<VersionedTemplate>> {
        on_engine!(self, e => e.versioned_templates(false))
    }

    /// Returns the tids of the custom rows (set rows, and global rows) that MyBB's "Find Updated
    /// Templates" finds: a master of the same title has a greater version and other content.
    /// Each tid once, ascending.
    pub fn find_updated(&self) -> Result<Vec<u32>> {
        on_engine!(self, e => e.find_updated())
    }

    /// Returns a cheap digest of the master templates and of which custom rows exist: it
    /// changes when an upgrade, a plugin or a hand edit changes a master, and when a custom
    /// copy is added or deleted. The baseline is refreshed only when it changes.
    pub fn templates_digest(&self) -> Result<String> {
        on_engine!(self, e => e.templates_digest())
    }

    /// Deletes custom template row `tid` (a set's or a global row), as the Admin CP's "Revert
    /// to Original" does; never a master row. Only if the row still holds `seen` byte for
    /// byte: an Admin CP edit since it was read is not thrown away unseen. Returns true if and
    /// only if a row went.
    pub(crate) fn delete_custom_template(
        &self,
        tid: u32,
        title: &str,
        seen: &[u8],
    ) -> Result<bool> {
        on_engine!(self, e => e.delete_custom_template(tid, title, seen))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row stamped with `now()` and a file written right after: the file's mtime (seconds)
    /// is never earlier than the row's stamp. Sampled in the first milliseconds after two
    /// second boundaries, where the precise clock and the file clock disagree.
    #[test]
    fn a_stamp_from_now_is_never_later_than_a_file_written_after_it() {
        let dir = crate::test_support::scratch_dir("db", "now-and-mtime");
        let file = dir.join("cache.css");
        let precise = || SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let mut second = precise().as_secs();
        let mut sampled = 0;
        while sampled < 2 {
            // Polled, not slept: the new second is seen within microseconds of its start.
            let at = precise();
            if at.as_secs() == second {
                continue;
            }
            second = at.as_secs();
            sampled += 1;
            for _ in 0..20 {
                let stamp = now();
                std::fs::write(&file, b"body {}").unwrap();
                let mtime = std::fs::metadata(&file).unwrap().modified().unwrap();
                let mtime = mtime.duration_since(UNIX_EPOCH).unwrap().as_secs();
                assert!(mtime >= stamp, "a file written after the stamp {stamp} has mtime {mtime}");
            }
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
