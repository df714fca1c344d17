//! Arbitrary bytes as a sparkplane YAML file: through the span-keeping loader
//! (aliases, nesting, duplicate keys) and the schema checker of every document
//! kind. Nothing may panic, and no input may make the loader copy more than
//! its alias limit (a "billion laughs" file is a located error, not an
//! exhausted memory). Seeds live in fuzz/seeds/yaml_load/.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sparkplane_documents::Source;
use sparkplane_documents::schema::{Completeness, DocKind, schema};
use sparkplane_documents::yaml::parse_documents;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let source = Source::new("fuzz.yaml", &*text);
    let Ok(docs) = parse_documents(&source) else { return };
    for doc in &docs {
        let _ = doc.to_json();
        for kind in [DocKind::SparkJob, DocKind::Preset, DocKind::Environment, DocKind::NodePools, DocKind::DataQuality]
        {
            let _ = schema(kind).check(doc, Completeness::Complete);
        }
    }
    let _ = sparkplane_policy::tenant::load_tenant(&source);
});
