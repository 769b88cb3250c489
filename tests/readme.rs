//! README.md's generated tables match what their commands print now. Each table sits between
//! `<!-- generated: COMMAND -->` and `<!-- end generated -->`; when the catalogue or the settings
//! change, regenerate with `MORAPI_UPDATE_README=1 cargo test --test readme` (or paste the
//! command's output between the markers).

use std::path::Path;
use std::process::Command;

const END: &str = "<!-- end generated -->";

/// The commands whose output README.md holds.
const GENERATED: &[&str] = &["morapi docs settings", "morapi docs params"];

/// What `command` prints (run through the real binary).
fn output(command: &str) -> String {
    let args: Vec<&str> = command.split_whitespace().skip(1).collect();
    let out = Command::new(env!("CARGO_BIN_EXE_morapi")).args(&args).output().expect("run morapi");
    assert!(out.status.success(), "{command}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// The byte range of the text between `command`'s markers in `readme`.
fn block(readme: &str, command: &str) -> std::ops::Range<usize> {
    let start_marker = format!("<!-- generated: {command} -->\n");
    let start =
        readme.find(&start_marker).unwrap_or_else(|| panic!("README.md has no `{}` marker", start_marker.trim()))
            + start_marker.len();
    let end =
        readme[start..].find(END).unwrap_or_else(|| panic!("`{command}`'s block in README.md has no `{END}`")) + start;
    start..end
}

#[test]
fn readme_tables_are_the_commands_output() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let mut readme = std::fs::read_to_string(&path).expect("README.md");
    let update = std::env::var_os("MORAPI_UPDATE_README").is_some();
    let mut stale = Vec::new();
    for command in GENERATED {
        let range = block(&readme, command);
        let wanted = output(command);
        if readme[range.clone()].trim() != wanted.trim() {
            stale.push(*command);
            // Blank lines around the table keep Markdown from reading the markers as rows.
            readme.replace_range(range, &format!("\n{}\n", wanted.trim()));
        }
    }
    if update && !stale.is_empty() {
        std::fs::write(&path, &readme).expect("write README.md");
        return;
    }
    assert!(
        stale.is_empty(),
        "README.md's table differs from the output of: {}. Regenerate with \
         `MORAPI_UPDATE_README=1 cargo test --test readme`, or paste each command's output between its markers.",
        stale.join(", ")
    );
}

#[test]
fn blocks_are_found_between_their_own_markers() {
    let readme = "a\n<!-- generated: morapi docs x -->\n\n| t |\n\n<!-- end generated -->\nb\n\
                  <!-- generated: morapi docs y -->\n| u |\n<!-- end generated -->\n";
    assert_eq!(readme[block(readme, "morapi docs x")].trim(), "| t |");
    assert_eq!(readme[block(readme, "morapi docs y")].trim(), "| u |");
}
