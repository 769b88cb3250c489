//! `serve --config FILE` and `morapi config`: serve's settings from a TOML file, below the
//! command line and the environment and above the defaults.
//!
//! The file's keys are serve's long flags in snake_case (`--db-pool-size` is `db_pool_size`),
//! read from clap's own definition of `serve`: a new flag is a new key, a new line of `morapi
//! config` and of the sample, with nothing to add here. A value from the file is handed to clap
//! as the flag it stands for (`--db-pool-size=16`) when neither the command line nor the
//! environment gives that setting, and the command line is parsed again: the file's values pass
//! the same parsers and the same rules (`requires`, …) as flags. Each value is also checked on
//! its own first, so that a refusal names the file and the key.

use super::db::{self, DATABASE, DATABASE_FILE};
use super::run::Usage;
use clap::builder::BoolishValueParser;
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command};
use std::any::TypeId;
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
// No argument group of its own: it would take the name `Opts`, which serve's options have.
#[group(skip)]
pub struct Opts {
    #[command(flatten)]
    pub serve: super::serve::Opts,
    /// Print a sample config file instead: every key, commented out, with its help and default.
    #[arg(long)]
    pub sample: bool,
}

/// The parsed command line once the config file is taken in, and which settings the file gave.
#[derive(Debug)]
pub struct Layered {
    pub matches: ArgMatches,
    /// The config file, when one was read.
    pub file: Option<PathBuf>,
    /// The ids of the arguments whose values come from the file (not overridden).
    pub from_file: BTreeSet<String>,
}

/// serve's argument naming the config file (`--config`, `MORAPI_CONFIG`).
const CONFIG: &str = "config";
/// `morapi config --sample`.
const SAMPLE: &str = "sample";
/// The commands that take serve's settings, and so a config file.
const COMMANDS: [&str; 2] = ["serve", "config"];
/// Settings that name one thing in two ways: the file gives neither when the command line or the
/// environment gives one of them, and the file cannot give both.
const ALTERNATIVES: &[[&str; 2]] = &[[DATABASE, DATABASE_FILE]];
/// Width the sample's comments are wrapped to.
const WIDTH: usize = 100;

/// Boolean flags read from the environment take `1`/`0`, `true`/`false`, `yes`/`no`, `on`/`off`
/// (as systemd units and shell scripts write them), not only clap's `true`/`false`: every
/// command's, so that no flag added later can forget it.
pub fn boolish_env(cmd: Command) -> Command {
    cmd.mut_args(|arg| {
        if arg.get_env().is_some() && matches!(arg.get_action(), ArgAction::SetTrue | ArgAction::SetFalse) {
            arg.value_parser(BoolishValueParser::new())
        } else {
            arg
        }
    })
    .mut_subcommands(boolish_env)
}

/// Takes in the config file of `serve` or `config` (`--config FILE` or `MORAPI_CONFIG`), if
/// one is named: its settings that no flag or environment variable gives are appended to `argv`
/// as flags, and `argv` is parsed again. Any other command line is returned as it is.
pub fn layer(matches: ArgMatches, argv: Vec<OsString>) -> anyhow::Result<Layered> {
    let path = match matches.subcommand() {
        Some((name, sub)) if COMMANDS.contains(&name) && !matches!(sub.try_get_one::<bool>(SAMPLE), Ok(Some(true))) => {
            sub.get_one::<PathBuf>(CONFIG).cloned()
        }
        _ => None,
    };
    let Some(path) = path else { return Ok(Layered { matches, file: None, from_file: BTreeSet::new() }) };
    let (extra, from_file) = {
        let sub = matches.subcommand().map(|(_, sub)| sub).ok_or_else(|| anyhow::anyhow!("no command"))?;
        file_arguments(&path, &read(&path)?, sub)?
    };
    let matches = if extra.is_empty() {
        matches
    } else {
        super::command()
            .try_get_matches_from(argv.into_iter().chain(extra))
            .map_err(|e| Usage(format!("{}: {}", path.display(), reason(&e))))?
    };
    Ok(Layered { matches, file: Some(path), from_file })
}

