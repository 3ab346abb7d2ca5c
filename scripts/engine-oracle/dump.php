<?php
// scripts/engine-oracle/dump.php: prints, as JSON, what the engine oracle keeps of a MyBB board
// after a step (run.sh): every template row outside the master set, every stylesheet row outside
// the master theme, the Default theme's row and the `default_theme` datacache row, each value in
// its text form as stored. On SQLite each row also names each column's storage class (typeof),
// which MyBB's PDO driver and mybb-sync's bound values must agree on.
//
// Usage: php dump.php BOARD_ROOT SINCE INSTALLED_SID
//   BOARD_ROOT: the board (its inc/config.php says which database); SINCE: the step's start
//   (Unix seconds). `dateline` and `lastmodified` are the time of the write: they are kept as
//   "now" when at or after SINCE, else "before", the rule tests/engine_oracle.rs applies too.
//   INSTALLED_SID: the highest stylesheet sid of the fresh install. A row of the install that no
//   step wrote (sid at most that, `lastmodified` "before") keeps its content out of the dump,
//   as "(as installed)": every write of a stylesheet's content sets `lastmodified`.
error_reporting(E_ALL);
$root = rtrim($argv[1], '/');
$since = (int)$argv[2];
$installed_sid = (int)$argv[3];
$config = array();
require "$root/inc/config.php";
$d = $config['database'];
$p = $d['table_prefix'];
$sqlite = $d['type'] === 'sqlite';
if($sqlite)
{
	$pdo = new PDO('sqlite:'.$d['database']);
	$pdo->setAttribute(PDO::ATTR_ERRMODE, PDO::ERRMODE_EXCEPTION);
	$rows = function($sql) use ($pdo) { return $pdo->query($sql)->fetchAll(PDO::FETCH_ASSOC); };
}
else
{
	list($host, $port) = array_pad(explode(':', $d['hostname']), 2, '5432');
	$link = pg_connect("host=$host port=$port dbname={$d['database']} user={$d['username']}");
	if(!$link) { fwrite(STDERR, "dump.php: cannot connect\n"); exit(1); }
	$rows = function($sql) use ($link) {
		$result = pg_query($link, $sql);
		if(!$result) { fwrite(STDERR, "dump.php: $sql: ".pg_last_error($link)."\n"); exit(1); }
		return pg_fetch_all($result) ?: array();
	};
}
// Each table's columns, as the test compares them, and the volatile ones.
$tables = array(
	'templates' => array("{$p}templates", 'tid, title, template, sid, version, status, dateline', 'sid <> -2', 'tid'),
	'themestylesheets' => array("{$p}themestylesheets", 'sid, name, tid, attachedto, stylesheet, cachefile, lastmodified', 'tid <> 1', 'sid'),
	'themes' => array("{$p}themes", 'tid, name, pid, def, properties, stylesheets, allowedgroups', 'tid = 2', 'tid'),
	'datacache' => array("{$p}datacache", 'title, cache', "title = 'default_theme'", 'title'),
);
$volatile = array('dateline', 'lastmodified');
$out = array();
foreach($tables as $key => list($table, $columns, $where, $order))
{
	$list = array();
	foreach($rows("SELECT $columns FROM $table WHERE $where ORDER BY $order") as $row)
	{
		foreach($row as $column => $value)
		{
			if($value !== null)
			{
				$value = (string)$value;
			}
			if(in_array($column, $volatile, true) && $value !== null)
			{
				$value = ((int)$value >= $since) ? 'now' : 'before';
			}
			$row[$column] = $value;
		}
		if($key === 'themestylesheets' && $row['lastmodified'] === 'before' && (int)$row['sid'] <= $installed_sid)
		{
			$row['stylesheet'] = '(as installed)';
		}
		if($sqlite)
		{
			$types = array();
			foreach(explode(', ', $columns) as $column)
			{
				$types[] = "typeof($column)";
			}
			$key_column = $order;
			$key_value = $pdo->quote($row[$order]);
			$t = $rows("SELECT ".implode(', ', $types)." FROM $table WHERE $key_column = $key_value");
			$row['storage'] = implode(' ', array_values($t[0]));
		}
		$list[] = $row;
	}
	$out[$key] = $list;
}
echo json_encode($out, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE), "\n";
