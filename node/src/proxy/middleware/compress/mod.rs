//! `compress`: compresses responses with gzip, Brotli or zstd for clients that accept it,
//! following Traefik v3:
//!
//! - the coding comes from `Accept-Encoding` ([`negotiate`]): q-values first, then the
//!   configured `encodings` order (default zstd, br, gzip); `*` means `defaultEncoding`.
//!   Without an `Accept-Encoding` header nothing is compressed unless `defaultEncoding` is
//!   set (Traefik's reading of RFC 9110: no header means any coding is acceptable);
//! - never compressed: answers to `HEAD`, gRPC (`application/grpc*` request or response),
//!   1xx/204/304 answers, partial content (206 or `Content-Range`), responses that already
//!   carry a `Content-Encoding`, content types excluded by `excludedContentTypes` or not in
//!   `includedContentTypes`, and bodies smaller than `minResponseBodyBytes` (default 1024);
//! - a body of known length (`Content-Length`) is judged by that length. A body of unknown
//!   length is read until `minResponseBodyBytes` bytes have arrived (at most that much is
//!   held): if it ends first it is sent as is, with its now known `Content-Length`;
//! - a compressed response loses `Content-Length` and `Accept-Ranges` and gets
//!   `Content-Encoding`; every response this middleware could have compressed gets
//!   `Vary: Accept-Encoding`, so caches keep the variants apart.
//!
//! Deviations: a response without `Content-Type` is not sniffed (Traefik sniffs it); it is
//! compressed unless `includedContentTypes` is set. Trailers of a compressed body are dropped.

mod body;
mod negotiate;

use bytes::Bytes;
use futures::future::BoxFuture;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame};

use self::negotiate::{Encoding, Offer};
use super::{Middleware, Next, ProxyResult};
use crate::proxy::body::{BoxError, ProxyBody};

/// Traefik's default `minResponseBodyBytes`.
const DEFAULT_MIN_BYTES: u64 = 1024;

/// Traefik's default `encodings`.
const DEFAULT_ENCODINGS: [Encoding; 3] = [Encoding::Zstd, Encoding::Brotli, Encoding::Gzip];

/// A media type from the config: its essence and the parameters that must match.
#[derive(Debug, Clone)]
struct MediaType {
    essence: String,
    params: Vec<(String, String)>,
}

impl MediaType {
    fn parse(value: &str) -> Self {
        let mut parts = value.split(';');
        let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let params = parts
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| {
                (
                    k.trim().to_ascii_lowercase(),
                    v.trim().trim_matches('"').to_string(),
                )
            })
            .collect();
        Self { essence, params }
    }

    /// Whether a response's `Content-Type` (already parsed) is this type.
    fn matches(&self, other: &MediaType) -> bool {
        self.essence == other.essence
            && self.params.iter().all(|(k, v)| {
                other
                    .params
                    .iter()
                    .any(|(ok, ov)| ok == k && ov.eq_ignore_ascii_case(v))
            })
    }
}

/// Which content types are compressed.
#[derive(Debug, Clone)]
enum Filter {
    /// All but these.
    Exclude(Vec<MediaType>),
    /// Only these.
    Include(Vec<MediaType>),
}

/// The compiled `compress` middleware.
pub struct Compress {
    offer: Offer,
    filter: Filter,
    min_bytes: u64,
}

impl Compress {
    /// Compiles the config (validated at write time: codings are known, lists exclusive).
    pub fn new(config: &raftgate_model::Compress) -> Result<Self, String> {
        let parse_all = |names: &[String]| -> Result<Vec<Encoding>, String> {
            names
                .iter()
                .map(|n| Encoding::parse(n).ok_or_else(|| format!("unknown encoding {n:?}")))
                .collect()
        };
        let mut encodings: Vec<Encoding> = Vec::new();
        for e in parse_all(&config.encodings)? {
            if !encodings.contains(&e) {
                encodings.push(e);
            }
        }
        if encodings.is_empty() {
            encodings = DEFAULT_ENCODINGS.to_vec();
        }
        let default = match config.default_encoding.as_str() {
            "" => None,
            name => Some(parse_all(&[name.to_string()])?[0]),
        };
        let filter = if config.included_content_types.is_empty() {
            Filter::Exclude(
                config
                    .excluded_content_types
                    .iter()
                    .map(|t| MediaType::parse(t))
                    .collect(),
            )
        } else {
            Filter::Include(
                config
                    .included_content_types
                    .iter()
                    .map(|t| MediaType::parse(t))
                    .collect(),
            )
        };
        Ok(Self {
            offer: Offer { encodings, default },
            filter,
            min_bytes: config
                .min_response_body_bytes
                .map_or(DEFAULT_MIN_BYTES, |n| n.max(0) as u64),
        })
    }

