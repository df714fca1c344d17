//! Bad input never panics: every one-character deletion, and insertions of
//! YAML's troublesome characters at every position of the example job, go
//! through load, resolve and validate; each either succeeds or fails with
//! diagnostics whose locations lie inside the text.

use sparkplane_core::catalog::Catalog;
use sparkplane_core::load::load;
use sparkplane_core::resolve::ResolveRequest;
use sparkplane_core::sizing::size_job;
use sparkplane_core::validate::ValidationTarget;
use sparkplane_documents::Source;
use sparkplane_documents::yaml::parse_single;

const JOB: &str = include_str!("../../../../examples/trips-etl/trips-etl.yaml");

fn exercise(catalog: &Catalog, text: &str) {
    let source = Source::new("job.yaml", text);
    let doc = match parse_single(&source) {
        Ok(doc) => doc,
        Err(d) => {
            let span = d.span.as_ref().expect("a syntax error has a location");
            assert!(span.start <= text.len() && span.at.line >= 1, "{d}");
            return;
        }
    };
    let request = ResolveRequest {
        job: &doc,
        job_environment: None,
        catalog,
        environment: None,
        sets: &[],
        target: ValidationTarget::Cluster,
    };
    match load(request) {
        Ok(resolved) => {
            let _ = size_job(&resolved.job.spec);
        }
        Err(diagnostics) => {
            assert!(diagnostics.has_errors());
            for d in &diagnostics.0 {
                if let Some(span) = &d.span
                    && &*span.source.name == "job.yaml"
                {
                    assert!(span.start <= span.end && span.end <= text.len(), "{d}");
                    assert!(span.at.line <= text.lines().count() + 1, "{d}");
                }
                assert!(!d.message.is_empty());
            }
        }
    }
}

#[test]
fn single_character_deletions_never_panic() {
    let catalog = Catalog::builtin().expect("catalog");
    for (i, c) in JOB.char_indices() {
        let mut text = JOB.to_owned();
        text.replace_range(i..i + c.len_utf8(), "");
        exercise(&catalog, &text);
    }
}

#[test]
fn troublesome_insertions_never_panic() {
    let catalog = Catalog::builtin().expect("catalog");
    let positions: Vec<usize> = JOB.char_indices().map(|(i, _)| i).step_by(3).collect();
    for insert in [":", "-", "\"", "'", "{", "[", "&a", "*a", "\t", "é", "\n  x: 1", "~", "!!int "] {
        for &i in &positions {
            let mut text = JOB.to_owned();
            text.insert_str(i, insert);
            exercise(&catalog, &text);
        }
    }
}
