//! Conversions between the admin API's protobuf messages and the domain types.

use raftgate_model::Kind;
use raftgate_proto as pb;

use super::status::bad_request;
use crate::store::command::{ObjectKey, ObjectSpec};
use crate::store::state::{Change, StoredObject};

/// The domain kind of a protobuf kind (`KIND_UNSPECIFIED` is refused).
pub fn kind(raw: i32) -> Result<Kind, tonic::Status> {
    match pb::Kind::try_from(raw) {
        Ok(pb::Kind::Router) => Ok(Kind::Router),
        Ok(pb::Kind::Service) => Ok(Kind::Service),
        Ok(pb::Kind::Middleware) => Ok(Kind::Middleware),
        Ok(pb::Kind::ServersTransport) => Ok(Kind::ServersTransport),
        _ => Err(bad_request(
            "object kind is missing (router, service, middleware or serversTransport)",
        )),
    }
}

/// The protobuf kind of a domain kind.
pub fn pb_kind(kind: Kind) -> pb::Kind {
    match kind {
        Kind::Router => pb::Kind::Router,
        Kind::Service => pb::Kind::Service,
        Kind::Middleware => pb::Kind::Middleware,
        Kind::ServersTransport => pb::Kind::ServersTransport,
    }
}

/// Parses an object of a write request into its key, typed spec and manager.
pub fn object(
    o: Option<pb::Object>,
    default_manager: &str,
) -> Result<(ObjectKey, ObjectSpec, String), tonic::Status> {
    let o = o.ok_or_else(|| bad_request("request carries no object"))?;
    let kind = kind(o.kind)?;
    let spec =
        ObjectSpec::from_json(kind, &o.name, &o.spec_json).map_err(super::status::state_error)?;
    let manager = if o.managed_by.is_empty() {
        default_manager.to_string()
    } else {
        o.managed_by
    };
    Ok((ObjectKey { kind, name: o.name }, spec, manager))
}

/// The key named by an object reference.
pub fn object_ref(r: Option<pb::ObjectRef>) -> Result<ObjectKey, tonic::Status> {
    let r = r.ok_or_else(|| bad_request("request names no object"))?;
    Ok(ObjectKey {
        kind: kind(r.kind)?,
        name: r.name,
    })
}

/// The protobuf form of a stored object.
pub fn pb_object(key: &ObjectKey, o: &StoredObject) -> pb::Object {
    pb::Object {
        kind: pb_kind(key.kind) as i32,
        name: key.name.clone(),
        spec_json: o.spec.to_json(),
        create_revision: o.create_revision,
        mod_revision: o.mod_revision,
        managed_by: o.managed_by.clone(),
    }
}

/// The protobuf form of a committed change.
pub fn pb_event(c: &Change) -> pb::WatchEvent {
    let (event, object) = match &c.object {
        Some(o) => (pb::EventType::Put, pb_object(&c.key, o)),
        None => (
            pb::EventType::Delete,
            pb::Object {
                kind: pb_kind(c.key.kind) as i32,
                name: c.key.name.clone(),
                ..Default::default()
            },
        ),
    };
    pb::WatchEvent {
        revision: c.revision,
        r#type: event as i32,
        object: Some(object),
    }
}
