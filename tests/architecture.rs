//! The layers of the crate, checked from the source: every top-level module imports only modules
//! below it, so the module graph has no upward arrow and no cycle. docs/architecture.md explains
//! the layers; this is the list it describes, bottom first.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Bottom first. A module may use only the modules listed before it.
const LAYERS: &[&str] = &[
    // Shared value rules and the request's parameter map: import nothing of the crate.
    "values",
    "params",
    // The metric names and the recorder: imports nothing of the crate; every layer measures.
    "telemetry", // Storage: the port and its one SQL implementation.
    "storage",   // The domain: knowledge as data, settings, passwords, entities, the gate and the methods.
    "catalogue",
    "settings",
    "password",
    "domain",
    "auth",
    "update",
    "read",
    "lifecycle",
    // The edges: the wire, TLS on the listener, the server, the command line.
    "http",
    "tls",
    "server",
    "cli",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a source file belongs to (`src/update/change.rs` → `update`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_string())
}

/// The crate's modules a file's code names (`crate::x`), outside its unit tests (which end a
/// file, after `#[cfg(test)]`).
fn uses(code: &str) -> Vec<String> {
    let code = code.split("\n#[cfg(test)]").next().unwrap_or_default();
    let mut found = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        // Doc links and comments say where things live; they are not imports.
        let line_start = code[..i].rfind('\n').map_or(0, |n| n + 1);
        if code[line_start..i].trim_start().starts_with("//") {
            continue;
        }
        found.extend(heads(rest));
    }
    found
}

/// The first path segment of each item of `a::b` or `{a::b, c}`.
fn heads(path: &str) -> Vec<String> {
    let ident =
        |s: &str| -> String { s.trim_start().chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect() };
    let Some(group) = path.strip_prefix('{') else {
        return vec![ident(path)].into_iter().filter(|n| !n.is_empty()).collect();
    };
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                items.push(&group[start..i]);
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.into_iter().map(ident).filter(|n| !n.is_empty()).collect()
}

#[test]
fn modules_import_only_the_layers_below_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let rank = |m: &str| LAYERS.iter().position(|l| *l == m);
    let mut wrong: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in files {
        let Some(module) = module_of(&src, &file) else { continue };
        if matches!(module.as_str(), "lib" | "main") {
            continue;
        }
        let Some(own) = rank(&module) else {
            panic!("{module} ({}) is not in LAYERS: place it in a layer", file.display());
        };
        let code = std::fs::read_to_string(&file).expect("readable");
        for used in uses(&code) {
            if used == module {
                continue;
            }
            match rank(&used) {
                Some(r) if r < own => {}
                _ => wrong.entry(format!("{module} → {used}")).or_default().push(file.display().to_string()),
            }
        }
    }
    assert!(wrong.is_empty(), "imports against the layers (upward, sideways or unknown): {wrong:#?}");
}

#[test]
fn the_checker_sees_imports_and_skips_comments_and_tests() {
    let code = "use crate::storage::Row;\n/// See [`crate::http`].\nfn f() { crate::values::int(\"1\"); }\n\
                use crate::{domain::{User, Role}, params};\n#[cfg(test)]\nmod tests { use crate::cli; }\n";
    assert_eq!(uses(code), vec!["storage", "values", "domain", "params"]);
}
