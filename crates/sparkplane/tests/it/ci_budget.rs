//! CI's budget line (`scripts/phase_budget.py`, run by `.ci/run`): a phase
//! more than 20 % (and 10 s) over its recorded figure is named in a loud
//! banner with the slowest tests that are new since the figures were
//! recorded; everything within says so; the cold column is used for a cold
//! run; a malformed figures file is exit 2 naming its line; `record` then
//! `check` of the same run is within.

use std::path::Path;
use std::process::{Command, Output};

fn script() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/phase_budget.py")
}

fn budget(dir: &Path, verb: &str, cold: bool) -> Output {
    let mut cmd = Command::new("python3");
    cmd.arg(script()).arg(verb).arg(dir.join("phase-times.tsv")).arg(dir.join("junit.xml")).arg(dir);
    if cold {
        cmd.arg("--cold");
    }
    cmd.output().expect("python3 runs (scripts/test.sh needs it for its set-up)")
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write");
}

fn junit(cases: &[(&str, &str, f64)]) -> String {
    let mut xml = String::from("<?xml version=\"1.0\"?>\n<testsuites><testsuite name=\"all\">\n");
    for (binary, name, seconds) in cases {
        xml.push_str(&format!("<testcase classname=\"{binary}\" name=\"{name}\" time=\"{seconds}\"/>\n"));
    }
    xml.push_str("</testsuite></testsuites>\n");
    xml
}

/// A run whose tests phase took 1,500 s against a recorded 1,200 (warm) and
/// 1,600 (cold); build and fmt grew too, but within the rule.
fn a_run(dir: &Path) {
    write(dir, "phase-times.tsv", "build\t100\ttest.sh\ntests (failed, exit 100)\t1500\ttest.sh\nfmt\t5\t.ci/run\n");
    write(dir, "budget.tsv", "# recorded on a quiet machine\nbuild\t90\t900\ntests\t1200\t1600\nfmt\t3\t3\n");
    write(
        dir,
        "budget-tests.tsv",
        "# each test's wall time\nsparkplane::it old::steady\t100.0\nsparkplane::it old::grown\t10.0\n",
    );
    write(
        dir,
        "junit.xml",
        &junit(&[
            ("sparkplane::it", "old::steady", 100.0),
            ("sparkplane::it", "old::grown", 70.0),
            ("sparkplane::it", "fresh::quick", 2.0),
            ("sparkplane-history::it", "fresh::slow", 250.0),
            ("sparkplane::it", "fresh::slower", 300.0),
        ]),
    );
}

#[test]
fn a_phase_over_its_figure_is_named_loudly_with_the_slowest_new_tests() {
    let dir = tempfile::tempdir().expect("tempdir");
    a_run(dir.path());
    let out = budget(dir.path(), "check", false);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("!!! CI BUDGET: 1 phase(s) took more than 20 % over the recorded warm figure"), "{text}");
    assert!(text.contains("tests                      1500 s, recorded   1200 s  (+25 %)"), "{text}");
    // build grew 11 %, fmt 2 s: neither is named.
    assert!(!text.contains("build  "), "{text}");
    assert!(!text.contains("fmt  "), "{text}");
    let new: Vec<&str> = text.lines().skip_while(|l| !l.contains("tests new since")).skip(1).take(3).collect();
    assert_eq!(
        new,
        [
            "!!!      300.0 s  sparkplane::it fresh::slower",
            "!!!      250.0 s  sparkplane-history::it fresh::slow",
            "!!!        2.0 s  sparkplane::it fresh::quick",
        ],
        "{text}"
    );
    assert!(text.contains("+   60.0 s  sparkplane::it old::grown (now 70.0 s)"), "{text}");
    assert!(!text.contains("old::steady"), "{text}");
}

#[test]
fn a_cold_run_is_held_to_the_cold_figures() {
    let dir = tempfile::tempdir().expect("tempdir");
    a_run(dir.path());
    let out = budget(dir.path(), "check", true);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("every phase within 20 % of its recorded cold figure"), "{text}");
}

#[test]
fn a_malformed_figures_line_is_exit_2_naming_its_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    a_run(dir.path());
    write(dir.path(), "budget.tsv", "build\t90\t900\ntests 1200 1600\n");
    let out = budget(dir.path(), "check", false);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "phase_budget.py: {}:2: expected PHASE<TAB>WARM<TAB>COLD (seconds, or - for none), found 'tests 1200 1600'",
            dir.path().join("budget.tsv").display()
        )),
        "{stderr}"
    );
}

#[test]
fn recorded_figures_hold_the_run_they_came_from() {
    let dir = tempfile::tempdir().expect("tempdir");
    a_run(dir.path());
    let out = budget(dir.path(), "record", false);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let figures = std::fs::read_to_string(dir.path().join("budget.tsv")).expect("budget.tsv");
    // The warm column is the run's, the cold one kept, the comment kept.
    assert_eq!(figures, "# recorded on a quiet machine\nbuild\t100\t900\ntests\t1500\t1600\nfmt\t5\t3\n");
    let tests = std::fs::read_to_string(dir.path().join("budget-tests.tsv")).expect("budget-tests.tsv");
    assert!(tests.contains("sparkplane::it fresh::slower\t300.0\n"), "{tests}");
    let out = budget(dir.path(), "check", false);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
}
