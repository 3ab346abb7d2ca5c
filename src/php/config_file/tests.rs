use super::eval::Key;
use super::servers::{Endpoint, split_hostname};
use super::*;

/// `inc/config.php` as MyBB 1.8's installer writes it (`create_tables()` in
/// `install/index.php`), for a MySQLi board. The installer puts the password through
/// `addslashes()` and into single quotes.
const INSTALLER_OUTPUT: &str = r#"<?php
/**
 * Database configuration
 *
 * Please see the MyBB Docs for advanced
 * database configuration for larger installations
 * https://docs.mybb.com/
 */

$config['database']['type'] = 'mysqli';
$config['database']['database'] = 'mybb';
$config['database']['table_prefix'] = 'mybb_';

$config['database']['hostname'] = 'localhost';
$config['database']['username'] = 'mybbuser';
$config['database']['password'] = 's3cr\'et';

/**
 * Admin CP directory
 *  For security reasons, it is recommended you
 *  rename your Admin CP directory. You then need
 *  to adjust the value below to point to the
 *  new directory.
 */

$config['admin_dir'] = 'admin';

/**
 * Hide all Admin CP links
 *  If you wish to hide all Admin CP links
 *  on the front end of the board after
 *  renaming your Admin CP directory, set this
 *  to 1.
 */

$config['hide_admin_links'] = 0;

/**
 * Data-cache configuration
 *  The data cache is a temporary cache
 *  of the most commonly accessed data in MyBB.
 *  By default, the database is used to store this data.
 *
 *  If you wish to use the file system (cache/ directory), MemCache (or MemCached), xcache, APC, APCu, eAccelerator or Redis
 *  you can change the value below to 'files', 'memcache', 'memcached', 'xcache', 'apc', 'apcu', 'eaccelerator' or 'redis' from 'db'.
 */

$config['cache_store'] = 'db';

/**
 * Memcache configuration
 *  If you are using memcache or memcached as your
 *  data-cache, you need to configure the hostname
 *  and port of your memcache server below.
 *
 * If not using memcache, ignore this section.
 */

$config['memcache']['host'] = 'localhost';
$config['memcache']['port'] = 11211;

/**
 * Redis configuration
 *  If you are using Redis as your data-cache
 *  you need to configure the hostname and port
 *  of your redis server below. If you want
 *  to connect via unix sockets, use the full
 *  path to the unix socket as host and leave
 *  the port setting unconfigured or false.
 */

$config['redis']['host'] = 'localhost';
$config['redis']['port'] = 6379;

/**
 * Super Administrators
 *  A comma separated list of user IDs who cannot
 *  be edited, deleted or banned in the Admin CP.
 *  The administrator permissions for these users
 *  cannot be altered either.
 */

$config['super_admins'] = '1';

/**
 * Database Encoding
 *  If you wish to set an encoding for MyBB uncomment
 *  the line below (if it isn't already) and change
 *  the current value to the mysql charset:
 *  http://dev.mysql.com/doc/refman/5.1/en/charset-mysql.html
 */

$config['database']['encoding'] = 'utf8mb4';

/**
 * Automatic Log Pruning
 *  The MyBB task system can automatically prune
 *  various log files created by MyBB.
 *  To enable this functionality for the logs below, set the
 *  the number of days before each log should be pruned.
 *  If you set the value to 0, the logs will not be pruned.
 */

$config['log_pruning'] = array(
	'admin_logs' => 365, // Administrator logs
	'mod_logs' => 365, // Moderator logs
	'task_logs' => 30, // Scheduled task logs
	'mail_logs' => 180, // Mail error logs
	'user_mail_logs' => 180, // User mail logs
	'promotion_logs' => 180 // Promotion logs
);

/**
 * Disallowed Remote Hosts
 *  List of hosts the fetch_remote_file() function will not
 *  perform requests to.
 *  It is recommended that you enter hosts resolving to the
 *  forum server here to prevent Server Side Request
 *  Forgery attacks.
 */