/// The flags that stand for the file's settings, and the ids of the settings they give: every
/// key is checked, also those the command line or the environment overrides.
fn file_arguments(
    path: &Path,
    table: &toml::Table,
    sub: &ArgMatches,
) -> Result<(Vec<OsString>, BTreeSet<String>), Usage> {
    let serve = &serve_command()?;
    let refused = |problem: String| Usage(format!("{}: {problem}", path.display()));
    for pair in ALTERNATIVES {
        let [a, b] = pair.map(|id| serve.get_arguments().find(|arg| arg.get_id() == id).map(key));
        if let (Some(a), Some(b)) = (a, b)
            && table.contains_key(&a)
            && table.contains_key(&b)
        {
            return Err(refused(format!("{a} and {b} both name the same thing: keep one")));
        }
    }
    let (mut extra, mut from_file) = (Vec::new(), BTreeSet::new());
    for (name, value) in table {
        let arg = settings(serve).find(|arg| key(arg) == *name).ok_or_else(|| refused(unknown(serve, name)))?;
        let id = arg.get_id().as_str();
        if id == CONFIG {
            return Err(refused(format!("{name}: a config file cannot name another one")));
        }
        let flags = arguments(arg, value).map_err(|problem| {
            let shown = if arg.is_hide_env_values_set() { "***".to_string() } else { value.to_string() };
            refused(format!("{name} = {shown}: {problem}"))
        })?;
        if !given_above_file(sub, id) {
            extra.extend(flags);
            from_file.insert(id.to_string());
        }
    }
    Ok((extra, from_file))
}

/// Why `name` is not a key, with what it may have meant.
fn unknown(serve: &Command, name: &str) -> String {
    let snake = name.replace('-', "_");
    if settings(serve).any(|arg| key(arg) == snake) {
        return format!("unknown key `{name}`: keys are written in snake_case, `{snake}`");
    }
    let keys: Vec<String> = settings(serve).filter(|arg| arg.get_id() != CONFIG).map(key).collect();
    format!("unknown key `{name}`; the keys are {}", keys.join(", "))
}

/// Whether the command line or the environment gives setting `id` (or its alternative), so that
/// the file's value is not used.
fn given_above_file(sub: &ArgMatches, id: &str) -> bool {
    let given = |id: &str| matches!(sub.value_source(id), Some(ValueSource::CommandLine | ValueSource::EnvVariable));
    given(id) || ALTERNATIVES.iter().filter(|pair| pair.contains(&id)).flatten().any(|other| given(other))
}

/// The config file's table; a file that cannot be read or is not TOML is refused. The TOML
/// error is given by its line and message only: its usual excerpt of the file could show a
/// password.
fn read(path: &Path) -> Result<toml::Table, Usage> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Usage(format!("cannot read the config file {}: {e}", path.display())))?;
    text.parse::<toml::Table>().map_err(|e| {
        let line = e.span().map_or(1, |span| text[..span.start.min(text.len())].matches('\n').count() + 1);
        Usage(format!("{}, line {line}: not valid TOML: {}", path.display(), e.message().trim_end()))
    })
}

/// The `serve` subcommand, built (so that flags have their implicit `false` default).
fn serve_command() -> Result<Command, Usage> {
    let mut cli = super::command();
    cli.build();
    cli.find_subcommand("serve").cloned().ok_or_else(|| Usage("there is no serve command".into()))
}

/// serve's settings: its arguments with a long name, except help and version.
fn settings(serve: &Command) -> impl Iterator<Item = &Arg> {
    serve.get_arguments().filter(|arg| {
        arg.get_long().is_some()
            && !matches!(
                arg.get_action(),
                ArgAction::Help | ArgAction::HelpShort | ArgAction::HelpLong | ArgAction::Version
            )
    })
}

/// A setting's key in the file: its long flag in snake_case.
fn key(arg: &Arg) -> String {
    arg.get_long().unwrap_or_default().replace('-', "_")
}

/// What a setting's value is, as far as the file's types go: from the type clap parses it into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A flag without a value: `true` in the file gives the flag (`false`, for a flag that turns
    /// something off).
    Flag {
        sets: bool,
    },
    Bool,
    Integer,
    Float,
    /// A string or a path.
    Text,
    /// Parsed by a parser of the flag's own (a list, a duration, a choice): a string, or a number
    /// for the parser to judge.
    Other,
    /// Counted flags (`-vvv`): not settable in the file.
    Counted,
}

