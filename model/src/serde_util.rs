//! Small predicates for `skip_serializing_if`, so that serialized objects stay minimal.

/// True when the flag holds its default, `false`.
pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}