$config['disallowed_remote_hosts'] = array(
	'localhost',
);

/**
 * Disallowed Remote Addresses
 *  List of IPv4 addresses the fetch_remote_file() function
 *  will not perform requests to.
 *  It is recommended that you enter addresses resolving to
 *  the forum server here to prevent Server Side Request
 *  Forgery attacks.
 *  Removing all values disables resolving hosts in that
 *  function.
 */

$config['disallowed_remote_addresses'] = array(
	'127.0.0.1',
	'10.0.0.0/8',
	'172.16.0.0/12',
	'192.168.0.0/16',
);

"#;

#[track_caller]
fn parsed(source: &str) -> BoardConfig {
    match parse(source) {
        Ok(board) => board,
        Err(error) => panic!("should parse, but: {error}"),
    }
}

#[track_caller]
fn refused(source: &str) -> (Option<usize>, String) {
    match parse(source) {
        Ok(board) => panic!("should be refused, but parsed {board:?}"),
        Err(ConfigPhpError::Invalid { line, reason, .. }) => (line, reason),
        Err(other) => panic!("unexpected error {other}"),
    }
}

/// A minimal board with `lines` added after the type and database lines.
fn board_with(lines: &str) -> String {
    format!(
        "<?php\n$config['database']['type'] = 'mysqli';\n\
             $config['database']['database'] = 'forum';\n{lines}\n"
    )
}

#[test]
fn reads_the_installers_own_output() {
    let board = parsed(INSTALLER_OUTPUT);
    assert_eq!(
        board,
        BoardConfig {
            db_type: "mysqli".into(),
            database: "mybb".into(),
            table_prefix: "mybb_".into(),
            hostname: "localhost".into(),
            port: None,
            socket: None,
            username: "mybbuser".into(),
            password: "s3cr'et".into(),
            encoding: "utf8mb4".into(),
        }
    );
    assert!(board.is_mysql());
}

#[test]
fn reads_the_double_quoted_form() {
    let board = parsed(
        "<?php\n$config[\"database\"][\"type\"] = \"mysql_pdo\";\n\
             $config[\"database\"][\"database\"] = \"forum\";\n\
             $config[\"database\"][\"hostname\"] = \"db.example.org\";\n\
             $config[\"database\"][\"username\"] = \"bb\";\n\
             $config[\"database\"][\"password\"] = \"p\\\"w\\\\d\\$x\\x41\\101\\u{e9}\\q\";\n",
    );
    assert_eq!(board.db_type, "mysql_pdo");
    assert_eq!(board.hostname, "db.example.org");
    assert_eq!(board.password, "p\"w\\d$xAAé\\q");
    assert!(board.is_mysql());
}

#[test]
fn passwords_keep_every_punctuation_character() {
    let board = parsed(&board_with(
        "$config['database']['hostname'] = 'localhost';\n\
             $config['database']['username'] = 'u';\n\
             $config['database']['password'] = 'a@b:c/d\\'e\"f\\\\g#h//i';",
    ));
    assert_eq!(board.password, "a@b:c/d'e\"f\\g#h//i");
    let board = parsed(&board_with(
        "$config['database']['hostname'] = 'localhost';\n\
             $config['database']['username'] = 'u';\n\
             $config['database']['password'] = \"a@b:c/d'e\\\"f\";",
    ));
    assert_eq!(board.password, "a@b:c/d'e\"f");
}

#[test]
fn single_quotes_keep_backslashes_that_escape_nothing() {
    // The installer's addslashes() turns `"` into `\"`, and PHP keeps both characters
    // inside single quotes: MyBB itself then uses `a\"b`, so must this.
    let board = parsed(&board_with(
        "$config['database']['hostname'] = 'localhost';\n\
             $config['database']['username'] = 'u';\n\
             $config['database']['password'] = 'a\\\"b\\n';",
    ));
    assert_eq!(board.password, "a\\\"b\\n");
}

