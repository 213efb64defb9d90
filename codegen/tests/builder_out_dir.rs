//! `Builder::compile` without `.out_dir`: it writes to `$OUT_DIR`, as in a build script.
//! Alone in its test binary, the only test that sets the variable.

use std::fs;

#[test]
fn compile_writes_into_out_dir() {
    let dir = std::env::temp_dir().join(format!("rltop-codegen-out-dir-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let schema = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../codec-tests/schemas/evolution.rlt"
    );
    std::env::set_var("OUT_DIR", &dir);
    rltop_codegen::Builder::new()
        .schema(schema)
        .compile()
        .unwrap();
    let text = fs::read_to_string(dir.join("evolution.rs")).unwrap();
    assert!(text.contains("pub struct Quote"), "{text}");
    let _ = fs::remove_dir_all(&dir);
}
