//! Routers, services and middlewares: create, update (read, merge, write back with the read
//! mod_revision so a concurrent change is refused, never overwritten), delete, get, list.

use anyhow::{Context, Result};
use raftgate_proto::{
    CreateRequest, DeleteRequest, GetRequest, Kind, ListRequest, Object, ObjectRef, ReadOptions,
    UpdateRequest,
};
use serde_json::Value;

use super::spec::{self, RouterFields};
use super::Ctx;
use crate::cli::{CommonCmd, GetArgs, GetWhat, ReadArgs, RouterCmd, ServiceCmd, SpecCmd};
use crate::conn::Op;
use crate::error::UsageError;
use crate::output::{self, emit, kind_name, GetOut, Item, ListOut, WriteOut};

/// Who the imperative commands write as.
const MANAGED_BY: &str = "cli";

pub async fn router(ctx: &Ctx, cmd: RouterCmd) -> Result<()> {
    match cmd {
        RouterCmd::Create(a) => {
            let fields = RouterFields {
                rule: Some(&a.rule),
                service: Some(&a.service),
                extra: &a.extra,
            };
            let mut spec = Value::Null;
            spec::apply_router(&mut spec, &fields)?;
            create(ctx, Kind::Router, &a.name, spec).await
        }
        RouterCmd::Update(a) => {
            let fields = RouterFields {
                rule: a.rule.as_deref(),
                service: a.service.as_deref(),
                extra: &a.extra,
            };
            update(ctx, Kind::Router, &a.name, |spec| {
                spec::apply_router(spec, &fields)
            })
            .await
        }
        RouterCmd::Common(c) => common(ctx, Kind::Router, c).await,
    }
}

pub async fn service(ctx: &Ctx, cmd: ServiceCmd) -> Result<()> {
    match cmd {
        ServiceCmd::Create(a) => {
            let mut spec = Value::Null;
            spec::apply_service(&mut spec, &a.servers, &a.lb)?;
            create(ctx, Kind::Service, &a.name, spec).await
        }
        ServiceCmd::Update(a) => {
            update(ctx, Kind::Service, &a.name, |spec| {
                spec::apply_service(spec, &a.servers, &a.lb)
            })
            .await
        }
        ServiceCmd::Common(c) => common(ctx, Kind::Service, c).await,
    }
}

/// Middlewares and servers transports: written whole from a Traefik spec.
pub async fn from_spec(ctx: &Ctx, kind: Kind, cmd: SpecCmd) -> Result<()> {
    match cmd {
        SpecCmd::Create(a) => {
            let spec = spec::load_spec(&a.source)?;
            create(ctx, kind, &a.name, spec).await
        }
        SpecCmd::Update(a) => {
            // The given spec replaces the old one whole.
            let new = spec::load_spec(&a.source)?;
            update(ctx, kind, &a.name, |spec| {
                *spec = new;
                Ok(())
            })
            .await
        }
        SpecCmd::Common(c) => common(ctx, kind, c).await,
    }
}

/// `get routers|services|middlewares|all [NAME]`.
pub async fn get(ctx: &Ctx, args: GetArgs) -> Result<()> {
    let kind = match args.what {
        GetWhat::Routers => Kind::Router,
        GetWhat::Services => Kind::Service,
        GetWhat::Middlewares => Kind::Middleware,
        GetWhat::ServersTransports => Kind::ServersTransport,
        GetWhat::All => Kind::Unspecified,
    };
    match args.name {
        Some(_) if kind == Kind::Unspecified => Err(UsageError(
            "`get all` takes no name; name a kind, e.g. `get routers NAME`".into(),
        )
        .into()),
        Some(name) => show(ctx, kind, &name, args.read).await,
        None => list(ctx, kind, args.read).await,
    }
}

async fn common(ctx: &Ctx, kind: Kind, cmd: CommonCmd) -> Result<()> {
    match cmd {
        CommonCmd::Delete(a) => delete(ctx, kind, &a.name, a.if_revision).await,
        CommonCmd::Get(a) => show(ctx, kind, &a.name, a.read).await,
        CommonCmd::List(read) => list(ctx, kind, read).await,
    }
}

async fn create(ctx: &Ctx, kind: Kind, name: &str, spec: Value) -> Result<()> {
    let req = CreateRequest {
        object: Some(object(kind, name, &spec)?),
    };
    let (resp, _) = ctx
        .conn
        .call(Op::Write, move |mut client| {
            let req = req.clone();
            async move { client.create(req).await }
        })
        .await?;
    written(ctx, kind, name, "created", resp.revision, resp.leader_id)
}

