//! Compile-fail cases: each pins the exact error the derive gives, pointing at the
//! offending attribute or field.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
