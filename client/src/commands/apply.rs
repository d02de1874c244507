//! `apply -f` and `diff -f`: compare files with the live config and write the difference as
//! one atomic Apply (one Raft entry, one revision).

use anyhow::Result;
use raftgate_model::Kind as ModelKind;
use raftgate_proto::{ApplyRequest, Kind, ListRequest, Object, ObjectRef, ReadOptions};
use tonic::Code;

use super::Ctx;
use crate::cli::{ApplyArgs, DiffArgs, FileArgs};
use crate::conn::{CallError, Failure, Op};
use crate::manifest::{self, LiveObject, Manifest, Plan};
use crate::output::{self, emit, parse_spec, ApplyOut};

/// How often an apply re-reads and retries when another write got in between.
const ATTEMPTS: usize = 3;

pub async fn apply(ctx: &Ctx, args: ApplyArgs) -> Result<()> {
    let manifest = load(&args.files)?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (live, revision) = read_live(ctx).await?;
        let plan = manifest::plan(&manifest, &live, args.prune)?;
        let revision = if plan.writes().next().is_none() {
            revision
        } else {
            match send(ctx, &plan, revision, args.dry_run).await {
                Ok(written) => written,
                Err(e) if attempt < ATTEMPTS && is_revision_conflict(&e) => continue,
                Err(e) => return Err(e.into()),
            }
        };
        let out = ApplyOut::new(&plan, revision, args.dry_run, &manifest.warnings);
        return Ok(emit(&output::render(
            ctx.output,
            &out,
            output::apply_text,
        )?)?);
    }
}

pub async fn diff(ctx: &Ctx, args: DiffArgs) -> Result<()> {
    let manifest = load(&args.files)?;
    let (live, _) = read_live(ctx).await?;
    let plan = manifest::plan(&manifest, &live, args.prune)?;
    Ok(emit(&output::diff_text(&plan))?)
}

/// Reads the files, printing their warnings on stderr.
fn load(files: &FileArgs) -> Result<Manifest> {
    let manifest = manifest::load(&files.files, std::io::stdin().lock())?;
    for warning in &manifest.warnings {
        eprintln!("warning: {warning}");
    }
    Ok(manifest)
}

/// Every live object, read through the leader, and the revision it reflects.
async fn read_live(ctx: &Ctx) -> Result<(Vec<LiveObject>, u64)> {
    let req = ListRequest {
        kind: Kind::Unspecified as i32,
        options: Some(ReadOptions {
            consistent: true,
            min_revision: 0,
        }),
    };
    let (resp, _) = ctx
        .conn
        .call(
            Op::Read,
            move |mut client| async move { client.list(req).await },
        )
        .await?;
    let live = resp
        .objects
        .iter()
        .filter_map(|o| {
            Some(LiveObject {
                kind: model_kind(o.kind())?,
                name: o.name.clone(),
                spec: parse_spec(&o.spec_json),
                managed_by: o.managed_by.clone(),
            })
        })
        .collect();
    Ok((live, resp.revision))
}

/// Sends the plan's writes as one Apply expecting `revision`; answers the new revision (the
/// current one for a dry run).
async fn send(ctx: &Ctx, plan: &Plan, revision: u64, dry_run: bool) -> Result<u64, CallError> {
    let mut req = ApplyRequest {
        expected_revision: Some(revision),
        dry_run,
        ..Default::default()
    };
    for change in plan.writes() {
        let kind = proto_kind(change.kind) as i32;
        match &change.after {
            Some(spec) => req.puts.push(Object {
                kind,
                name: change.name.clone(),
                spec_json: serde_json::to_vec(spec).unwrap_or_default(),
                managed_by: manifest::MANAGED_BY.to_string(),
                ..Default::default()
            }),
            None => req.deletes.push(ObjectRef {
                kind,
                name: change.name.clone(),
            }),
        }
    }
    let (resp, _) = ctx
        .conn
        .call(Op::Write, move |mut client| {
            let req = req.clone();
            async move { client.apply(req).await }
        })
        .await?;
    Ok(resp.revision)
}

/// The config moved between our read and our write: safe to read again and retry.
fn is_revision_conflict(e: &CallError) -> bool {
    matches!(&e.failure, Failure::Status(s)
        if s.code() == Code::FailedPrecondition && s.message().starts_with("config is at revision"))
}

fn model_kind(kind: Kind) -> Option<ModelKind> {
    match kind {
        Kind::Router => Some(ModelKind::Router),
        Kind::Service => Some(ModelKind::Service),
        Kind::Middleware => Some(ModelKind::Middleware),
        Kind::ServersTransport => Some(ModelKind::ServersTransport),
        Kind::Unspecified => None,
    }
}

fn proto_kind(kind: ModelKind) -> Kind {
    match kind {
        ModelKind::Router => Kind::Router,
        ModelKind::Service => Kind::Service,
        ModelKind::Middleware => Kind::Middleware,
        ModelKind::ServersTransport => Kind::ServersTransport,
    }
}
