<?php
// scripts/theme-oracle/import.php FILE: import_theme_xml() with the Admin CP import form's options.
// Environment: as boot.php, plus ORACLE_NAME (the form's new name), ORACLE_PARENT (default 1).
require __DIR__.'/boot.php';
$mybb->input = array('name' => getenv('ORACLE_NAME') ?: '');
echo import_theme_xml(file_get_contents($argv[1]), array(
	'no_stylesheets' => 0,
	'no_templates' => 0,
	'version_compat' => 0,
	'parent' => (int)(getenv('ORACLE_PARENT') ?: 1),
	'force_name_check' => true,
)), "\n";
