//! `serve --config FILE`, `--database-file`, boolean environment variables and `morapi config`,
//! through the real binary: which value wins (flag > environment > file > default), what is
//! refused at start (exit 2, naming the file and the key), and that secrets are never printed.

mod common;
use common::{BIN, stop_server};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// `morapi ARGS` in `dir` with `env`, and no other `MORAPI_*` variable of the test's own
/// environment.
fn command(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).current_dir(dir);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("MORAPI_") {
            cmd.env_remove(name);
        }
    }
    cmd.envs(env.iter().copied());
    cmd
}

fn morapi(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    command(dir, args, env).output().expect("run morapi")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `morapi config ARGS`: each setting's value (`None` when not set) and where it comes from.
fn effective(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> BTreeMap<String, (Option<String>, String)> {
    let out = morapi(dir, &[&["config"], args].concat(), env);
    assert!(out.status.success(), "morapi config {args:?}: {}", stderr(&out));
    let text = stdout(&out);
    let mut lines = text.lines();
    assert!(lines.next().is_some_and(|l| l.starts_with("# morapi serve: the configuration in effect")), "{text}");
    lines
        .map(|line| {
            let (left, source) = line.split_once("  # ").unwrap_or_else(|| panic!("no source: {line}"));
            let (key, value) = match left.strip_prefix("# ") {
                Some(unset) => (unset.trim(), None),
                None => {
                    let (key, value) = left.split_once(" = ").unwrap_or_else(|| panic!("no value: {line}"));
                    (key, Some(value.trim().to_string()))
                }
            };
            (key.to_string(), (value, source.trim().to_string()))
        })
        .collect()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

fn setting(map: &BTreeMap<String, (Option<String>, String)>, key: &str) -> (String, String) {
    let (value, source) = map.get(key).unwrap_or_else(|| panic!("no {key} in {map:?}"));
    (value.clone().unwrap_or_default(), source.clone())
}

#[test]
fn flags_beat_the_environment_which_beats_the_file_which_beats_the_defaults() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let file =
        write(d, "morapi.toml", "listen = \"127.0.0.1:1001\"\ndb_pool_size = 4\ndb_timeout = 2.5\ndemo = true\n");
    let file_source = format!("file {file}");

    let defaults = effective(d, &[], &[]);
    assert_eq!(setting(&defaults, "listen"), ("\"127.0.0.1:8080\"".into(), "default".into()));
    assert_eq!(setting(&defaults, "db_pool_size"), ("16".into(), "default".into()));
    assert_eq!(setting(&defaults, "demo"), ("false".into(), "default".into()));
    assert_eq!(defaults["tls_cert"], (None, "not set".into()));

    let from_file = effective(d, &["--config", &file], &[]);
    assert_eq!(setting(&from_file, "listen"), ("\"127.0.0.1:1001\"".into(), file_source.clone()));
    assert_eq!(setting(&from_file, "db_pool_size"), ("4".into(), file_source.clone()));
    assert_eq!(setting(&from_file, "db_timeout"), ("2.5".into(), file_source.clone()));
    assert_eq!(setting(&from_file, "demo"), ("true".into(), file_source.clone()));
    assert_eq!(setting(&from_file, "config"), (format!("\"{file}\""), "flag".into()));
    // The file named by the environment works the same.
    assert_eq!(effective(d, &[], &[("MORAPI_CONFIG", &file)]), {
        let mut m = from_file.clone();
        m.insert("config".into(), (Some(format!("\"{file}\"")), "env MORAPI_CONFIG".into()));
        m
    });

    let env = [("MORAPI_LISTEN", "127.0.0.1:1002"), ("MORAPI_DB_POOL_SIZE", "5"), ("MORAPI_DEMO", "0")];
    let from_env = effective(d, &["--config", &file], &env);
    assert_eq!(setting(&from_env, "listen"), ("\"127.0.0.1:1002\"".into(), "env MORAPI_LISTEN".into()));
    assert_eq!(setting(&from_env, "db_pool_size"), ("5".into(), "env MORAPI_DB_POOL_SIZE".into()));
    assert_eq!(setting(&from_env, "demo"), ("false".into(), "env MORAPI_DEMO".into()));
    assert_eq!(setting(&from_env, "db_timeout"), ("2.5".into(), file_source.clone()), "not overridden");

    let from_flags = effective(d, &["--config", &file, "--listen", "127.0.0.1:1003", "--db-pool-size", "6"], &env);
    assert_eq!(setting(&from_flags, "listen"), ("\"127.0.0.1:1003\"".into(), "flag".into()));
    assert_eq!(setting(&from_flags, "db_pool_size"), ("6".into(), "flag".into()));
    assert_eq!(setting(&from_flags, "demo"), ("false".into(), "env MORAPI_DEMO".into()));
    assert_eq!(setting(&from_flags, "db_timeout"), ("2.5".into(), file_source));
}

#[test]
fn boolean_environment_variables_take_1_0_and_words() {
    let dir = tempfile::tempdir().expect("tmp");
    for (given, meant) in
        [("1", "true"), ("0", "false"), ("true", "true"), ("false", "false"), ("yes", "true"), ("off", "false")]
    {
        let map = effective(dir.path(), &[], &[("MORAPI_DEMO", given)]);
        assert_eq!(setting(&map, "demo"), (meant.into(), "env MORAPI_DEMO".into()), "MORAPI_DEMO={given}");
    }
    let out = morapi(dir.path(), &["config"], &[("MORAPI_DEMO", "maybe")]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("maybe"), "{}", stderr(&out));
}

/// Starts `morapi serve ARGS` and returns it with its base URL and what it printed until it
/// listened.
#[allow(clippy::zombie_processes)]
fn serve(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (std::process::Child, String, Vec<String>) {
    let mut child = command(dir, &[&["serve"], args].concat(), env)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).expect("read") == 0 {
            panic!("server exited early ({:?}): {lines:?}", child.wait());
        }
        lines.push(line.trim().to_string());
        if let Some(rest) = line.split("listening on ").nth(1) {
            let base = rest.split(',').next().expect("address").trim().to_string();
            std::thread::spawn(move || for _ in reader.lines() {});
            return (child, base, lines);
        }
    }
}

#[tokio::test]
async fn serve_runs_with_the_files_settings() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    // The database URL in a file of its own, named by the config file; the demo from the
    // environment, as systemd's Environment=MORAPI_DEMO=1 would give it.
    let db_path = d.join("served.db");
    let url_file = write(d, "database-url", &format!("sqlite://{}\n", db_path.display()));
    let config = write(d, "morapi.toml", &format!("listen = \"127.0.0.1:0\"\ndatabase_file = {url_file:?}\n"));
    let (child, base, lines) = serve(d, &["--config", &config], &[("MORAPI_DEMO", "1")]);
    assert!(lines.iter().any(|l| l == "morapi: demo data loaded"), "{lines:?}");
    assert!(lines.iter().any(|l| l.contains(&format!("database sqlite://{}", db_path.display()))), "{lines:?}");
    let health = reqwest::get(format!("{base}/health")).await.expect("health");
    assert_eq!(health.status(), 200);
    assert!(stop_server(child).success());
    assert!(db_path.exists(), "the database named by the URL file was used");
}