    /// Whether a response with these headers may be compressed at all (before its size).
    fn compressible(&self, status: StatusCode, headers: &HeaderMap) -> bool {
        if status.is_informational()
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED
            || status == StatusCode::PARTIAL_CONTENT
            || headers.contains_key(header::CONTENT_RANGE)
            || headers.contains_key(header::CONTENT_ENCODING)
        {
            return false;
        }
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(MediaType::parse);
        match (&self.filter, content_type) {
            (_, Some(ct)) if is_grpc(&ct.essence) => false,
            (Filter::Exclude(list), Some(ct)) => !list.iter().any(|t| t.matches(&ct)),
            (Filter::Exclude(_), None) => true,
            (Filter::Include(list), Some(ct)) => list.iter().any(|t| t.matches(&ct)),
            (Filter::Include(_), None) => false,
        }
    }

    async fn respond(&self, encoding: Option<Encoding>, resp: Response<ProxyBody>) -> ProxyResult {
        let (mut parts, body) = resp.into_parts();
        if !self.compressible(parts.status, &parts.headers) {
            return Ok(Response::from_parts(parts, body));
        }
        add_vary(&mut parts.headers);
        let Some(encoding) = encoding else {
            return Ok(Response::from_parts(parts, body));
        };
        let known = content_length(&parts.headers).or_else(|| body.size_hint().exact());
        let body = match known {
            Some(n) if n < self.min_bytes => return Ok(Response::from_parts(parts, body)),
            Some(_) => body,
            None => match prefetch(body, self.min_bytes).await {
                Prefetched::Whole(bytes) => {
                    parts
                        .headers
                        .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
                    return Ok(Response::from_parts(parts, crate::proxy::body::full(bytes)));
                }
                Prefetched::Ended(head, rest) => {
                    return Ok(Response::from_parts(parts, body::rejoin(head, rest)))
                }
                Prefetched::Enough(head, rest) => body::rejoin(head, rest),
            },
        };
        tracing::trace!(encoding = encoding.token(), "compressing response");
        parts.headers.remove(header::CONTENT_LENGTH);
        parts.headers.remove(header::ACCEPT_RANGES);
        parts.headers.insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_static(encoding.token()),
        );
        Ok(Response::from_parts(
            parts,
            body::compressed(encoding, body),
        ))
    }
}

fn is_grpc(essence: &str) -> bool {
    essence.starts_with("application/grpc")
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Appends `Accept-Encoding` to `Vary` unless it is there (or `Vary: *`).
fn add_vary(headers: &mut HeaderMap) {
    let present = headers
        .get_all(header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            let t = t.trim();
            t == "*" || t.eq_ignore_ascii_case("accept-encoding")
        });
    if !present {
        headers.append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
}

/// The start of a body of unknown length.
enum Prefetched {
    /// The whole body, smaller than the minimum.
    Whole(Bytes),
    /// The body ended below the minimum with trailers: the frames read, then nothing.
    Ended(Vec<Frame<Bytes>>, ProxyBody),
    /// At least the minimum was read: those frames, then the rest.
    Enough(Vec<Frame<Bytes>>, ProxyBody),
}

/// Reads `body` until `min` bytes arrived or it ends, holding at most about `min` bytes.
/// A read error is passed on to the client through the rejoined body.
async fn prefetch(mut body: ProxyBody, min: u64) -> Prefetched {
    let mut head: Vec<Frame<Bytes>> = Vec::new();
    let mut read = 0u64;
    loop {
        match body.frame().await {
            None => break,
            Some(Ok(frame)) => {
                let trailers = frame.is_trailers();
                read += frame.data_ref().map_or(0, |d| d.len() as u64);
                head.push(frame);
                if trailers {
                    return Prefetched::Ended(head, body);
                }
                if read >= min {
                    return Prefetched::Enough(head, body);
                }
            }
            Some(Err(e)) => {
                let failed = futures::stream::once(async move { Err::<Frame<Bytes>, BoxError>(e) });
                let rest = http_body_util::StreamBody::new(failed).boxed();
                return Prefetched::Ended(head, rest);
            }
        }
    }
    let mut bytes = bytes::BytesMut::with_capacity(read as usize);
    for frame in head {
        if let Ok(data) = frame.into_data() {
            bytes.extend_from_slice(&data);
        }
    }
    Prefetched::Whole(bytes.freeze())
}

impl Middleware for Compress {
    fn handle<'a>(&'a self, req: Request<ProxyBody>, next: Next<'a>) -> BoxFuture<'a, ProxyResult> {
        Box::pin(async move {
            let grpc = req
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| is_grpc(&v.trim().to_ascii_lowercase()));
            if req.method() == Method::HEAD || grpc {
                return next.run(req).await;
            }
            let encoding = self.offer.choose(req.headers());
            let resp = next.run(req).await?;
            self.respond(encoding, resp).await
        })
    }
}

#[cfg(test)]
mod tests;
