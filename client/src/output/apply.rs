//! What `apply` and `diff` print.

use serde::Serialize;
use similar::TextDiff;

use crate::manifest::{Action, Change, Plan};

/// The result of `apply` in JSON/YAML.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyOut {
    /// The revision written, or (dry run / nothing to do) the revision compared against.
    pub revision: u64,
    pub dry_run: bool,
    /// Whether anything was written.
    pub written: bool,
    pub changes: Vec<ChangeOut>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// One object's change.
#[derive(Debug, Serialize)]
pub struct ChangeOut {
    pub kind: String,
    pub name: String,
    pub action: Action,
}

impl ApplyOut {
    pub fn new(plan: &Plan, revision: u64, dry_run: bool, warnings: &[String]) -> Self {
        let changes: Vec<ChangeOut> = plan
            .changes
            .iter()
            .map(|c| ChangeOut {
                kind: c.kind.to_string(),
                name: c.name.clone(),
                action: c.action,
            })
            .collect();
        let written = !dry_run && changes.iter().any(|c| c.action.writes());
        ApplyOut {
            revision,
            dry_run,
            written,
            changes,
            warnings: warnings.to_vec(),
        }
    }
}

/// `kind/name action` lines and a summary, kubectl style.
pub fn apply_text(out: &ApplyOut) -> String {
    let mut text = String::new();
    for c in &out.changes {
        let action = serde_json::to_value(c.action)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let dry = if out.dry_run && c.action.writes() {
            " (dry run)"
        } else {
            ""
        };
        text.push_str(&format!("{}/{} {action}{dry}\n", c.kind, c.name));
    }
    let changed = out.changes.iter().filter(|c| c.action.writes()).count();
    text.push_str(&if changed == 0 {
        format!("no changes (revision {})\n", out.revision)
    } else if out.dry_run {
        format!(
            "dry run: {changed} change(s) validated by the leader against revision {}; nothing written\n",
            out.revision
        )
    } else {
        format!("{changed} change(s) applied at revision {}\n", out.revision)
    });
    text
}

/// A unified diff (live → file) of every object that would change, specs shown as YAML.
pub fn diff_text(plan: &Plan) -> String {
    let mut text = String::new();
    for change in plan.changes.iter().filter(|c| c.action.writes()) {
        text.push_str(&object_diff(change));
    }
    if text.is_empty() {
        text.push_str("no differences\n");
    }
    text
}

fn object_diff(change: &Change) -> String {
    let yaml = |spec: &Option<serde_json::Value>| match spec {
        Some(v) => serde_yaml_ng::to_string(v).unwrap_or_else(|e| format!("# {e}\n")),
        None => String::new(),
    };
    let (before, after) = (yaml(&change.before), yaml(&change.after));
    let id = format!("{}/{}", change.kind, change.name);
    let old = if change.before.is_some() {
        format!("live/{id}")
    } else {
        "/dev/null".to_string()
    };
    let new = if change.after.is_some() {
        format!("file/{id}")
    } else {
        "/dev/null".to_string()
    };
    TextDiff::from_lines(&before, &after)
        .unified_diff()
        .context_radius(3)
        .header(&old, &new)
        .to_string()
}