#[test]
fn hostname_may_carry_a_port() {
    let board = parsed(&board_with(
        "$config['database']['hostname'] = 'localhost:3307';\n\
             $config['database']['username'] = 'u';",
    ));
    assert_eq!((board.hostname.as_str(), board.port), ("localhost", Some(3307)));
    assert_eq!(board.password, "");
}

#[test]
fn ipv6_hostname_in_brackets_may_carry_a_port() {
    let tcp = |host: &str, port| Ok(Endpoint { host: host.into(), port, socket: None });
    assert_eq!(split_hostname("[::1]:3307"), tcp("::1", Some(3307)));
    assert_eq!(split_hostname("[::1]"), tcp("::1", None));
    assert_eq!(split_hostname("[2001:db8::7]:3306"), tcp("2001:db8::7", Some(3306)));
    assert_eq!(split_hostname("10.0.0.5"), tcp("10.0.0.5", None));
    let board = parsed(&board_with(
        "$config['database']['hostname'] = '[::1]:3307';\n\
             $config['database']['username'] = 'u';",
    ));
    assert_eq!((board.hostname.as_str(), board.port), ("::1", Some(3307)));
}

#[test]
fn unusable_hostnames_are_refused_with_their_line() {
    for (hostname, expected) in [
        ("::1", "brackets"),
        ("fe80::1:3306", "brackets"),
        ("[::1", "closing `]`"),
        ("[::1]3306", "after `]`"),
        ("/run/mysqld/mysqld.sock", "socket path must follow a host"),
        ("localhost:", "port"),
        ("localhost:0", "port"),
        ("localhost:70000", "port"),
        ("localhost:+3306", "port"),
        (":3306", "no host name"),
        ("", "empty"),
    ] {
        let (line, reason) = refused(&board_with(&format!(
            "$config['database']['username'] = 'u';\n\
                 $config['database']['hostname'] = '{hostname}';"
        )));
        assert_eq!(line, Some(5), "{hostname}");
        assert!(reason.contains(expected), "{hostname}: {reason}");
        assert!(reason.contains("$config['database']['hostname']"), "{reason}");
    }
}

#[test]
fn hostname_may_name_a_unix_socket() {
    let board = parsed(&board_with(
        "$config['database']['hostname'] = 'localhost:/run/mysqld/mysqld.sock';\n\
             $config['database']['username'] = 'u';",
    ));
    assert_eq!(
        (board.hostname.as_str(), board.port, board.socket.as_deref()),
        ("localhost", None, Some("/run/mysqld/mysqld.sock"))
    );
    assert_eq!(
        split_hostname(":/tmp/my:sql.sock"),
        Ok(Endpoint {
            host: "localhost".into(),
            port: None,
            socket: Some("/tmp/my:sql.sock".into())
        })
    );
}

#[test]
fn writes_go_to_the_write_server() {
    let board = parsed(&board_with(
        "$config['database']['read']['hostname'] = 'replica';\n\
             $config['database']['read']['username'] = 'reader';\n\
             $config['database']['read']['password'] = 'r';\n\
             $config['database']['write']['hostname'] = 'primary:3307';\n\
             $config['database']['write']['username'] = 'writer';\n\
             $config['database']['write']['password'] = 'w';",
    ));
    assert_eq!(
        (board.hostname.as_str(), board.port, board.username.as_str(), board.password.as_str()),
        ("primary", Some(3307), "writer", "w")
    );
    assert_eq!(board.database, "forum");
}

