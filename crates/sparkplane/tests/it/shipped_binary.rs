//! What the shipped binary links (issue #64, ADR 0086): the build the image
//! and the release artifacts run (`scripts/common.sh` `SHIPPED_BUILD`, which
//! `image.sh` and `release.sh` call) carries no simulated cluster and no test
//! server — `cargo tree` of exactly that build names none of their crates —
//! while a developer build, with the default features, does (so the check
//! sees them where they are).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The crates that only tests and the chaos runners may link.
const TEST_ONLY: [&str; 4] =
    ["sparkplane-fakekube", "sparkplane-postgres", "sparkplane-seaweedfs", "sparkplane-testkit"];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `SHIPPED_BUILD`'s words, read from common.sh (not sourced: sourcing starts a CI phase).
fn shipped_build() -> Vec<String> {
    let path = repo().join("scripts/common.sh");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("SHIPPED_BUILD=(").and_then(|rest| rest.strip_suffix(')')))
        .unwrap_or_else(|| panic!("{} sets no SHIPPED_BUILD=(…)", path.display()));
    line.split_whitespace().map(str::to_owned).collect()
}

/// The sparkplane crates `cargo tree` shows for `cargo build` `args` (normal dependencies only).
fn linked(args: &[String]) -> Vec<String> {
    assert_eq!(args.get(..2), Some(&["cargo".to_owned(), "build".to_owned()][..]), "{args:?}");
    // `cargo tree` takes a build's selection and features, not its profile.
    let selection: Vec<&String> = args[2..].iter().filter(|a| *a != "--release").collect();
    let output = Command::new(option_env!("CARGO").unwrap_or("cargo"))
        .current_dir(repo())
        .arg("tree")
        .args(selection)
        .args(["--offline", "-e", "normal", "--prefix", "none", "--format", "{p}"])
        .output()
        .expect("cargo runs");
    assert!(output.status.success(), "cargo tree: {}", String::from_utf8_lossy(&output.stderr));
    let mut crates: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| name.starts_with("sparkplane"))
        .map(str::to_owned)
        .collect();
    crates.sort();
    crates.dedup();
    crates
}

#[test]
fn the_shipped_build_links_no_simulated_cluster_and_no_test_server() {
    let shipped = shipped_build();
    assert!(shipped.iter().any(|a| a == "--release"), "the shipped build is optimised: {shipped:?}");
    let linked = linked(&shipped);
    assert!(linked.iter().any(|c| c == "sparkplane-chaos"), "`chaos list` stays: {linked:?}");
    for banned in TEST_ONLY {
        assert!(!linked.iter().any(|c| c == banned), "{banned} is linked into the shipped binary: {linked:?}");
    }
}

#[test]
fn a_developer_build_links_the_chaos_runners_servers() {
    let developer: Vec<String> =
        shipped_build().into_iter().filter(|a| a != "--no-default-features" && a != "--release").collect();
    assert_ne!(developer, shipped_build(), "the shipped build turns the default features off");
    let linked = linked(&developer);
    for needed in ["sparkplane-fakekube", "sparkplane-postgres", "sparkplane-seaweedfs"] {
        assert!(linked.iter().any(|c| c == needed), "{needed} is not seen in a developer build: {linked:?}");
    }
}
