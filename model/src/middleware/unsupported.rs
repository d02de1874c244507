//! Middlewares that parse, so that Traefik configurations load and round-trip, but that
//! raftgate does not implement yet: `rateLimit` and `passTLSClientCert`. Their `validate()`
//! fails with [`crate::ModelError::Unsupported`].

use serde::{Deserialize, Serialize};

use super::SourceCriterion;
use crate::serde_util::is_false;
use crate::TraefikDuration;

/// `rateLimit`: admits `average` requests per `period` per source, with bursts of `burst`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimit {
    /// Requests allowed per period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average: Option<i64>,
    /// The period (default 1s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<TraefikDuration>,
    /// Largest burst.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<i64>,
    /// What requests are grouped by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_criterion: Option<SourceCriterion>,
}

/// `passTLSClientCert`: forwards the client certificate (or parts of it) in headers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PassTlsClientCert {
    /// Forward the whole certificate as PEM.
    #[serde(default, skip_serializing_if = "is_false")]
    pub pem: bool,
    /// Forward selected fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<TlsClientCertInfo>,
}

/// Certificate fields forwarded by `passTLSClientCert`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsClientCertInfo {
    /// Forward `notAfter`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub not_after: bool,
    /// Forward `notBefore`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub not_before: bool,
    /// Forward the subject alternative names.
    #[serde(default, skip_serializing_if = "is_false")]
    pub sans: bool,
    /// Forward the serial number.
    #[serde(default, skip_serializing_if = "is_false")]
    pub serial_number: bool,
    /// Subject fields to forward.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<TlsClientCertSubject>,
    /// Issuer fields to forward.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<TlsClientCertSubject>,
}

/// Distinguished-name fields of a certificate's subject or issuer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsClientCertSubject {
    /// Forward `C`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub country: bool,
    /// Forward `ST`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub province: bool,
    /// Forward `L`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub locality: bool,
    /// Forward `O`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub organization: bool,
    /// Forward `OU` (subject only in Traefik).
    #[serde(default, skip_serializing_if = "is_false")]
    pub organizational_unit: bool,
    /// Forward `CN`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub common_name: bool,
    /// Forward the DN serial number.
    #[serde(default, skip_serializing_if = "is_false")]
    pub serial_number: bool,
    /// Forward `DC`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub domain_component: bool,
}
