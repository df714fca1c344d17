//! Every built-in preset and environment, as embedded, passes its kind's
//! schema. (That a plain job on each preset resolves, validates, sizes and
//! fits the standard node pools in every environment is `sparkplane-fit`'s
//! suite of the same name: the fit check lives there, ADR 0089.)

use sparkplane_core::catalog::Catalog;
use sparkplane_documents::Source;

/// `Catalog::builtin` trusts the embedded documents to save start-up time;
/// this is the check it skips: each one, added as a platform file would be,
/// passes its kind's schema.
#[test]
fn every_builtin_document_passes_its_schema() {
    let builtins =
        sparkplane_core::catalog::BUILTIN_PRESETS.iter().chain(sparkplane_core::catalog::BUILTIN_ENVIRONMENTS);
    let mut checked = 0;
    for (name, text) in builtins {
        let mut catalog = Catalog::empty();
        catalog.add(&Source::new(*name, *text), "builtin").unwrap_or_else(|d| panic!("{name} breaks its schema:\n{d}"));
        checked += 1;
    }
    assert_eq!(checked, 11, "7 presets and 4 environments are embedded");
}