impl Kind {
    fn of(arg: &Arg) -> Kind {
        match arg.get_action() {
            ArgAction::SetTrue => return Kind::Flag { sets: true },
            ArgAction::SetFalse => return Kind::Flag { sets: false },
            ArgAction::Count => return Kind::Counted,
            _ => {}
        }
        let parsed = arg.get_value_parser().type_id();
        let is = |types: &[TypeId]| types.iter().any(|t| parsed == *t);
        if is(&[TypeId::of::<bool>()]) {
            Kind::Bool
        } else if is(&[
            TypeId::of::<u8>(),
            TypeId::of::<u16>(),
            TypeId::of::<u32>(),
            TypeId::of::<u64>(),
            TypeId::of::<usize>(),
            TypeId::of::<i8>(),
            TypeId::of::<i16>(),
            TypeId::of::<i32>(),
            TypeId::of::<i64>(),
            TypeId::of::<isize>(),
        ]) {
            Kind::Integer
        } else if is(&[TypeId::of::<f32>(), TypeId::of::<f64>()]) {
            Kind::Float
        } else if is(&[TypeId::of::<String>(), TypeId::of::<PathBuf>(), TypeId::of::<OsString>()]) {
            Kind::Text
        } else {
            Kind::Other
        }
    }

    fn expected(self) -> &'static str {
        match self {
            Kind::Flag { .. } | Kind::Bool => "true or false",
            Kind::Integer => "an integer",
            Kind::Float => "a number",
            Kind::Text => "a string",
            Kind::Other => "a string",
            Kind::Counted => "nothing: it cannot be set in a config file",
        }
    }

    /// A scalar of the file as the text a flag would carry.
    fn text(self, value: &toml::Value) -> Result<String, String> {
        use toml::Value as V;
        match (self, value) {
            (Kind::Text | Kind::Other, V::String(s)) => Ok(s.clone()),
            (Kind::Bool, V::Boolean(b)) => Ok(b.to_string()),
            (Kind::Integer | Kind::Float | Kind::Other, V::Integer(i)) => Ok(i.to_string()),
            (Kind::Float | Kind::Other, V::Float(f)) => Ok(f.to_string()),
            _ => Err(format!("expected {}, found {}", self.expected(), value.type_str())),
        }
    }

    /// A value as TOML: bare when it is a TOML value of this kind, else a quoted string.
    fn render(self, raw: &str) -> String {
        let bare = format!("v = {raw}").parse::<toml::Table>().ok().and_then(|mut t| t.remove("v"));
        match (self, bare) {
            (Kind::Flag { .. } | Kind::Bool, Some(toml::Value::Boolean(_)))
            | (Kind::Integer | Kind::Other, Some(toml::Value::Integer(_)))
            | (Kind::Float | Kind::Other, Some(toml::Value::Float(_))) => raw.to_string(),
            // A whole number of a float setting written as one (`5.0`, not `5`).
            (Kind::Float, Some(toml::Value::Integer(_))) => format!("{raw}.0"),
            _ => toml::Value::String(raw.to_string()).to_string(),
        }
    }
}

/// Whether a setting takes a list (an array in the file).
fn takes_list(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::Append) || arg.get_value_delimiter().is_some()
}

/// The flags that give `value` to the setting `arg`, each value checked by the flag's own parser.
fn arguments(arg: &Arg, value: &toml::Value) -> Result<Vec<OsString>, String> {
    let long = arg.get_long().unwrap_or_default();
    let kind = Kind::of(arg);
    match (kind, value) {
        (Kind::Flag { sets }, toml::Value::Boolean(b)) => {
            return Ok(if *b == sets { vec![format!("--{long}").into()] } else { Vec::new() });
        }
        (Kind::Flag { .. } | Kind::Counted, _) => {
            return Err(format!("expected {}, found {}", kind.expected(), value.type_str()));
        }
        _ => {}
    }
    let values = match value {
        toml::Value::Array(items) if takes_list(arg) => {
            items.iter().map(|item| kind.text(item)).collect::<Result<Vec<_>, _>>()?
        }
        toml::Value::Array(_) => return Err(format!("expected {}, found an array", kind.expected())),
        scalar => vec![kind.text(scalar)?],
    };
    for v in &values {
        check(arg, v)?;
    }
    Ok(match arg.get_value_delimiter() {
        Some(d) if !matches!(arg.get_action(), ArgAction::Append) => {
            vec![format!("--{long}={}", values.join(&d.to_string())).into()]
        }
        _ => values.iter().map(|v| format!("--{long}={v}").into()).collect(),
    })
}