#[test]
fn writes_go_to_the_first_of_a_list_of_write_servers() {
    let board = parsed(&board_with(
        "$config['database']['read'][0]['hostname'] = 'replica1';\n\
             $config['database']['read'][0]['username'] = 'reader';\n\
             $config['database']['write'][0]['hostname'] = 'primary1';\n\
             $config['database']['write'][0]['username'] = 'writer1';\n\
             $config['database']['write'][0]['password'] = 'w1';\n\
             $config['database']['write']['1']['hostname'] = 'primary2';\n\
             $config['database']['write']['1']['username'] = 'writer2';\n\
             // Per-server copies of these are ignored, as MyBB ignores them.\n\
             $config['database']['write'][0]['database'] = 'elsewhere';\n\
             $config['database']['write'][0]['table_prefix'] = 'other_';",
    ));
    assert_eq!(
        (board.hostname.as_str(), board.username.as_str(), board.password.as_str()),
        ("primary1", "writer1", "w1")
    );
    assert_eq!(board.database, "forum");
    assert_eq!(board.table_prefix, "mybb_");
}

#[test]
fn without_a_write_server_writes_go_to_the_read_server() {
    let board = parsed(&board_with(
        "$config['database']['read'][0]['hostname'] = 'only';\n\
             $config['database']['read'][0]['username'] = 'reader';\n\
             $config['database']['read'][0]['password'] = 'r';",
    ));
    assert_eq!((board.hostname.as_str(), board.username.as_str()), ("only", "reader"));
}

#[test]
fn integer_keyed_servers_serve_reads_and_writes() {
    let board = parsed(&board_with(
        "$config['database'][0]['hostname'] = 'first';\n\
             $config['database'][0]['username'] = 'a';\n\
             $config['database'][1]['hostname'] = 'second';\n\
             $config['database'][1]['username'] = 'b';",
    ));
    assert_eq!((board.hostname.as_str(), board.username.as_str()), ("first", "a"));
}

#[test]
fn a_top_level_hostname_wins_over_server_lists() {
    // connect(): `if(array_key_exists('hostname', $config))` comes first.
    let board = parsed(&board_with(
        "$config['database']['hostname'] = 'plain';\n\
             $config['database']['username'] = 'u';\n\
             $config['database']['write']['hostname'] = 'ignored';\n\
             $config['database']['write']['username'] = 'ignored';",
    ));
    assert_eq!(board.hostname, "plain");
}

#[test]
fn missing_database_key_is_an_error() {
    let error = parse(
        "<?php\n$config['database']['type'] = 'mysqli';\n\
             $config['database']['hostname'] = 'localhost';\n\
             $config['database']['username'] = 'u';\n",
    )
    .expect_err("no database name");
    assert_eq!(error.to_string(), "`$config['database']['database']` is not set");
}

#[test]
fn missing_settings_are_named() {
    let (_, reason) = refused("<?php\n$config['admin_dir'] = 'admin';\n");
    assert!(reason.contains("no `$config['database'][...]` settings"), "{reason}");
    let (_, reason) = refused(&board_with("$config['database']['username'] = 'u';"));
    assert!(reason.contains("`$config['database']['hostname']` is not set"), "{reason}");
    let (_, reason) = refused(&board_with("$config['database']['hostname'] = 'h';"));
    assert_eq!(reason, "`$config['database']['username']` is not set");
    let (_, reason) = refused(
        "<?php\n$config['database']['database'] = 'd';\n\
             $config['database']['hostname'] = 'h';\n$config['database']['username'] = 'u';",
    );
    assert_eq!(reason, "`$config['database']['type']` is not set");
    let (_, reason) = refused(&board_with(
        "$config['database']['write']['hostname'] = 'h';\n\
             $config['database']['write']['username'] = 'u';",
    ));
    assert!(reason.contains("`$config['database']['read']` is not"), "{reason}");
}

#[test]
fn defaults_apply_when_prefix_and_encoding_are_missing() {
    let board = parsed(&board_with(
        "$config['database']['hostname'] = 'h';\n$config['database']['username'] = 'u';\n\
             // $config['database']['encoding'] = 'latin1';",
    ));
    assert_eq!(board.table_prefix, DEFAULT_TABLE_PREFIX);
    assert_eq!(board.encoding, DEFAULT_ENCODING);
}

