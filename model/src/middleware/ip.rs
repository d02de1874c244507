//! Client-address middlewares and their shared settings: `ipAllowList`, `inFlightReq`, the
//! IP strategy (which address in `X-Forwarded-For` is the client's) and the source criterion
//! (what requests are grouped by).

use serde::{Deserialize, Serialize};

use crate::checks::{field, Object};
use crate::serde_util::is_false;
use crate::ModelError;

/// `ipAllowList`: admits only clients whose address is within one of the ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IpAllowList {
    /// Allowed IP addresses and CIDR ranges.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_range: Vec<String>,
    /// How the client address is found; the connection's address by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_strategy: Option<IpStrategy>,
    /// Status answered to refused clients (default 403).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reject_status_code: Option<i64>,
}

/// `inFlightReq`: limits the number of simultaneous requests per source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InFlightReq {
    /// Most requests in flight per source; must be above zero.
    #[serde(default)]
    pub amount: i64,
    /// What requests are grouped by; the client IP by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_criterion: Option<SourceCriterion>,
}

/// Which address of the `X-Forwarded-For` chain is taken as the client's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IpStrategy {
    /// Take the address `depth` entries from the right.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth: Option<u32>,
    /// Take the rightmost address not in these ranges.
    #[serde(default, rename = "excludedIPs", skip_serializing_if = "Vec::is_empty")]
    pub excluded_ips: Vec<String>,
    /// Group IPv6 clients by this prefix length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_subnet: Option<u32>,
}

/// What a limiter groups requests by: one of the client IP, a header or the host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SourceCriterion {
    /// Group by client IP, found with this strategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_strategy: Option<IpStrategy>,
    /// Group by the value of this request header.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub request_header_name: String,
    /// Group by request host.
    #[serde(default, skip_serializing_if = "is_false")]
    pub request_host: bool,
}

impl IpStrategy {
    pub(crate) fn check(&self, obj: &Object, path: &str) -> Result<(), ModelError> {
        // `depth` with `excludedIPs`: depth wins, as in Traefik (the data plane ignores the
        // exclusions then); both are kept, so the file round-trips.
        for (i, ip) in self.excluded_ips.iter().enumerate() {
            obj.ip_or_cidr(field(path, &format!("excludedIPs[{i}]")), ip)?;
        }
        if let Some(bits) = self.ipv6_subnet.filter(|b| *b > 128) {
            return Err(obj.invalid(
                field(path, "ipv6Subnet"),
                format!("{bits} is not an IPv6 prefix length (0-128)"),
            ));
        }
        Ok(())
    }
}

impl SourceCriterion {
    pub(crate) fn check(&self, obj: &Object, path: &str) -> Result<(), ModelError> {
        let set = usize::from(self.ip_strategy.is_some())
            + usize::from(!self.request_header_name.is_empty())
            + usize::from(self.request_host);
        if set > 1 {
            return Err(obj.invalid(
                path,
                "only one of ipStrategy, requestHeaderName or requestHost may be set",
            ));
        }
        if let Some(s) = &self.ip_strategy {
            s.check(obj, &field(path, "ipStrategy"))?;
        }
        if !self.request_header_name.is_empty() {
            obj.header_name(field(path, "requestHeaderName"), &self.request_header_name)?;
        }
        Ok(())
    }
}

impl IpAllowList {
    pub(crate) fn check(&self, obj: &Object, path: &str) -> Result<(), ModelError> {
        if self.source_range.is_empty() {
            return Err(obj.invalid(
                field(path, "sourceRange"),
                "at least one IP or CIDR range is required",
            ));
        }
        for (i, range) in self.source_range.iter().enumerate() {
            obj.ip_or_cidr(field(path, &format!("sourceRange[{i}]")), range)?;
        }
        if let Some(s) = &self.ip_strategy {
            s.check(obj, &field(path, "ipStrategy"))?;
        }
        if let Some(code) = self.reject_status_code {
            obj.status_code(field(path, "rejectStatusCode"), code)?;
        }
        Ok(())
    }
}

impl InFlightReq {
    pub(crate) fn check(&self, obj: &Object, path: &str) -> Result<(), ModelError> {
        if self.amount <= 0 {
            return Err(obj.invalid(
                field(path, "amount"),
                format!("{} must be greater than zero", self.amount),
            ));
        }
        if let Some(c) = &self.source_criterion {
            c.check(obj, &field(path, "sourceCriterion"))?;
        }
        Ok(())
    }
}
