<?php
// scripts/theme-oracle/boot.php: the smallest MyBB 1.8 bootstrap under which the Admin CP's own
// theme code runs against a database, to produce the expected outputs of tests/theme.rs.
// Environment: MYBB_SRC (an unpacked MyBB 1.8.37), ORACLE_ROOT (a scratch MyBB root holding
// cache/themes and inc/class_xmlparser.php), ORACLE_DB (a database on 127.0.0.1, root, no password).
error_reporting(E_ALL & ~E_DEPRECATED & ~E_WARNING & ~E_NOTICE);
define('IN_MYBB', 1);
define('MYBB_ROOT', rtrim(getenv('ORACLE_ROOT'), '/').'/');
define('TIME_NOW', time());
define('MYBB_ADMIN_DIR', MYBB_ROOT.'admin/');
$src = rtrim(getenv('MYBB_SRC'), '/').'/';
require_once $src.'inc/functions.php';
require_once $src.'inc/class_core.php';
require_once $src.'inc/db_base.php';
require_once $src.'inc/db_mysqli.php';
require_once $src.'inc/class_datacache.php';
$mybb = new MyBB;
$mybb->version_code = 1837;
$mybb->safemode = false;
$db = new DB_MySQLi;
$db->connect(array('hostname' => '127.0.0.1', 'username' => 'root', 'password' => '',
	'database' => getenv('ORACLE_DB'), 'encoding' => 'utf8mb4'));
$db->set_table_prefix('mybb_');
$db->type = 'mysqli';
$cache = new datacache;
$lang = new stdClass;
$lang->settings = array('charset' => 'UTF-8');
$plugins = new class { function run_hooks($hook, $arg = null) { return $arg; } };
require_once $src.'admin/inc/functions.php';
require_once $src.'admin/inc/functions_themes.php';
