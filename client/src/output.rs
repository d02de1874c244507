//! Everything `raftgatectl` prints on stdout: the JSON/YAML shapes scripts rely on (serde structs,
//! so field order is stable) and the human tables. Rendering returns a `String`; the commands
//! write it with [`emit`]. One submodule per command group: objects, cluster, watch.

mod apply;
mod cluster;
mod objects;
mod watch;

pub use apply::{apply_text, diff_text, ApplyOut};
pub use cluster::{status_table, wait_table, AppliedOut, MembershipOut, StatusOut, WaitOut};
pub use objects::{items_table, parse_spec, GetOut, Item, ListOut};
pub use watch::{watch_event, WATCH_HEADER};

use std::io::Write;

use anyhow::Result;
use raftgate_proto::Kind;
use serde::Serialize;

use crate::cli::Output;

/// Writes `text` to stdout.
pub fn emit(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Renders `value` as pretty JSON, YAML, or the table `table` draws.
pub fn render<T: Serialize>(
    format: Output,
    value: &T,
    table: impl FnOnce(&T) -> String,
) -> Result<String> {
    Ok(match format {
        Output::Json => serde_json::to_string_pretty(value)? + "\n",
        Output::Yaml => serde_yaml_ng::to_string(value)?,
        Output::Table => table(value),
    })
}

/// The word used for a kind in messages and output: `router`, `service`, `middleware`.
pub fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Router => "router",
        Kind::Service => "service",
        Kind::Middleware => "middleware",
        Kind::ServersTransport => "serversTransport",
        Kind::Unspecified => "unknown",
    }
}

/// The answer to a write.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WriteOut {
    pub revision: u64,
    pub leader_id: u64,
}

/// `router/api created (revision 5)`, or the compact JSON / YAML of the answer.
pub fn write_result(
    format: Output,
    kind: Kind,
    name: &str,
    verb: &str,
    out: &WriteOut,
) -> Result<String> {
    Ok(match format {
        Output::Json => serde_json::to_string(out)? + "\n",
        Output::Yaml => serde_yaml_ng::to_string(out)?,
        Output::Table => format!(
            "{}/{name} {verb} (revision {})\n",
            kind_name(kind),
            out.revision
        ),
    })
}

// ---------------------------------------------------------------- tables

/// Left-aligned columns separated by two spaces; the last column is not padded.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else {
                s.push_str(cell);
                s.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(headers.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
pub(crate) fn test_object(
    kind: Kind,
    name: &str,
    spec: serde_json::Value,
    rev: u64,
) -> raftgate_proto::Object {
    raftgate_proto::Object {
        kind: kind as i32,
        name: name.into(),
        spec_json: serde_json::to_vec(&spec).unwrap(),
        create_revision: rev - 1,
        mod_revision: rev,
        managed_by: "cli".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_results() {
        let out = WriteOut {
            revision: 5,
            leader_id: 1,
        };
        assert_eq!(
            write_result(Output::Table, Kind::Router, "api", "created", &out).unwrap(),
            "router/api created (revision 5)\n"
        );
        assert_eq!(
            write_result(Output::Json, Kind::Router, "api", "created", &out).unwrap(),
            "{\"revision\":5,\"leaderId\":1}\n"
        );
        assert_eq!(
            write_result(Output::Yaml, Kind::Router, "api", "created", &out).unwrap(),
            "revision: 5\nleaderId: 1\n"
        );
    }

    #[test]
    fn tables_align_columns_and_trim_the_last() {
        let rows = vec![
            vec!["a".to_string(), "-".to_string()],
            vec!["long-name".to_string(), "x y".to_string()],
        ];
        assert_eq!(
            table(&["NAME", "TYPE"], &rows),
            "NAME       TYPE\na          -\nlong-name  x y\n"
        );
    }
}