#[test]
fn bad_config_files_are_refused_at_start_naming_the_file_and_the_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let cases: &[(&str, &[&str])] = &[
        ("lisen = \"127.0.0.1:0\"\n", &["unknown key `lisen`", "listen"]),
        ("db-pool-size = 3\n", &["`db-pool-size`", "snake_case", "db_pool_size"]),
        ("db_pool_size = \"3\"\n", &["db_pool_size", "expected an integer"]),
        ("db_pool_size = -3\n", &["db_pool_size = -3", "not in 1..=1000"]),
        ("listen = 8080\n", &["listen", "expected a string"]),
        ("demo = 1\n", &["demo", "expected true or false"]),
        ("db_timeout = \"soon\"\n", &["db_timeout", "give a number of seconds"]),
        ("[server]\nlisten = \"x\"\n", &["unknown key `server`"]),
        ("listen = 127.0.0.1:0\n", &["line 1", "not valid TOML"]),
        ("config = \"other.toml\"\n", &["config", "cannot name another"]),
        ("database = \"sqlite://a.db\"\ndatabase_file = \"url\"\n", &["database and database_file", "keep one"]),
        ("tls_cert = \"cert.pem\"\n", &["--tls-key"]),
    ];
    for (text, expected) in cases {
        let file = write(d, "bad.toml", text);
        for command in ["serve", "config"] {
            let out = morapi(d, &[command, "--config", &file, "--listen", "127.0.0.1:0"], &[]);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{command} with {text:?}: {err}");
            assert!(err.contains(&file), "{command} with {text:?} names the file: {err}");
            for part in *expected {
                assert!(err.contains(part), "{command} with {text:?}: {part:?} in {err}");
            }
            assert!(stdout(&out).is_empty(), "nothing started: {}", stdout(&out));
        }
    }
    // A refused key stays refused when a flag overrides it: the file is wrong either way.
    let file = write(d, "bad.toml", "db_pool_size = \"many\"\n");
    assert_eq!(morapi(d, &["config", "--config", &file, "--db-pool-size", "2"], &[]).status.code(), Some(2));

    let missing = d.join("missing.toml").display().to_string();
    let out = morapi(d, &["serve", "--config", &missing], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(&format!("cannot read the config file {missing}")), "{}", stderr(&out));

    // The TOML error names the line without echoing it: it could hold a password.
    let file = write(d, "bad.toml", "database = postgres://app:s3cret@db/m\n");
    let out = morapi(d, &["serve", "--config", &file], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("line 1") && !stderr(&out).contains("s3cret"), "{}", stderr(&out));
}

/// Arguments and environment that `morapi` refuses, and what its message says.
type Refusal<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);

