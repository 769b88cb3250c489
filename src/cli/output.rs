//! What administration commands print: tables for people, JSON for scripts, and confirmations.

use crate::storage::{Row, Value};
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use std::io::{BufRead, IsTerminal, Write};

/// Rows as a table with the given columns (in order), or as a JSON array of objects.
pub fn rows(rows: &[Row], columns: &[&str], json: bool) -> String {
    if json {
        let list: Vec<serde_json::Value> = rows.iter().map(|r| row_json(r, columns)).collect();
        return format!("{}\n", serde_json::Value::Array(list));
    }
    if rows.is_empty() {
        return "(none)\n".into();
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic);
    t.set_header(columns.to_vec());
    for r in rows {
        t.add_row(columns.iter().map(|c| r.get(*c).map(Value::render).unwrap_or_default()).collect::<Vec<_>>());
    }
    format!("{t}\n")
}

/// One record as `name: value` lines, or a JSON object.
pub fn record(row: &Row, columns: &[&str], json: bool) -> String {
    if json {
        return format!("{}\n", row_json(row, columns));
    }
    let width = columns.iter().map(|c| c.len()).max().unwrap_or(0);
    columns.iter().map(|c| format!("{c:width$}  {}\n", row.get(*c).map(Value::render).unwrap_or_default())).collect()
}

fn row_json(row: &Row, columns: &[&str]) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for c in columns {
        let v = match row.get(*c) {
            None | Some(Value::Null) => serde_json::Value::Null,
            Some(Value::Int(i)) => serde_json::Value::from(*i),
            Some(Value::Text(s)) => serde_json::Value::from(s.clone()),
        };
        map.insert((*c).to_string(), v);
    }
    serde_json::Value::Object(map)
}

/// Asks "question [y/N]" on the terminal. Without a terminal, refuses: destructive commands
/// then need `--yes`.
pub fn confirm(question: &str) -> bool {
    if !std::io::stdin().is_terminal() {
        eprintln!("{question} — not confirmed: no terminal to ask on; pass --yes to confirm");
        return false;
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    matches!(answer.trim(), "y" | "Y" | "yes" | "YES")
}

/// Reads a new password: one line from standard input with `--password-stdin`, else twice from
/// the terminal without echo. Never from a command-line value (it would end up in shell history).
pub fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    read_secret(&Secret { what: "password", prompt: "New password: ", stdin_flags: "--password-stdin" }, from_stdin)
}

/// A secret to read, for [`read_secret`]'s prompts and messages.
pub struct Secret {
    /// What it is, in messages (`password`, `API secret key`).
    pub what: &'static str,
    /// The first prompt (the second is "Repeat it: ").
    pub prompt: &'static str,
    /// How to give it without a terminal, for the message when there is none.
    pub stdin_flags: &'static str,
}

/// Reads a new secret: one line from standard input (`from_stdin`, its line break dropped), else
/// twice from the terminal without echo. Never from a command-line value (it would end up in
/// shell history and in the process list).
pub fn read_secret(secret: &Secret, from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| anyhow::anyhow!("cannot read the {}: {e}", secret.what))?;
        return Ok(line.trim_end_matches(['\n', '\r']).to_string());
    }
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("no terminal to ask for the {} on: use {}", secret.what, secret.stdin_flags);
    }
    let first = rpassword::prompt_password(secret.prompt)?;
    let second = rpassword::prompt_password("Repeat it: ")?;
    if first != second {
        anyhow::bail!("the {}s differ", secret.what);
    }
    Ok(first)
}

/// Reads a secret kept in a file: the whole file, one line; a final line break (`\n` or `\r\n`)
/// is dropped. A file of several lines is refused rather than cut.
pub fn read_secret_file(path: &std::path::Path, what: &str) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read the {what} from {}: {e}", path.display()))?;
    let text = text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text);
    if text.contains(['\n', '\r']) {
        anyhow::bail!("{} holds more than one line: put only the {what} in it", path.display());
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_file_loses_its_final_line_break_only() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("key");
        for (content, expected) in [
            ("k1\n", Some("k1")),
            ("k2\r\n", Some("k2")),
            ("k3", Some("k3")),
            (" k4 \n", Some(" k4 ")),
            ("a\nb\n", None),
        ] {
            std::fs::write(&path, content).expect("write");
            assert_eq!(read_secret_file(&path, "key").ok().as_deref(), expected, "{content:?}");
        }
        let missing = read_secret_file(&dir.path().join("none"), "key").unwrap_err().to_string();
        assert!(missing.starts_with("cannot read the key from "), "{missing}");
    }
}
