<?php
// scripts/theme-oracle/export.php: runs the body of the Admin CP's export action
// (admin/modules/style/themes.php) as it is, printing the theme file.
// Environment: as boot.php, plus ORACLE_TID, ORACLE_CUSTOM (custom_theme), ORACLE_TEMPLATES.
require __DIR__.'/boot.php';
function header_stub() {}
$mybb->input = array('action' => 'export', 'tid' => getenv('ORACLE_TID'),
	'custom_theme' => getenv('ORACLE_CUSTOM'), 'include_templates' => getenv('ORACLE_TEMPLATES'));
$mybb->request_method = 'post';
$code = file_get_contents($src.'admin/modules/style/themes.php');
$start = strpos($code, 'if($mybb->input[\'action\'] == "export")');
$end = strpos($code, 'if($mybb->input[\'action\'] == "duplicate")');
$body = substr($code, $start, $end - $start);
// No admin log table, no HTTP headers, and return instead of exit.
$body = str_replace(array('log_admin_action(', 'header('), 'header_stub(', $body);
$body = str_replace('exit;', 'return;', $body);
$run = function () use ($body) { global $mybb, $db, $lang, $plugins, $cache; eval($body); };
$run();