/// Whether the flag's parser takes `value`, and if not, why: the parser alone, on a command of
/// its own, so that the answer concerns this value and nothing else.
fn check(arg: &Arg, value: &str) -> Result<(), String> {
    let long = arg.get_long().unwrap_or_default().to_string();
    let mut probe =
        Arg::new("value").long(long.clone()).action(ArgAction::Set).value_parser(arg.get_value_parser().clone());
    if let Some(names) = arg.get_value_names() {
        probe = probe.value_names(names.to_vec());
    }
    Command::new("morapi")
        .no_binary_name(true)
        .arg(probe)
        .try_get_matches_from([format!("--{long}={value}")])
        .map(drop)
        .map_err(|e| reason(&e))
}

/// A clap error as one line, without its `error:` prefix and help hint: its cause when it has
/// one (`invalid digit found in string`), else its first paragraph.
fn reason(e: &clap::Error) -> String {
    if let Some(cause) = std::error::Error::source(e) {
        return cause.to_string();
    }
    let rendered = e.render().to_string();
    let first = rendered.split("\n\n").next().unwrap_or_default();
    let text = first.split_whitespace().collect::<Vec<_>>().join(" ");
    text.strip_prefix("error: ").unwrap_or(&text).to_string()
}

/// `morapi config`: the configuration serve would run with, or (`--sample`) a config file.
pub fn run(opts: Opts, layered: &Layered) -> anyhow::Result<()> {
    let serve = &serve_command()?;
    if opts.sample {
        print!("{}", sample(serve));
        return Ok(());
    }
    let sub = layered.matches.subcommand_matches("config").ok_or_else(|| anyhow::anyhow!("no config command"))?;
    print!("{}", effective(serve, sub, layered)?);
    Ok(())
}

/// One line per setting: `key = value  # where it comes from`, with secrets masked; settings
/// nobody gives as `# key  # not set`. The lines are TOML, so that they can start a config file.
fn effective(serve: &Command, sub: &ArgMatches, layered: &Layered) -> Result<String, Usage> {
    let database = db::resolve(sub).map_err(Usage)?;
    let mut lines = Vec::new();
    for arg in settings(serve) {
        let id = arg.get_id().as_str();
        let mut source = match (layered.from_file.contains(id), &layered.file, sub.value_source(id)) {
            (true, Some(file), _) => format!("file {}", file.display()),
            (_, _, Some(ValueSource::CommandLine)) => "flag".into(),
            (_, _, Some(ValueSource::EnvVariable)) => {
                format!("env {}", arg.get_env().map(|e| e.to_string_lossy()).unwrap_or_default())
            }
            (_, _, Some(ValueSource::DefaultValue)) => "default".into(),
            _ => "not set".into(),
        };
        let value = if id == DATABASE {
            if let Some(file) = &database.file {
                source = format!("read from {} (database_file)", file.display());
            }
            Some(Kind::Text.render(&mask(&database.url)))
        } else {
            if id == DATABASE_FILE && database.file.is_none() && sub.value_source(id).is_some() {
                source.push_str("; not used: database is given at a higher level");
            }
            shown(arg, sub)
        };
        lines.push(match value {
            Some(value) => (format!("{} = {value}", key(arg)), source),
            None => (format!("# {}", key(arg)), source),
        });
    }
    let width = lines.iter().map(|(left, _)| left.chars().count()).max().unwrap_or(0);
    let mut out = String::from(
        "# morapi serve: the configuration in effect (flags > environment > config file > defaults), \
         secrets masked\n",
    );
    for (left, source) in lines {
        out.push_str(&format!("{left:width$}  # {source}\n"));
    }
    Ok(out)
}

