//! RLTOP version 2 (schema/examples/rltop-v2.rlt), generated beside version 1: its Rust
//! crate, C header, Python package and vectors under generated/rltop-v2/, and the
//! cross-version vectors of the pair (version 2 written, version 1 reading, and the
//! reverse) under generated/rltop-v2/cross/.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rltop_codegen::Model;

pub const SCHEMA_V2: &str = "schema/examples/rltop-v2.rlt";
pub const DIR: &str = "generated/rltop-v2";
/// Version 2's messages as version 1 reads them, and version 1's as version 2 reads them.
pub const V2_READ_BY_V1: &str = "generated/rltop-v2/cross/v2-read-by-v1";
pub const V1_READ_BY_V2: &str = "generated/rltop-v2/cross/v1-read-by-v2";

/// Every file of generated/rltop-v2/, given version 1's model.
pub fn artifacts(root: &Path, v1: &Model) -> Result<BTreeMap<PathBuf, String>, String> {
    let v2 = rltop_codegen::check_file(&root.join(SCHEMA_V2), SCHEMA_V2)
        .map_err(|e| format!("cannot read {SCHEMA_V2}: {e}"))?
        .into_model()?;
    let dir = Path::new(DIR);
    let mut outputs =
        rltop_codegen::Outputs::new(rltop_codegen::Banner::new("cargo xtask gen", SCHEMA_V2));
    outputs.rust = Some(rltop_codegen::RustCrate {
        dir: dir.join("rust"),
        name: "rltop-v2".into(),
        description: Some(format!(
            "RLTOP version 2 codecs, generated from {SCHEMA_V2}"
        )),
        workspace: true,
        publish: false,
    });
    outputs.c = Some(dir.join("c/rltop.h"));
    outputs.python = Some(dir.join("python"));
    outputs.vectors = Some(dir.join("vectors"));
    let mut out = rltop_codegen::artifacts(&v2, &outputs)?;
    for (writer, reader, to) in [(&v2, v1, V2_READ_BY_V1), (v1, &v2, V1_READ_BY_V2)] {
        let name = Path::new(to)
            .file_name()
            .unwrap_or_default()
            .to_string_lossy();
        for (file, text) in rltop_codegen::vectors::cross::build(writer, reader, &name)? {
            out.insert(Path::new(to).join(file), text);
        }
    }
    Ok(out)
}
