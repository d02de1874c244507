//! The one place that turns a failure into the line printed on stderr and the exit code.
//!
//! | code | meaning |
//! | --- | --- |
//! | 1 | the server refused the request (its status message says why), or a local failure |
//! | 2 | usage error (clap's own, or a bad spec / file given on the command line) |
//! | 3 | no endpoint could be reached or serve the call (connection errors, `Unavailable`) |
//! | 4 | timed out (`DeadlineExceeded`): the outcome is unknown, a write may still commit |

use std::time::Duration;

use tonic::{Code, Status};

use crate::conn::{one_line, squash, CallError, Failure, Op};

pub const EXIT_REFUSED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_UNREACHABLE: u8 = 3;
pub const EXIT_TIMEOUT: u8 = 4;

/// A mistake in what the user asked for, found before any call (exit code 2).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// The message (without the `error: ` prefix) and the exit code of a failed command: one line
/// per problem (a refused write or file lists each of its problems on a line of its own).
pub fn report(err: &anyhow::Error) -> (String, u8) {
    if let Some(call) = err.chain().find_map(|e| e.downcast_ref::<CallError>()) {
        let (reason, code) = describe_call(call);
        return (format!("{reason} (endpoint {})", call.endpoint), code);
    }
    if let Some(usage) = err.chain().find_map(|e| e.downcast_ref::<UsageError>()) {
        return (squash_lines(&usage.0), EXIT_USAGE);
    }
    (one_line(err.as_ref()), EXIT_REFUSED)
}

/// Each line squashed to single spaces; empty lines dropped.
fn squash_lines(text: &str) -> String {
    text.lines()
        .map(squash)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The reason of a failed call (without its endpoint) and its exit code.
pub fn describe_call(call: &CallError) -> (String, u8) {
    match &call.failure {
        Failure::Connect(reason) => (reason.clone(), EXIT_UNREACHABLE),
        Failure::Timeout(after) => (timed_out(after_text(*after), call.op), EXIT_TIMEOUT),
        Failure::Status(status) => match status.code() {
            Code::DeadlineExceeded => (timed_out(status_reason(status), call.op), EXIT_TIMEOUT),
            Code::Unavailable => (status_reason(status), EXIT_UNREACHABLE),
            _ => (status_reason(status), EXIT_REFUSED),
        },
    }
}

/// True when stdout was closed under us (`raftgatectl watch | head`): not worth a message.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn after_text(after: Duration) -> String {
    format!("no answer within {}", humantime::format_duration(after))
}

fn timed_out(detail: String, op: Op) -> String {
    match op {
        Op::Write => format!("timed out ({detail}); the write may still commit"),
        Op::Read => format!("timed out ({detail})"),
    }
}

/// The server's own wording, or the transport's cause when the status came from below.
fn status_reason(status: &Status) -> String {
    let mut text = status.message().to_string();
    if let Some(source) = std::error::Error::source(status) {
        let cause = one_line(source);
        if !text.contains(&cause) {
            text = if text.is_empty() {
                cause
            } else {
                format!("{text}: {cause}")
            };
        }
    }
    if text.trim().is_empty() {
        text = status.code().description().to_string();
    }
    // A refused write lists each of its problems on a line of its own.
    if status.code() == Code::InvalidArgument {
        squash_lines(&text)
    } else {
        squash(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(failure: Failure, op: Op) -> anyhow::Error {
        CallError {
            endpoint: "http://n1:7001".into(),
            failure,
            op,
        }
        .into()
    }

    #[test]
    fn server_refusal_keeps_the_server_wording() {
        let status = Status::invalid_argument("router \"web\": rule: column 12: expected `)`");
        let (msg, code) = report(&call(Failure::Status(status), Op::Write));
        assert_eq!(
            msg,
            "router \"web\": rule: column 12: expected `)` (endpoint http://n1:7001)"
        );
        assert_eq!(code, EXIT_REFUSED);
    }

    #[test]
    fn unreachable_and_unavailable_exit_3() {
        let (msg, code) = report(&call(
            Failure::Connect("connection refused".into()),
            Op::Read,
        ));
        assert_eq!(
            (msg.as_str(), code),
            ("connection refused (endpoint http://n1:7001)", 3)
        );
        let status = Status::unavailable("no leader\nelected yet");
        let (msg, code) = report(&call(Failure::Status(status), Op::Read));
        assert_eq!(
            (msg.as_str(), code),
            ("no leader elected yet (endpoint http://n1:7001)", 3)
        );
    }

    #[test]
    fn timeouts_exit_4_and_warn_about_writes() {
        let (msg, code) = report(&call(Failure::Timeout(Duration::from_secs(10)), Op::Write));
        assert_eq!(code, EXIT_TIMEOUT);
        assert_eq!(
            msg,
            "timed out (no answer within 10s); the write may still commit (endpoint http://n1:7001)"
        );
        let status = Status::deadline_exceeded("commit not confirmed");
        let (msg, code) = report(&call(Failure::Status(status), Op::Read));
        assert_eq!(
            (msg.as_str(), code),
            (
                "timed out (commit not confirmed) (endpoint http://n1:7001)",
                4
            )
        );
    }

    #[test]
    fn usage_and_local_errors() {
        let (msg, code) = report(&UsageError("--spec: expected value at line 1".into()).into());
        assert_eq!(
            (msg.as_str(), code),
            ("--spec: expected value at line 1", EXIT_USAGE)
        );
        let (msg, code) = report(&anyhow::anyhow!("bad\nthing").context("while printing"));
        assert_eq!(
            (msg.as_str(), code),
            ("while printing: bad thing", EXIT_REFUSED)
        );
    }

    #[test]
    fn empty_status_message_falls_back_to_the_code() {
        let (msg, _) = report(&call(
            Failure::Status(Status::new(Code::Internal, "")),
            Op::Read,
        ));
        assert!(msg.starts_with("Internal error"), "{msg}");
    }
}