/// A setting's value as TOML, secrets masked; `None` when it has none.
fn shown(arg: &Arg, sub: &ArgMatches) -> Option<String> {
    let id = arg.get_id().as_str();
    let kind = Kind::of(arg);
    if let Kind::Flag { .. } = kind {
        return sub.try_get_one::<bool>(id).ok().flatten().map(bool::to_string);
    }
    let secret = arg.is_hide_env_values_set();
    let values: Vec<String> = sub
        .get_raw(id)?
        .map(|v| {
            let v = v.to_string_lossy();
            kind.render(&if secret { mask(&v) } else { v.into_owned() })
        })
        .collect();
    Some(if takes_list(arg) { format!("[{}]", values.join(", ")) } else { values.join(" ") })
}

/// A secret as it may be shown: a URL with its password as `***`, anything else as `***`.
fn mask(secret: &str) -> String {
    if secret.contains("://") { crate::storage::redact(secret) } else { "***".into() }
}

/// A config file with every setting commented out: its help, its flag and variable, its
/// default (or a placeholder when it has none).
fn sample(serve: &Command) -> String {
    let mut out = String::new();
    for line in [
        "morapi serve configuration: `morapi serve --config FILE` (or MORAPI_CONFIG=FILE).",
        "",
        "Keys are serve's long flags in snake_case (--db-pool-size is db_pool_size). An unknown key, a value \
         of the wrong type or a value the flag would refuse stops morapi at start.",
        "Precedence: command-line flags > environment variables > this file > defaults.",
        "Every key is commented out with its default; `morapi config --config FILE` shows the values in \
         effect and where each comes from.",
    ] {
        push_comment(&mut out, line);
    }
    for arg in settings(serve).filter(|arg| arg.get_id() != CONFIG) {
        let kind = Kind::of(arg);
        out.push('\n');
        let help = arg.get_long_help().or(arg.get_help()).map(ToString::to_string).unwrap_or_default();
        for paragraph in help.lines() {
            // clap drops the full stop of a one-sentence doc comment; a comment has it back.
            let stop = if paragraph.ends_with(['.', ':', '!', '?', '…']) || paragraph.is_empty() { "" } else { "." };
            push_comment(&mut out, &format!("{paragraph}{stop}"));
        }
        let mut names = format!("Flag --{}", arg.get_long().unwrap_or_default());
        if let Some(env) = arg.get_env() {
            names.push_str(&format!(", environment {}", env.to_string_lossy()));
        }
        push_comment(&mut out, &format!("{names}."));
        let choices: Vec<String> =
            arg.get_possible_values().iter().filter(|v| !v.is_hide_set()).map(|v| v.get_name().to_string()).collect();
        if !choices.is_empty() && !matches!(kind, Kind::Flag { .. } | Kind::Bool) {
            push_comment(&mut out, &format!("One of: {}.", choices.join(", ")));
        }
        let defaults: Vec<String> = arg.get_default_values().iter().map(|v| v.to_string_lossy().into_owned()).collect();
        let value = if defaults.is_empty() {
            push_comment(&mut out, "Not set by default.");
            let placeholder = arg.get_value_names().and_then(|n| n.first()).map(ToString::to_string);
            kind.render(&placeholder.unwrap_or_else(|| arg.get_id().as_str().to_uppercase()))
        } else if takes_list(arg) {
            format!("[{}]", defaults.iter().map(|d| kind.render(d)).collect::<Vec<_>>().join(", "))
        } else {
            kind.render(&defaults.join(" "))
        };
        out.push_str(&format!("#{} = {value}\n", key(arg)));
    }
    out
}

