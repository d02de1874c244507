//! Config files given to `apply -f` and `diff -f`.
//!
//! Two shapes are accepted, in YAML, TOML or JSON:
//! - Traefik's file-provider dynamic configuration: `http.routers`, `http.services`,
//!   `http.middlewares` and `http.serversTransports`, keyed by name. Sections raftgate does
//!   not run yet (`tcp`, `udp`, `tls`) are reported as warnings and not applied; any other key
//!   is an error.
//! - raftgatectl's own `get ... -o yaml|json` output (`items: [{kind, name, spec}]`, or one
//!   object), so an export can be applied back unchanged. Server-set fields (revisions,
//!   `managedBy`) are ignored.
//!
//! Every object is checked with the same model the server uses before anything is sent,
//! and an error names the file and the object's path in it (`a.yml: http.routers.api: ...`).

mod keys;
mod parse;
mod plan;
mod shape;
mod strict;

pub use plan::{plan, Action, Change, LiveObject, Plan, MANAGED_BY};

use std::io::Read;
use std::path::{Path, PathBuf};

use raftgate_model::Kind;
use serde_json::Value;

use crate::error::UsageError;

/// Largest file (or stdin) `apply -f` and `diff -f` read: far above any real dynamic
/// configuration (10 000 routers in Traefik's YAML take about 1.5 MiB).
pub const MAX_FILE_BYTES: u64 = 16 << 20;

/// One object read from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Its kind.
    pub kind: Kind,
    /// Its name.
    pub name: String,
    /// Its spec as the server stores it (parsed by the model and serialized back).
    pub spec: Value,
    /// Where it was read: `file: http.routers.api`.
    pub origin: String,
}

/// Everything read from the files given.
#[derive(Debug, Default)]
pub struct Manifest {
    /// The objects: files in the order given, each file's objects by kind then name.
    pub entries: Vec<Entry>,
    /// Parts of the files that were read but will not be applied.
    pub warnings: Vec<String>,
}

/// Reads `paths` (files, directories of `.yml`/`.yaml`/`.toml`/`.json` files, or `-` for
/// `stdin`) into one manifest. An object defined twice is an error naming both places. The
/// problems of every file are reported together, one per line.
pub fn load(paths: &[PathBuf], stdin: impl Read) -> Result<Manifest, UsageError> {
    let mut manifest = Manifest::default();
    let mut stdin = Some(stdin);
    let mut problems = Vec::new();
    for path in paths {
        let read = if path.as_os_str() == "-" {
            stdin
                .take()
                .ok_or_else(|| UsageError("`-f -` (stdin) can be given only once".into()))
                .and_then(|stdin| read_bounded("stdin", stdin))
                .and_then(|text| read_text("stdin", None, &text, &mut manifest))
        } else if path.is_dir() {
            dir_files(path).map(|files| {
                for file in files {
                    problems.extend(read_file(&file, &mut manifest).err());
                }
            })
        } else {
            read_file(path, &mut manifest)
        };
        problems.extend(read.err());
    }
    if !problems.is_empty() {
        let lines: Vec<String> = problems.into_iter().map(|p| p.0).collect();
        return Err(UsageError(lines.join("\n")));
    }
    Ok(manifest)
}

/// The config files of a directory (not recursive), sorted by name.
fn dir_files(dir: &Path) -> Result<Vec<PathBuf>, UsageError> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| UsageError(format!("{}: {e}", dir.display())))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| UsageError(format!("{}: {e}", dir.display())))?
            .path();
        if path.is_file() && parse::Format::from_path(&path).is_some() {
            files.push(path);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(UsageError(format!(
            "{}: no .yml, .yaml, .toml or .json file in this directory",
            dir.display()
        )));
    }
    Ok(files)
}

fn read_file(path: &Path, manifest: &mut Manifest) -> Result<(), UsageError> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| UsageError(format!("{name}: {e}")))?;
    let text = read_bounded(&name, file)?;
    read_text(&name, parse::Format::from_path(path), &text, manifest)
}

/// Reads at most [`MAX_FILE_BYTES`] of text, refusing anything longer.
fn read_bounded(name: &str, input: impl Read) -> Result<String, UsageError> {
    let mut text = String::new();
    input
        .take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| UsageError(format!("{name}: {e}")))?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(UsageError(format!(
            "{name}: larger than {MAX_FILE_BYTES} bytes, the most apply reads from one file"
        )));
    }
    Ok(text)
}

fn read_text(
    source: &str,
    format: Option<parse::Format>,
    text: &str,
    manifest: &mut Manifest,
) -> Result<(), UsageError> {
    let value = parse::parse(source, format, text)?;
    let (mut entries, warnings) = shape::entries(source, value)?;
    entries.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    for entry in entries {
        if let Some(first) = manifest
            .entries
            .iter()
            .find(|e| e.kind == entry.kind && e.name == entry.name)
        {
            return Err(UsageError(format!(
                "{} {:?} is defined twice: {} and {}",
                entry.kind, entry.name, first.origin, entry.origin
            )));
        }
        manifest.warnings.extend(rule_warnings(&entry));
        manifest.entries.push(entry);
    }
    manifest.warnings.extend(warnings);
    Ok(())
}

/// Advice about a router's rule that parses but is likely not what was meant: Traefik v2
/// `{name:regex}` placeholders, which v3 (and raftgate) match as literal text.
fn rule_warnings(entry: &Entry) -> Vec<String> {
    if entry.kind != Kind::Router {
        return Vec::new();
    }
    let Some(Ok(expr)) = entry
        .spec
        .get("rule")
        .and_then(Value::as_str)
        .map(raftgate_model::rule::parse)
    else {
        return Vec::new();
    };
    raftgate_model::rule::v2_placeholder_warnings(&expr)
        .into_iter()
        .map(|w| format!("{}: rule: {w}", entry.origin))
        .collect()
}

#[cfg(test)]
mod tests;