/// Reads the object, lets `edit` change its spec, and writes it back only if nobody changed
/// it in between (`expected_mod_revision`).
async fn update(
    ctx: &Ctx,
    kind: Kind,
    name: &str,
    edit: impl FnOnce(&mut Value) -> Result<(), UsageError>,
) -> Result<()> {
    // A linearizable read, so a lagging follower does not make the write fail spuriously.
    let read = ReadArgs {
        consistent: true,
        min_revision: None,
    };
    let (current, _) = fetch(ctx, kind, name, read).await?;
    let mut spec = output::parse_spec(&current.spec_json);
    edit(&mut spec)?;
    let req = UpdateRequest {
        object: Some(object(kind, name, &spec)?),
        expected_mod_revision: Some(current.mod_revision),
    };
    let (resp, _) = ctx
        .conn
        .call(Op::Write, move |mut client| {
            let req = req.clone();
            async move { client.update(req).await }
        })
        .await?;
    written(ctx, kind, name, "updated", resp.revision, resp.leader_id)
}

async fn delete(ctx: &Ctx, kind: Kind, name: &str, if_revision: Option<u64>) -> Result<()> {
    let req = DeleteRequest {
        r#ref: Some(object_ref(kind, name)),
        expected_mod_revision: if_revision,
    };
    let (resp, _) = ctx
        .conn
        .call(Op::Write, move |mut client| {
            let req = req.clone();
            async move { client.delete(req).await }
        })
        .await?;
    written(ctx, kind, name, "deleted", resp.revision, resp.leader_id)
}

async fn show(ctx: &Ctx, kind: Kind, name: &str, read: ReadArgs) -> Result<()> {
    let (object, revision) = fetch(ctx, kind, name, read).await?;
    let out = GetOut {
        item: Item::from_proto(&object),
        revision,
    };
    let text = output::render(ctx.output, &out, |o| {
        output::items_table(std::slice::from_ref(&o.item), Some(kind))
    })?;
    Ok(emit(&text)?)
}

async fn list(ctx: &Ctx, kind: Kind, read: ReadArgs) -> Result<()> {
    let req = ListRequest {
        kind: kind as i32,
        options: Some(read_options(read)),
    };
    let (resp, _) = ctx
        .conn
        .call(
            Op::Read,
            move |mut client| async move { client.list(req).await },
        )
        .await?;
    let out = ListOut {
        revision: resp.revision,
        items: resp.objects.iter().map(Item::from_proto).collect(),
    };
    let only = (kind != Kind::Unspecified).then_some(kind);
    let text = output::render(ctx.output, &out, |o| output::items_table(&o.items, only))?;
    Ok(emit(&text)?)
}

/// One object and the revision the read reflects.
async fn fetch(ctx: &Ctx, kind: Kind, name: &str, read: ReadArgs) -> Result<(Object, u64)> {
    let req = GetRequest {
        r#ref: Some(object_ref(kind, name)),
        options: Some(read_options(read)),
    };
    let (resp, endpoint) = ctx
        .conn
        .call(Op::Read, move |mut client| {
            let req = req.clone();
            async move { client.get(req).await }
        })
        .await?;
    let object = resp.object.with_context(|| {
        format!(
            "{} {name:?}: the answer holds no object (endpoint {endpoint})",
            kind_name(kind)
        )
    })?;
    Ok((object, resp.revision))
}

fn written(
    ctx: &Ctx,
    kind: Kind,
    name: &str,
    verb: &str,
    revision: u64,
    leader_id: u64,
) -> Result<()> {
    let out = WriteOut {
        revision,
        leader_id,
    };
    Ok(emit(&output::write_result(
        ctx.output, kind, name, verb, &out,
    )?)?)
}

fn object(kind: Kind, name: &str, spec: &Value) -> Result<Object> {
    Ok(Object {
        kind: kind as i32,
        name: name.to_string(),
        spec_json: serde_json::to_vec(spec)?,
        managed_by: MANAGED_BY.to_string(),
        ..Default::default()
    })
}

fn object_ref(kind: Kind, name: &str) -> ObjectRef {
    ObjectRef {
        kind: kind as i32,
        name: name.to_string(),
    }
}

fn read_options(read: ReadArgs) -> ReadOptions {
    ReadOptions {
        consistent: read.consistent,
        min_revision: read.min_revision.unwrap_or(0),
    }
}