#[test]
fn the_database_url_is_read_from_a_file_and_its_password_never_shown() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let secret_url = write(d, "pg-url", "postgres://app:s3cret@db.example:5432/morapi\n\n");
    for (args, env, source) in [
        (vec!["--database-file", secret_url.as_str()], vec![], "flag"),
        (vec![], vec![("MORAPI_DATABASE_FILE", secret_url.as_str())], "env MORAPI_DATABASE_FILE"),
        // The flag is above the environment's URL.
        (vec!["--database-file", secret_url.as_str()], vec![("MORAPI_DATABASE", "sqlite://env.db")], "flag"),
    ] {
        let out = morapi(d, &[&["config"], args.as_slice()].concat(), &env);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(!stdout(&out).contains("s3cret"), "{}", stdout(&out));
        let map = effective(d, &args, &env);
        assert_eq!(
            setting(&map, "database"),
            ("\"postgres://app:***@db.example:5432/morapi\"".into(), format!("read from {secret_url} (database_file)"))
        );
        assert_eq!(setting(&map, "database_file"), (format!("\"{secret_url}\""), source.into()));
    }
    // A URL given in the file's place is masked as well.
    let map = effective(d, &["--database", "mysql://root:hunter2@h/db"], &[]);
    assert_eq!(setting(&map, "database"), ("\"mysql://root:***@h/db\"".into(), "flag".into()));

    // Above the config file's database_file: the environment's URL.
    let config = write(d, "morapi.toml", &format!("database_file = {secret_url:?}\n"));
    let map = effective(d, &["--config", &config], &[("MORAPI_DATABASE", "sqlite://env.db")]);
    assert_eq!(setting(&map, "database"), ("\"sqlite://env.db\"".into(), "env MORAPI_DATABASE".into()));
    assert_eq!(map["database_file"], (None, "not set".into()));

    // Refused: both at one level, an empty file, a missing file, for `config`, `serve` and an
    // administration command alike.
    let empty = write(d, "empty", " \n");
    let missing = d.join("missing").display().to_string();
    let refusals: Vec<Refusal> = vec![
        (vec!["--database-file", &secret_url, "--database", "sqlite://a.db"], vec![], "both name the database"),
        (
            vec![],
            vec![("MORAPI_DATABASE_FILE", secret_url.as_str()), ("MORAPI_DATABASE", "sqlite://a.db")],
            "are both set",
        ),
        (vec!["--database-file", &empty], vec![], "is empty"),
        (vec!["--database-file", &missing], vec![], "cannot read the database URL from"),
    ];
    for (args, env, expected) in &refusals {
        for command in [&["config"][..], &["serve"], &["user", "list"]] {
            let out = morapi(d, &[command, args.as_slice()].concat(), env);
            assert_eq!(out.status.code(), Some(2), "{command:?} {args:?} {env:?}: {}", stderr(&out));
            assert!(stderr(&out).contains(expected), "{command:?} {args:?}: {}", stderr(&out));
        }
    }

    // Every command takes the file: an administration command opens the database it names.
    let db = d.join("admin.db");
    let url = write(d, "sqlite-url", &format!("sqlite://{}\n", db.display()));
    let out = morapi(d, &["init"], &[("MORAPI_DATABASE_FILE", &url)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = morapi(d, &["user", "list", "--database-file", &url], &[]);
    assert!(out.status.success() && stdout(&out).contains("admin"), "{}{}", stdout(&out), stderr(&out));
    assert!(db.exists());
}

#[test]
fn the_sample_is_toml_with_every_key_and_its_defaults_are_accepted() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let out = morapi(d, &["config", "--sample"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let sample = stdout(&out);
    // As printed, everything is a comment.
    assert!(sample.parse::<toml::Table>().expect("the sample is TOML").is_empty(), "{sample}");
    // Uncommented, it is TOML with every setting but --config, each once.
    let uncommented: String = sample
        .lines()
        .filter_map(|l| l.strip_prefix('#').filter(|rest| rest.starts_with(|c: char| c.is_ascii_lowercase())))
        .map(|l| format!("{l}\n"))
        .collect();
    let table = uncommented.parse::<toml::Table>().expect("uncommented sample is TOML");
    let defaults = effective(d, &[], &[]);
    let keys: Vec<&String> = defaults.keys().filter(|k| *k != "config").collect();
    assert_eq!(table.keys().collect::<Vec<_>>(), keys, "{sample}");
    // Each key has its flag, its variable and its help above it.
    assert!(
        sample.contains("# Flag --db-pool-size, environment MORAPI_DB_POOL_SIZE.\n#db_pool_size = 16\n"),
        "{sample}"
    );

    // The keys that have a default, uncommented, are a config file that gives exactly the defaults.
    let with_defaults: String = uncommented
        .lines()
        .filter(|l| l.split(" = ").next().is_some_and(|k| defaults[k].1 == "default"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(with_defaults.contains("listen = ") && with_defaults.contains("demo = false"), "{with_defaults}");
    let file = write(d, "defaults.toml", &with_defaults);
    let from_file = effective(d, &["--config", &file], &[]);
    for (key, (value, source)) in &defaults {
        if source == "default" {
            assert_eq!(from_file[key], (value.clone(), format!("file {file}")), "{key}");
        }
    }
}
