//! Helpers for the tests of the rule and route table modules: owned requests and rule
//! parsing that panics on error.

use std::net::{IpAddr, Ipv4Addr};

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use raftgate_model::rule::parse;

use super::CompiledRule;
use crate::proxy::request::{normalize_host, normalize_path, RequestInfo};

/// An owned request, normalized like the proxy does, to borrow a [`RequestInfo`] from.
#[derive(Debug, Clone)]
pub(crate) struct Req {
    method: Method,
    host: String,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    client_ip: IpAddr,
}

impl Req {
    /// A `GET` from 192.0.2.1 for `host` (a raw Host header) and `path` (raw, must be valid).
    pub(crate) fn get(host: &str, path: &str) -> Req {
        Req {
            method: Method::GET,
            host: normalize_host(host).into_owned(),
            path: normalize_path(path).expect("valid test path").into_owned(),
            query: None,
            headers: HeaderMap::new(),
            client_ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        }
    }

    /// With this method.
    pub(crate) fn method(mut self, method: &str) -> Req {
        self.method = Method::from_bytes(method.as_bytes()).expect("valid test method");
        self
    }

    /// With this header added.
    pub(crate) fn header(mut self, name: &str, value: &str) -> Req {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("valid test header name");
        let value = HeaderValue::from_str(value).expect("valid test header value");
        self.headers.append(name, value);
        self
    }

    /// With this raw query.
    pub(crate) fn query(mut self, query: Option<&str>) -> Req {
        self.query = query.map(str::to_string);
        self
    }

    /// From this client address.
    pub(crate) fn client_ip(mut self, ip: IpAddr) -> Req {
        self.client_ip = ip;
        self
    }

    /// The routing view of this request.
    pub(crate) fn info(&self) -> RequestInfo<'_> {
        RequestInfo {
            method: &self.method,
            host: &self.host,
            path: &self.path,
            query: self.query.as_deref(),
            headers: &self.headers,
            client_ip: self.client_ip,
        }
    }
}

/// Parses and compiles `rule`, panicking on error.
pub(crate) fn compile(rule: &str) -> CompiledRule {
    let expr = parse(rule).unwrap_or_else(|e| panic!("{rule}: {e}"));
    CompiledRule::compile(&expr)
}
