//! Text to a JSON value: YAML, TOML or JSON, chosen by file extension or, for stdin and
//! unknown extensions, by content.

use std::path::Path;

use serde_json::Value;

use super::strict::StrictValue;
use crate::error::UsageError;

/// A config file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Toml,
    Json,
}

impl Format {
    /// The format a file's extension says, if it names one.
    pub fn from_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "yml" | "yaml" => Some(Format::Yaml),
            "toml" => Some(Format::Toml),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// Parses `text` read from `source`. Without a format: JSON if it starts with `{`, else YAML,
/// else TOML (a TOML table header such as `[http.routers.api]` reads as a YAML list, which
/// is not a config, so TOML is tried next).
pub fn parse(source: &str, format: Option<Format>, text: &str) -> Result<Value, UsageError> {
    if let Some(line) = template_line(text) {
        return Err(UsageError(format!(
            "{source}: line {line}: Go template syntax (`{{{{ ... }}}}`), which Traefik's file \
             provider renders and raftgatectl does not: render the file first (envsubst, \
             gomplate) and apply the result"
        )));
    }
    let err = |format: &str, e: String| UsageError(format!("{source}: not valid {format}: {e}"));
    match format {
        Some(Format::Json) => from_json(text).map_err(|e| err("JSON", e)),
        Some(Format::Toml) => from_toml(text).map_err(|e| err("TOML", e)),
        Some(Format::Yaml) => from_yaml(text).map_err(|e| err("YAML", e)),
        None if text.trim_start().starts_with('{') => from_json(text).map_err(|e| err("JSON", e)),
        None => match from_yaml(text) {
            Ok(v) if v.is_object() || v.is_null() => Ok(v),
            yaml => match from_toml(text) {
                Ok(v) => Ok(v),
                Err(toml_error) => match yaml {
                    Err(e) => Err(err("YAML", e)),
                    Ok(_) => Err(err("YAML or TOML", toml_error)),
                },
            },
        },
    }
}

fn from_yaml(text: &str) -> Result<Value, String> {
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_yaml_ng::from_str::<StrictValue>(text)
        .map(|v| v.0)
        .map_err(|e| e.to_string())
}

fn from_json(text: &str) -> Result<Value, String> {
    serde_json::from_str::<StrictValue>(text)
        .map(|v| v.0)
        .map_err(|e| e.to_string())
}

/// The 1-based line of the first `{{ … }}` Go template action, if the text holds one.
fn template_line(text: &str) -> Option<usize> {
    let open = text.find("{{")?;
    text[open..]
        .contains("}}")
        .then(|| text[..open].lines().count().max(1))
}

fn from_toml(text: &str) -> Result<Value, String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| squash(&e.to_string()))?;
    serde_json::to_value(table).map_err(|e| e.to_string())
}

fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