#[test]
fn empty_prefix_is_allowed_and_bad_prefixes_are_refused() {
    let board = parsed(&board_with(
        "$config['database']['table_prefix'] = '';\n\
             $config['database']['hostname'] = 'h';\n$config['database']['username'] = 'u';",
    ));
    assert_eq!(board.table_prefix, "");
    let (line, reason) = refused(&board_with(
        "$config['database']['table_prefix'] = 'my-bb_';\n\
             $config['database']['hostname'] = 'h';\n$config['database']['username'] = 'u';",
    ));
    assert_eq!(line, Some(4));
    assert!(reason.contains("table_prefix"), "{reason}");
}

#[test]
fn encoding_must_be_a_character_set_name() {
    let (line, reason) = refused(&board_with(
        "$config['database']['hostname'] = 'h';\n$config['database']['username'] = 'u';\n\
             $config['database']['encoding'] = \"utf8'; DROP\";",
    ));
    assert_eq!(line, Some(6));
    assert!(reason.contains("not a character set name"), "{reason}");
}

#[test]
fn validate_table_prefix_follows_the_installer() {
    for good in ["", "mybb_", "a", "A1_", &"a".repeat(40)] {
        assert_eq!(validate_table_prefix(good), Ok(()), "{good}");
    }
    for bad in ["1mybb", "_mybb", "my-bb", "my bb", "mybb_\n", "é", &"a".repeat(41)] {
        assert!(validate_table_prefix(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn postgresql_boards_are_parsed_with_the_hostname_as_written() {
    let board = parsed(
        "<?php\n$config['database']['type'] = 'pgsql';\n\
             $config['database']['database'] = 'forum';\n\
             $config['database']['table_prefix'] = 'mybb_';\n\
             $config['database']['hostname'] = 'pg.example.org';\n\
             $config['database']['username'] = 'bb';\n\
             $config['database']['password'] = 'pw';\n",
    );
    assert_eq!(board.db_type, "pgsql");
    assert_eq!(board.hostname, "pg.example.org");
    assert!(!board.is_mysql());
    assert!(board.is_postgres());
    assert_eq!((board.username.as_str(), board.password.as_str()), ("bb", "pw"));
}

#[test]
fn sqlite_boards_are_parsed_for_the_caller_to_refuse() {
    // The installer writes empty server settings for SQLite.
    let board = parsed(
        "<?php\n$config['database']['type'] = 'sqlite';\n\
             $config['database']['database'] = '/var/db/forum.sqlite';\n\
             $config['database']['table_prefix'] = 'mybb_';\n\
             $config['database']['hostname'] = '';\n\
             $config['database']['username'] = '';\n\
             $config['database']['password'] = '';\n",
    );
    assert_eq!(board.db_type, "sqlite");
    assert!(!board.is_mysql());
}

#[test]
fn malformed_syntax_is_refused_with_its_line() {
    for (source, line, expected) in [
        (
            "<?php\n$config['database']['type'] = 'mysqli'\n$config['x'] = 1;",
            2,
            "expected `;` after the value of `$config['database']['type']`",
        ),
        ("<?php\n\n$config['database']['type'] = 'mysqli;\n", 3, "never closed"),
        ("<?php\n/* open\n\n", 2, "never closed"),
        ("<?php\n$config['a'] = 1;\ndefine('X', 1);\n", 3, "found a bare name"),
        ("<?php\n$db = 'x';\n", 2, "the variable `$db`"),
        ("<?php\n$config['a'] .= 'x';\n", 2, "plain assignments"),
        ("<?php\n$config = array();\n", 2, "`$config` itself"),
        ("<?php\n$config[] = 'x';\n", 2, "append"),
        ("<?php\n$config[FOO] = 'x';\n", 2, "array key"),
        ("<?php\n$config['a'] = <<<EOT\nx\nEOT;\n", 2, "heredoc"),
        ("<?php\n$config['a'] = `id`;\n", 2, "backtick"),
        ("\n\nhello <?php\n", 3, "<?php"),
        ("<?php\n$config['a'] = 1;\n?>\n<p>html</p>\n", 4, "after the closing"),
        ("<?php\n\n#[Attr]\n", 3, "attributes"),
        ("<?php\n$config['a'] = (1;\n", 2, "closing `;`"),
        // Without the `;`, the database setting would vanish into the skipped value.
        (
            "<?php\n$config['a'] = array(1)\n$config['database']['password'] = 'p';\n",
            2,
            "expected `;` after the value of `$config['a']`, found the variable `$config` on \
                 line 3",
        ),
        ("<?php\n$config['a'] = 'x' 'y';\n", 2, "found a string on line 2"),
        ("<?php\n$config['a'] = (int) 'x' 1;\n", 2, "found a number"),
    ] {
        let (found_line, reason) = refused(source);
        assert_eq!(found_line, Some(line), "{source:?}: {reason}");
        assert!(reason.contains(expected), "{source:?}: {reason}");
    }
}

#[test]
fn database_values_must_be_literals() {
    for (value, expected) in [
        ("$password", "not set to a plain"),
        ("getenv('DB_PASSWORD')", "not set to a plain"),
        ("'a' . 'b'", "not set to a plain"),
        ("\"pa$word\"", "double-quoted string with a `$` variable"),
        ("\"pa{$x}\"", "double-quoted string with a `$` variable"),
        ("\"pa${x}\"", "double-quoted string with a `$` variable"),
        ("0123", "decimal"),
        ("array('a')", "array"),
        ("['a']", "array"),
    ] {
        let (line, reason) = refused(&board_with(&format!(
            "$config['database']['hostname'] = 'h';\n\
                 $config['database']['username'] = 'u';\n\
                 $config['database']['password'] = {value};"
        )));
        assert_eq!(line, Some(6), "{value}");
        assert!(reason.contains(expected), "{value}: {reason}");
        assert!(reason.contains("$config['database']['password']"), "{reason}");
    }
}

#[test]
fn literal_dollars_in_double_quotes_are_not_interpolation() {
    let board = parsed(&board_with(
        "$config['database']['hostname'] = 'h';\n$config['database']['username'] = 'u';\n\
             $config['database']['password'] = \"a$ b$1 c$\";",
    ));
    assert_eq!(board.password, "a$ b$1 c$");
}

#[test]
fn numbers_and_booleans_are_literals() {
    let board = parsed(&board_with(
        "$config['database']['hostname'] = 'h';\n$config['database']['username'] = 'u';\n\
             $config['database']['password'] = 12345;\n\
             $config['database']['pconnect'] = TRUE;",
    ));
    assert_eq!(board.password, "12345");
}

#[test]
fn comments_and_whitespace_go_anywhere() {
    let board = parsed(
        "\u{FEFF}  <?PHP # a comment\n\
             /* block\n comment */ $config /* here */ [ 'database' ]\n\
             [\n'type'\n] =\n'mysqli' ;;\n\
             $config['database']['database']='d';$config['database']['hostname']='h'#\n\
             ;$config['database']['username'] = 'u'; // trailing ?>",
    );
    assert_eq!(
        (board.db_type.as_str(), board.database.as_str(), board.username.as_str()),
        ("mysqli", "d", "u")
    );
}

#[test]
fn a_line_comment_ends_at_the_closing_tag() {
    // PHP leaves PHP mode at `?>` even inside a `//` comment: the text after it is output.
    let (line, reason) = refused("<?php\n// note ?> then text\n");
    assert_eq!(line, Some(2));
    assert!(reason.contains("after the closing `?>`"), "{reason}");
    let board = parsed(&format!(
        "{}?>\n",
        board_with("$config['database']['hostname'] = 'h';\n$config['database']['username'] = 'u'")
    ));
    assert_eq!(board.username, "u");
}

#[test]
fn later_assignments_replace_earlier_ones() {
    let board = parsed(&board_with(
        "$config['database']['hostname'] = 'old';\n$config['database']['username'] = 'u';\n\
             $config['database']['hostname'] = 'new';",
    ));
    assert_eq!(board.hostname, "new");
}

#[test]
fn indexing_into_a_value_is_refused() {
    let (line, reason) = refused(&board_with(
        "$config['database']['write'] = 'x';\n\
             $config['database']['write']['hostname'] = 'h';",
    ));
    assert_eq!(line, Some(5));
    assert!(reason.contains("single value on line 4"), "{reason}");
}

#[test]
fn other_config_settings_are_skipped_whatever_they_hold() {
    let board = parsed(&board_with(
        "$config['x'] = array('a' => [1, 2.5, -3], 'b' => null, \"c$d\" => 'e');\n\
             $config['y']['z'] = 0x1F;\n\
             $config['database']['hostname'] = 'h';\n$config['database']['username'] = 'u';",
    ));
    assert_eq!(board.hostname, "h");
}

#[test]
fn string_keys_that_are_integers_are_integers() {
    assert_eq!(Key::from_php_string("0".into()), Key::Int(0));
    assert_eq!(Key::from_php_string("12".into()), Key::Int(12));
    assert_eq!(Key::from_php_string("-3".into()), Key::Int(-3));
    assert_eq!(Key::from_php_string("012".into()), Key::Str("012".into()));
    assert_eq!(Key::from_php_string("-0".into()), Key::Str("-0".into()));
    assert_eq!(Key::from_php_string("1e3".into()), Key::Str("1e3".into()));
    assert_eq!(Key::from_php_string("".into()), Key::Str(String::new()));
}

#[test]
fn debug_never_shows_the_password() {
    let board = parsed(INSTALLER_OUTPUT);
    let debug = format!("{board:?}");
    assert!(!debug.contains("s3cr"), "{debug}");
    assert!(debug.contains("password: \"***\""), "{debug}");
    let pretty = format!("{board:#?}");
    assert!(!pretty.contains("s3cr"), "{pretty}");
}

#[test]
fn errors_never_show_the_password() {
    for value in [
        "hunter2secret",
        "\"hunter2secret$x\"",
        "'hunter2secret' . 'x'",
        "\"hunter2secret\\u{zz}\"",
        "'hunter2secret",
    ] {
        let source = board_with(&format!(
            "$config['database']['hostname'] = 'h';\n\
                 $config['database']['username'] = 'u';\n\
                 $config['database']['password'] = {value};"
        ));
        let error = parse(&source).expect_err("refused");
        assert!(!error.to_string().contains("hunter2"), "{error}");
        assert!(!format!("{error:?}").contains("hunter2"), "{error:?}");
    }
}

#[test]
fn read_names_the_file_in_errors() {
    let root = std::env::temp_dir()
        .join(format!("mybb-sync-mybb-config-{}-read_names_the_file", std::process::id()));
    let inc = root.join("inc");
    std::fs::create_dir_all(&inc).expect("temp dir");
    let config = inc.join("config.php");

    std::fs::write(&config, INSTALLER_OUTPUT).expect("write config");
    let board = read(&root).expect("reads the installer's output");
    assert_eq!(board.username, "mybbuser");

    std::fs::write(&config, "<?php\n$config['database']['type'] = ;\n").expect("write");
    let error = read(&root).expect_err("refused");
    assert_eq!(
        error.to_string(),
        format!("{}:2: `$config['database']['type'] =` has no value", config.display())
    );

    std::fs::remove_file(&config).expect("remove config");
    let error = read(&root).expect_err("missing file");
    assert!(matches!(error, ConfigPhpError::Read(_)));
    assert!(error.to_string().contains(&config.display().to_string()), "{error}");

    std::fs::remove_dir_all(&root).expect("clean up");
}
