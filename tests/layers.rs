//! The module graph cannot grow a cycle: `src/lib.rs` promises layers that each depend only on
//! those below them, and this reads every `crate::` path in `src/` (as the README test reads
//! the README) and fails naming the cycle, e.g. `cli -> commands -> cli`.
//!
//! Two graphs are checked: the top-level modules (a file's module is its first path component
//! under `src/`), and, inside each layer folder that `lib.rs` lists, its modules (`sync::state`,
//! `sync::own_dir`, ...). A module split into a folder for size alone (`cli/`) is one unit whose
//! files may refer to each other's types. Test code (after a file's first `#[cfg(test)]`) is
//! left out: a test may reach anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each module and the modules it names.
type Graph = BTreeMap<String, BTreeSet<String>>;

/// Returns every `.rs` file under `dir`, with its path relative to `dir`, in name order.
fn rust_files(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path.strip_prefix(dir).unwrap().to_path_buf(), text));
            }
        }
    }
    out.sort();
    out
}

/// Returns the code of a source file without its tests.
fn without_tests(text: &str) -> &str {
    text.split("#[cfg(test)]").next().unwrap_or(text)
}

/// Returns the first path segments each `prefix` path in `code` names: `crate::a::x` gives
/// `a`, and a group `crate::{a, b::c}` gives `a` and `b`.
fn named_after(code: &str, prefix: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.trim_start().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect()
    };
    let mut names = Vec::new();
    for (at, _) in code.match_indices(prefix) {
        // `foo_crate::x` is not a crate path.
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &code[at + prefix.len()..];
        match rest.strip_prefix('{') {
            Some(group) => {
                // Only the group's top level: `{a::{x, y}, b}` names a and b.
                let mut depth = 0;
                let mut start = 0;
                for (i, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => {
                            names.push(ident(&group[start..i]));
                            break;
                        }
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            names.push(ident(&group[start..i]));
                            start = i + 1;
                        }
                        _ => {}
                    }
                }
            }
            None => names.push(ident(rest)),
        }
    }
    names.retain(|name| !name.is_empty());
    names
}

/// Returns the graph of the top-level modules of `src`.
fn top_level_graph(src: &Path) -> Graph {
    let mut graph = Graph::new();
    for (path, text) in rust_files(src) {
        let first = path.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
        let module = first.trim_end_matches(".rs").to_owned();
        let edges = graph.entry(module.clone()).or_default();
        for target in named_after(without_tests(&text), "crate::") {
            if target != module {
                edges.insert(target);
            }
        }
    }
    graph
}

/// Returns the layers `lib.rs` lists in its documentation (`//! - [`sync`]: ...`).
fn layers(src: &Path) -> BTreeSet<String> {
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    lib.lines()
        .filter_map(|line| line.strip_prefix("//! - [`"))
        .filter_map(|rest| rest.split_once("`]").map(|(name, _)| name.to_owned()))
        .collect()
}

/// Returns, for each layer folder of `src` ([`layers`]), the graph of the modules inside it: a
/// file's module is its path component after the folder's; `crate::layer::x` and, from a file
/// of the folder, `super::x` name module `x` (when `x` is a file or folder there, not an item
/// of `mod.rs`).
fn layer_graphs(src: &Path) -> BTreeMap<String, Graph> {
    let layers = layers(src);
    let mut graphs: BTreeMap<String, Graph> = BTreeMap::new();
    for (path, text) in rust_files(src) {
        let parts: Vec<String> =
            path.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        if parts.len() < 2 || parts[1] == "mod.rs" || !layers.contains(&parts[0]) {
            continue;
        }
        let layer = &parts[0];
        let module = parts[1].trim_end_matches(".rs").to_owned();
        let is_module = |name: &str| {
            src.join(layer).join(format!("{name}.rs")).is_file()
                || src.join(layer).join(name).is_dir()
        };
        let code = without_tests(&text);
        let mut targets = named_after(code, &format!("crate::{layer}::"));
        if parts.len() == 2 {
            targets.extend(named_after(code, "super::"));
        }
        let edges = graphs.entry(layer.clone()).or_default().entry(module.clone()).or_default();
        for target in targets {
            if target != module && is_module(&target) {
                edges.insert(target);
            }
        }
    }
    graphs
}

/// Returns every cycle of `graph`, each as the path that closes it (`a -> b -> a`), once each.
fn cycles(graph: &Graph) -> Vec<String> {
    /// Walks from `node`; on reaching a node already on `stack`, records the cycle.
    fn walk(
        graph: &Graph,
        node: &str,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        found: &mut BTreeMap<BTreeSet<String>, String>,
    ) {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            let members: BTreeSet<String> = cycle.iter().cloned().collect();
            cycle.push(node.to_owned());
            found.entry(members).or_insert_with(|| cycle.join(" -> "));
            return;
        }
        if done.contains(node) {
            return;
        }
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            walk(graph, next, stack, done, found);
        }
        stack.pop();
        done.insert(node.to_owned());
    }
    let mut found = BTreeMap::new();
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        walk(graph, node, &mut Vec::new(), &mut done, &mut found);
    }
    found.into_values().collect()
}

/// The crate's `src` folder.
fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn the_top_level_modules_form_no_cycle() {
    let graph = top_level_graph(&src());
    assert!(graph.contains_key("sync") && graph.contains_key("mybb"), "{graph:?}");
    let found = cycles(&graph);
    assert!(found.is_empty(), "the module graph has a cycle: {}", found.join("; "));
}

#[test]
fn the_modules_inside_each_layer_form_no_cycle() {
    let layers = layers(&src());
    assert!(layers.contains("sync") && layers.contains("mybb"), "lib.rs lists {layers:?}");
    let graphs = layer_graphs(&src());
    assert!(graphs.get("sync").is_some_and(|g| g.contains_key("state")), "{graphs:?}");
    let found: Vec<String> = graphs
        .iter()
        .flat_map(|(layer, graph)| cycles(graph).into_iter().map(move |c| format!("{layer}: {c}")))
        .collect();
    assert!(found.is_empty(), "a layer's modules have a cycle: {}", found.join("; "));
}

#[test]
fn the_checker_reads_grouped_paths_and_names_a_cycle() {
    let code = "use crate::{cli::{Args, Command}, config};\nlet x = crate::sync::plan::f();\n\
                use mycrate::nothing;";
    assert_eq!(named_after(code, "crate::"), ["cli", "config", "sync"]);
    assert_eq!(named_after(code, "crate::sync::"), ["plan"]);
    let graph: Graph = [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")].into_iter().fold(
        Graph::new(),
        |mut g, (from, to)| {
            g.entry(from.to_owned()).or_default().insert(to.to_owned());
            g
        },
    );
    assert_eq!(cycles(&graph), ["a -> b -> c -> a"]);
}
