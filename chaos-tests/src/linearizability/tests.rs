//! Hand-written known-good and known-bad histories.

use super::{check, CheckResult, OpKind, Operation, Outcome};

fn op(client: u64, kind: OpKind, invoke: u64, complete: u64, outcome: Outcome) -> Operation {
    Operation {
        client,
        key: "routers/web".into(),
        kind,
        invoke,
        complete: Some(complete),
        outcome,
    }
}

fn read(client: u64, invoke: u64, complete: u64, seen: Option<&str>) -> Operation {
    op(
        client,
        OpKind::Read,
        invoke,
        complete,
        Outcome::Ok(seen.map(str::to_owned)),
    )
}

fn write(client: u64, invoke: u64, complete: u64, value: &str) -> Operation {
    let kind = OpKind::Write(Some(value.to_owned()));
    op(client, kind, invoke, complete, Outcome::Ok(None))
}

fn delete(client: u64, invoke: u64, complete: u64) -> Operation {
    op(
        client,
        OpKind::Write(None),
        invoke,
        complete,
        Outcome::Ok(None),
    )
}

fn create(client: u64, invoke: u64, complete: u64, value: &str, outcome: Outcome) -> Operation {
    op(
        client,
        OpKind::Create(value.to_owned()),
        invoke,
        complete,
        outcome,
    )
}

fn unknown(client: u64, kind: OpKind, invoke: u64) -> Operation {
    Operation {
        client,
        key: "routers/web".into(),
        kind,
        invoke,
        complete: None,
        outcome: Outcome::Unknown,
    }
}

fn on_key(key: &str, mut op: Operation) -> Operation {
    op.key = key.to_owned();
    op
}

#[track_caller]
fn assert_good(history: &[Operation]) {
    let result = check(history);
    assert!(result.linearizable, "expected linearizable: {result:?}");
    assert_eq!(result.failing_key, None);
    assert_eq!(result.explanation, None);
}

#[track_caller]
fn assert_bad(history: &[Operation]) -> CheckResult {
    let result = check(history);
    assert!(!result.linearizable, "expected a violation: {history:?}");
    assert!(result.failing_key.is_some());
    assert!(result.explanation.is_some());
    result
}

#[test]
fn empty_history_is_linearizable() {
    let result = check(&[]);
    assert!(result.linearizable);
    assert_eq!((result.keys_checked, result.operations_checked), (0, 0));
}

#[test]
fn sequential_good_history() {
    assert_good(&[
        read(1, 0, 1, None),
        write(1, 2, 3, "a"),
        read(2, 4, 5, Some("a")),
        write(2, 6, 7, "b"),
        read(1, 8, 9, Some("b")),
    ]);
}

#[test]
fn sequential_bad_history() {
    assert_bad(&[write(1, 0, 1, "a"), read(2, 2, 3, None)]);
}

#[test]
fn overlapping_write_and_read_may_go_either_way() {
    for seen in [None, Some("a")] {
        assert_good(&[write(1, 0, 10, "a"), read(2, 5, 15, seen)]);
    }
}

#[test]
fn equal_timestamps_count_as_concurrent() {
    assert_good(&[write(1, 0, 5, "a"), read(2, 5, 6, None)]);
}

#[test]
fn stale_read_after_completed_write_is_caught() {
    let result = assert_bad(&[
        write(1, 0, 1, "a"),
        write(1, 2, 3, "b"),
        read(2, 4, 5, Some("a")),
    ]);
    let explanation = result.explanation.unwrap_or_default();
    assert!(explanation.contains("read -> \"a\""), "{explanation}");
    assert!(
        explanation.contains("leaving the register \"b\""),
        "{explanation}"
    );
}

#[test]
fn read_of_a_value_never_written_is_caught() {
    assert_bad(&[write(1, 0, 10, "a"), read(2, 1, 9, Some("z"))]);
}

#[test]
fn reads_cannot_see_an_overwritten_value_come_back() {
    // Both writes overlap all reads, but once `b` replaced `a`, `a` cannot return.
    assert_bad(&[
        write(1, 0, 100, "a"),
        write(2, 0, 100, "b"),
        read(3, 10, 20, Some("a")),
        read(3, 30, 40, Some("b")),
        read(4, 50, 60, Some("a")),
    ]);
}

#[test]
fn unknown_write_observed_later_is_linearizable() {
    assert_good(&[
        unknown(1, OpKind::Write(Some("a".into())), 0),
        read(2, 100, 101, None),
        read(2, 500, 501, Some("a")),
    ]);
}

#[test]
fn unknown_write_never_observed_is_linearizable() {
    assert_good(&[
        unknown(1, OpKind::Write(Some("a".into())), 0),
        read(2, 100, 101, None),
        write(2, 200, 201, "b"),
        read(2, 300, 301, Some("b")),
    ]);
}

#[test]
fn unknown_write_cannot_take_effect_before_its_invoke() {
    assert_bad(&[
        read(2, 0, 1, Some("a")),
        unknown(1, OpKind::Write(Some("a".into())), 10),
    ]);
}

#[test]
fn unknown_delete_may_explain_an_absent_read() {
    assert_good(&[
        write(1, 0, 1, "a"),
        unknown(1, OpKind::Write(None), 2),
        read(2, 10, 11, None),
    ]);
}

#[test]
fn failed_write_whose_value_is_read_is_caught() {
    assert_bad(&[
        op(1, OpKind::Write(Some("a".into())), 0, 1, Outcome::Fail),
        read(2, 2, 3, Some("a")),
    ]);
}

#[test]
fn two_successful_creates_without_a_delete_are_caught() {
    assert_bad(&[
        create(1, 0, 10, "a", Outcome::Ok(None)),
        create(2, 0, 10, "b", Outcome::Ok(None)),
    ]);
}

#[test]
fn create_after_delete_is_linearizable() {
    assert_good(&[
        create(1, 0, 1, "a", Outcome::Ok(None)),
        create(2, 2, 3, "b", Outcome::Fail),
        delete(1, 4, 5),
        read(2, 6, 7, None),
        create(2, 8, 9, "b", Outcome::Ok(None)),
        read(1, 10, 11, Some("b")),
    ]);
}

#[test]
fn create_over_a_present_key_is_caught() {
    assert_bad(&[write(1, 0, 1, "a"), create(2, 2, 3, "b", Outcome::Ok(None))]);
}

#[test]
fn read_of_a_deleted_key_is_caught() {
    assert_bad(&[
        write(1, 0, 1, "a"),
        delete(1, 2, 3),
        read(2, 4, 5, Some("a")),
    ]);
}

#[test]
fn only_the_bad_key_is_reported() {
    let result = assert_bad(&[
        on_key("services/api", write(1, 0, 1, "a")),
        on_key("services/api", read(2, 2, 3, Some("a"))),
        on_key("routers/web", write(1, 4, 5, "x")),
        on_key("routers/web", read(2, 6, 7, Some("y"))),
        on_key("middlewares/auth", read(3, 0, 1, None)),
    ]);
    assert_eq!(result.failing_key.as_deref(), Some("routers/web"));
    assert!(result
        .explanation
        .unwrap_or_default()
        .starts_with("key \"routers/web\""));
}

#[test]
fn counts_keys_and_operations() {
    let result = check(&[
        on_key("a", write(1, 0, 1, "x")),
        on_key("b", read(1, 2, 3, None)),
        on_key("b", unknown(2, OpKind::Read, 4)),
    ]);
    assert!(result.linearizable);
    assert_eq!((result.keys_checked, result.operations_checked), (2, 3));
}
