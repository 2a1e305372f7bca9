//! `--config FILE`: a TOML file whose keys are the long flag names. Its values become the
//! flags' defaults, so the precedence is flag > env > file > built-in default, with clap doing
//! the merging. The `[kafka-property]` and `[kafka-secret-file]` tables are merged key by key
//! instead: a flag overrides one property, not the table. A key that names no flag is refused
//! with its line, not ignored.
//!
//! ```toml
//! sdk-app-id = ["1400000000"]
//! brokers = "kafka-1:9092,kafka-2:9092"
//! auth-token-file = "/var/run/secrets/tencent/token"
//! [kafka-property]
//! "security.protocol" = "SASL_SSL"
//! ```

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use toml_edit::{Document, Item, Value};

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("{path}:{line}: unknown key `{key}` (keys are the long flag names, e.g. `sdk-app-id`)")]
    UnknownKey { path: PathBuf, line: usize, key: String },
    #[error("{path}:{line}: `{key}`: {problem}")]
    BadValue {
        path: PathBuf,
        line: usize,
        key: String,
        problem: &'static str,
    },
}

/// The `--config` path from the command line or `BRIDGE_CONFIG`, found before clap runs
/// because the file's values must be in place as defaults when it does.
pub fn find_path(args: &[OsString]) -> Option<PathBuf> {
    let mut it = args.iter().skip(1);
    while let Some(arg) = it.next() {
        let arg = arg.to_string_lossy();
        if arg == "--config" {
            return it.next().map(PathBuf::from);
        }
        if let Some(p) = arg.strip_prefix("--config=") {
            return Some(PathBuf::from(p));
        }
    }
    std::env::var_os("BRIDGE_CONFIG")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
}

/// Reads `path` and sets each key's value as the default of the matching argument of `cmd`.
pub fn apply(cmd: clap::Command, path: &Path) -> Result<clap::Command, FileError> {
    let text = std::fs::read_to_string(path).map_err(|source| FileError::Read {
        path: path.into(),
        source,
    })?;
    let doc = Document::parse(text.as_str()).map_err(|e| FileError::Syntax {
        path: path.into(),
        message: e.to_string().trim().to_owned(),
    })?;
    let line_of = |key: &str| {
        let offset = doc.key(key).and_then(|k| k.span()).map_or(0, |s| s.start);
        text[..offset.min(text.len())].matches('\n').count() + 1
    };
    let mut cmd = cmd;
    for (key, item) in doc.iter() {
        let long = key.replace('_', "-");
        // Tables of properties go to their own hidden flags, so that a flag on the command
        // line overrides single keys rather than the whole table.
        let target = match long.as_str() {
            "kafka-property" | "kafka-secret-file" => format!("config-file-{long}"),
            "config" | "config-file-kafka-property" | "config-file-kafka-secret-file" => String::new(),
            _ => long.clone(),
        };
        let id = cmd
            .get_arguments()
            .find(|a| !target.is_empty() && a.get_long() == Some(target.as_str()))
            .map(|a| a.get_id().to_string());
        let Some(id) = id else {
            return Err(FileError::UnknownKey {
                path: path.into(),
                line: line_of(key),
                key: key.to_owned(),
            });
        };
        let values = values(item).map_err(|problem| FileError::BadValue {
            path: path.into(),
            line: line_of(key),
            key: key.to_owned(),
            problem,
        })?;
        // A value from the file satisfies a required flag.
        cmd = cmd.mut_arg(id, |a| a.default_values(values).required(false));
    }
    Ok(cmd)
}

/// A TOML value as the strings clap would have seen on the command line.
fn values(item: &Item) -> Result<Vec<String>, &'static str> {
    match item {
        Item::Value(Value::Array(array)) => array.iter().map(scalar).collect(),
        Item::Value(v) => Ok(vec![scalar(v)?]),
        // `[kafka-property]` "linger.ms" = "20"  →  linger.ms=20
        Item::Table(table) => table
            .iter()
            .map(|(k, v)| match v {
                Item::Value(v) => scalar(v).map(|v| format!("{k}={v}")),
                _ => Err("nested tables are not allowed here"),
            })
            .collect(),
        _ => Err("expected a value, an array or a table"),
    }
}

fn scalar(v: &Value) -> Result<String, &'static str> {
    match v {
        Value::String(s) => Ok(s.value().clone()),
        Value::Integer(i) => Ok(i.value().to_string()),
        Value::Boolean(b) => Ok(b.value().to_string()),
        _ => Err("expected a string, an integer or a boolean"),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn load(toml: &str, args: &[&str]) -> Result<Config, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bridge.toml");
        std::fs::write(&path, toml).unwrap();
        let mut argv: Vec<std::ffi::OsString> =
            vec!["tencent-kafka-bridge".into(), "--config".into(), path.into()];
        argv.extend(args.iter().map(Into::into));
        crate::cli::parse(argv)
            .map(|cli| cli.config)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn file_values_are_defaults_and_flags_win() {
        let toml = "sdk-app-id = [\"1\", \"2\"]\nlisten = \"127.0.0.1:9\"\nmax_body_bytes = 10\n[kafka-property]\n\"linger.ms\" = \"20\"\n";
        let cfg = load(toml, &[]).unwrap();
        assert_eq!(cfg.sdk_app_ids, ["1", "2"]);
        assert_eq!(cfg.max_body_bytes, 10);
        assert_eq!(
            cfg.kafka.kafka_properties,
            [("linger.ms".to_owned(), "20".to_owned())]
        );
        let cfg = load(toml, &["--listen", "127.0.0.1:7"]).unwrap();
        assert_eq!(cfg.listen.port(), 7);
    }

    #[test]
    fn a_property_flag_overrides_one_key_of_the_file_table() {
        let toml = "sdk-app-id = [\"1\"]\n[kafka-property]\n\"linger.ms\" = \"20\"\n\"ssl.cipher.suites\" = \"A,B\"\n";
        let cfg = load(toml, &["--kafka-property", "linger.ms=7"]).unwrap();
        let props = |key| crate::config::tests::property(&cfg, key);
        assert_eq!(props("linger.ms"), ["7"]);
        // A comma inside a file value is always part of it.
        assert_eq!(props("ssl.cipher.suites"), ["A,B"]);
        assert!(load(
            "sdk-app-id = [\"1\"]\nconfig-file-kafka-property = [\"a=b\"]\n",
            &[]
        )
        .is_err());
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let err = load("sdk-app-id = [\"1\"]\n\nlisen = \"x\"\n", &[]).unwrap_err();
        assert!(err.contains(":3: unknown key `lisen`"), "{err}");
    }

    #[test]
    fn syntax_errors_name_the_file() {
        let err = load("sdk-app-id = [", &[]).unwrap_err();
        assert!(err.contains("bridge.toml"), "{err}");
    }
}