/// `text` as `# ` comment lines of at most [`WIDTH`] characters (an empty text: a lone `#`).
fn push_comment(out: &mut String, text: &str) {
    let mut line = String::from("#");
    for word in text.split_whitespace() {
        if line.len() > 1 && line.chars().count() + 1 + word.chars().count() > WIDTH {
            out.push_str(&line);
            out.push('\n');
            line = String::from("#");
        }
        line.push(' ');
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve() -> Command {
        serve_command().expect("serve")
    }

    #[test]
    fn kinds_come_from_the_parsers() {
        let serve = serve();
        let kind = |id: &str| Kind::of(serve.get_arguments().find(|a| a.get_id() == id).expect(id));
        assert_eq!(kind("listen"), Kind::Text);
        assert_eq!(kind("demo"), Kind::Flag { sets: true });
        assert_eq!(kind("db_pool_size"), Kind::Integer);
        assert_eq!(kind("db_pool_size"), Kind::Integer);
        assert_eq!(kind("db_timeout"), Kind::Other);
        assert_eq!(kind("trusted_proxies"), Kind::Other);
    }

    #[test]
    fn values_are_rendered_as_toml_of_their_kind() {
        assert_eq!(Kind::Integer.render("16"), "16");
        assert_eq!(Kind::Float.render("5"), "5.0");
        assert_eq!(Kind::Float.render("0.5"), "0.5");
        assert_eq!(Kind::Text.render("127.0.0.1:8080"), "\"127.0.0.1:8080\"");
        assert_eq!(Kind::Text.render("16"), "\"16\"");
        assert_eq!(Kind::Integer.render("FILE"), "\"FILE\"");
        // A parser of the flag's own takes numbers too: a number stays one.
        assert_eq!(Kind::Other.render("30"), "30");
        assert_eq!(Kind::Other.render("30s"), "\"30s\"");
        assert_eq!(Kind::Other.render("true"), "\"true\"");
        assert_eq!(Kind::Text.render("a \"b\"\\"), r#"'a "b"\'"#);
    }

    #[test]
    fn file_values_are_checked_by_type_and_by_the_flags_parser() {
        let serve = serve();
        let arg = |id: &str| serve.get_arguments().find(|a| a.get_id() == id).expect(id).clone();
        let v = |s: &str| format!("v = {s}").parse::<toml::Table>().expect("toml").remove("v").expect("v");
        let args = |id: &str, value: &str| {
            arguments(&arg(id), &v(value))
                .map(|a| a.iter().map(|s| s.to_string_lossy().into_owned()).collect::<Vec<_>>())
        };
        assert_eq!(args("db_pool_size", "8"), Ok(vec!["--db-pool-size=8".to_string()]));
        assert_eq!(args("db_timeout", "2"), Ok(vec!["--db-timeout=2".to_string()]));
        assert_eq!(args("demo", "true"), Ok(vec!["--demo".to_string()]));
        assert_eq!(args("demo", "false"), Ok(vec![]));
        assert_eq!(args("listen", "\"[::1]:80\""), Ok(vec!["--listen=[::1]:80".to_string()]));
        let refused = |id: &str, value: &str| args(id, value).expect_err(value);
        assert_eq!(refused("db_pool_size", "\"8\""), "expected an integer, found string");
        assert_eq!(refused("listen", "8080"), "expected a string, found integer");
        assert_eq!(refused("demo", "1"), "expected true or false, found integer");
        assert_eq!(refused("listen", "[\"a\"]"), "expected a string, found an array");
        assert!(refused("db_pool_size", "-1").contains("not in 1..=1000"), "{}", refused("db_pool_size", "-1"));
        assert!(refused("trusted_proxies", "\"not-a-network\"").contains("not-a-network"));
    }

    #[test]
    fn only_settings_nobody_gives_come_from_the_file() {
        let m = super::super::command()
            .try_get_matches_from(["morapi", "serve", "--listen", "127.0.0.1:1", "--database-file", "/x"])
            .expect("parses");
        let sub = m.subcommand_matches("serve").expect("serve");
        assert!(given_above_file(sub, "listen"));
        assert!(given_above_file(sub, DATABASE), "its alternative is given");
        assert!(!given_above_file(sub, "db_pool_size"), "a default");
        assert!(!given_above_file(sub, "tls_cert"), "absent");
    }

    #[test]
    fn comments_wrap() {
        let mut out = String::new();
        push_comment(&mut out, &"word ".repeat(40));
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines.iter().all(|l| l.starts_with("# ") && l.len() <= WIDTH), "{out}");
        assert!(lines[..lines.len() - 1].iter().all(|l| l.len() > WIDTH - 6), "full lines: {out}");
        assert_eq!(out.split_whitespace().filter(|w| *w == "word").count(), 40);
    }
}
