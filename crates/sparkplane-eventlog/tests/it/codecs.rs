//! Event logs written by real Spark 3.5.9 with each `spark.eventLog.compression.codec`
//! (see tests/fixtures/codecs/README.md), and cut or damaged copies of them.

use std::fs;
use std::path::{Path, PathBuf};

use sparkplane_eventlog::{AppSummary, Codec, EventLog, Layout, Outcome, summarize};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/codecs")
}

/// The single-file fixture written with `codec`.
fn fixture(codec: &str) -> PathBuf {
    let dir = fixtures();
    let found = fs::read_dir(&dir).expect("fixture dir").flatten().map(|e| e.path()).find(|p| {
        p.extension().is_some_and(|e| e == codec)
            && p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("local-"))
    });
    found.unwrap_or_else(|| panic!("no {codec} fixture in {}", dir.display()))
}

/// What the same script must produce whatever the codec: 4 jobs, 6 stages (one skipped),
/// 16 tasks, 57 lines — the counts of the uncompressed run too (README).
fn assert_same_workload(s: &AppSummary) {
    assert_eq!(s.warnings, vec![]);
    assert_eq!(s.spark_version.as_deref(), Some("3.5.9"));
    assert_eq!(s.name.as_deref(), Some("sparkplane-codec-fixture"));
    assert_eq!(s.outcome, Outcome::Succeeded);
    assert_eq!((s.jobs.total, s.jobs.succeeded, s.jobs.failed, s.jobs.running), (4, 4, 0, 0));
    let st = s.stages;
    assert_eq!((st.total, st.completed, st.failed, st.skipped, st.active), (6, 5, 0, 1, 0));
    assert_eq!((s.tasks.total, s.tasks.succeeded, s.tasks.failed, s.tasks.killed), (16, 16, 0, 0));
    assert_eq!((s.metrics.output_bytes, s.metrics.input_bytes), (6048, 6096));
    assert_eq!((s.metrics.shuffle_write_bytes, s.metrics.shuffle_read_bytes), (704, 1408));
    assert_eq!((s.log.lines, s.log.in_progress), (57, false));
}

#[test]
fn every_codec_gives_the_same_summary_as_zstd() {
    let reference = summarize(&fixture("zstd")).expect("zstd fixture reads");
    assert_same_workload(&reference);
    for codec in ["lz4", "snappy", "lzf"] {
        let path = fixture(codec);
        let log = EventLog::open(&path).expect("opens");
        assert_eq!(log.parts[0].codec.map(Codec::name), Some(codec));
        let s = summarize(&path).unwrap_or_else(|e| panic!("{codec}: {e}"));
        assert_same_workload(&s);
        assert_eq!(s.jobs, reference.jobs, "{codec}");
        assert_eq!(s.stages, reference.stages, "{codec}");
        assert_eq!((s.tasks.total, s.tasks.succeeded), (reference.tasks.total, reference.tasks.succeeded), "{codec}");
    }
}

#[test]
fn rolling_lz4_log_reads() {
    let path = fixtures().join("eventlog_v2_local-1795267020467");
    let log = EventLog::open(&path).expect("opens");
    assert_eq!((log.layout, log.parts.len(), log.in_progress), (Layout::Rolling, 1, false));
    assert_eq!(log.parts[0].codec, Some(Codec::Lz4));
    assert_same_workload(&summarize(&path).expect("readable"));
}

/// A copy of the `codec` fixture's first `len` bytes in `dir`, named like Spark names it.
fn cut_copy(dir: &Path, codec: &str, len: usize, in_progress: bool) -> PathBuf {
    let bytes = fs::read(fixture(codec)).expect("fixture bytes");
    let name = format!("local-1.{codec}{}", if in_progress { ".inprogress" } else { "" });
    let path = dir.join(name);
    fs::write(&path, &bytes[..len.min(bytes.len())]).expect("write copy");
    path
}

fn fixture_len(codec: &str) -> usize {
    fs::metadata(fixture(codec)).map(|m| m.len() as usize).expect("fixture size")
}

#[test]
fn cut_in_progress_logs_end_with_a_warning() {
    let dir = tempfile::tempdir().expect("tempdir");
    for codec in ["lz4", "snappy", "lzf"] {
        let full = fixture_len(codec);
        for len in [full / 3, full / 2 + 7, full - 1] {
            let path = cut_copy(dir.path(), codec, len, true);
            let s = summarize(&path).unwrap_or_else(|e| panic!("{codec} cut at {len}: {e}"));
            assert!(s.log.in_progress);
            assert!(s.log.lines > 0 && s.log.lines <= 57, "{codec} cut at {len}: {} lines", s.log.lines);
            assert_eq!(s.warnings.len(), 1, "{codec} cut at {len}: {:?}", s.warnings);
            let warning = &s.warnings[0];
            assert_eq!(warning.file.as_deref(), Some(path.display().to_string().as_str()));
            assert!(warning.message.contains("still being written"), "{codec}: {}", warning.message);
            assert!(warning.message.contains(&format!("{codec} stream is cut off")), "{codec}: {}", warning.message);
            fs::remove_file(&path).expect("cleanup");
        }
    }
}

#[test]
fn cut_finished_logs_warn_that_the_rest_is_lost() {
    let dir = tempfile::tempdir().expect("tempdir");
    for codec in ["lz4", "snappy", "lzf"] {
        let path = cut_copy(dir.path(), codec, fixture_len(codec) / 2, false);
        let s = summarize(&path).unwrap_or_else(|e| panic!("{codec}: {e}"));
        assert!(s.log.lines > 0 && s.log.lines < 57, "{codec}: {} lines", s.log.lines);
        assert_eq!(s.warnings.len(), 1, "{codec}: {:?}", s.warnings);
        assert!(s.warnings[0].message.contains("the rest of this file is skipped"), "{codec}: {}", s.warnings[0]);
        assert_eq!(s.warnings[0].file.as_deref(), Some(path.display().to_string().as_str()));
        fs::remove_file(&path).expect("cleanup");
    }
}

#[test]
fn corrupt_logs_name_the_file_and_the_codec() {
    let dir = tempfile::tempdir().expect("tempdir");
    for codec in ["lz4", "snappy", "lzf"] {
        let mut bytes = fs::read(fixture(codec)).expect("fixture bytes");
        // Damage a stretch in the middle of the real fixture. lz4 blocks carry a checksum, so
        // any damage is caught; snappy-java and compress-lzf streams carry none, so damage
        // inside a literal run could only surface as unparsable lines. The stretch here hits
        // framing or back-references in all three fixtures, so each decoder must object.
        let middle = bytes.len() / 2;
        for byte in &mut bytes[middle..middle + 64] {
            *byte = !*byte;
        }
        // In-progress too: damage is reported as corruption, not as a tail still being written.
        let path = dir.path().join(format!("local-2.{codec}.inprogress"));
        fs::write(&path, &bytes).expect("write copy");
        let s = summarize(&path).unwrap_or_else(|e| panic!("{codec}: {e}"));
        assert!(s.log.lines < 57, "{codec}: {} lines", s.log.lines);
        let corrupt: Vec<_> =
            s.warnings.iter().filter(|w| w.message.contains(&format!("corrupt {codec} stream"))).collect();
        assert_eq!(corrupt.len(), 1, "{codec}: {:?}", s.warnings);
        assert_eq!(corrupt[0].file.as_deref(), Some(path.display().to_string().as_str()));
        assert!(!corrupt[0].message.contains("still being written"), "{codec}: {}", corrupt[0]);
        fs::remove_file(&path).expect("cleanup");
    }
}

#[test]
fn short_garbage_is_corrupt_not_cut_off() {
    let dir = tempfile::tempdir().expect("tempdir");
    for codec in ["lz4", "snappy", "lzf"] {
        let path = dir.path().join(format!("local-3.{codec}.inprogress"));
        fs::write(&path, b"\x00\x01").expect("write");
        let s = summarize(&path).unwrap_or_else(|e| panic!("{codec}: {e}"));
        assert_eq!(s.log.lines, 0);
        assert_eq!(s.warnings.len(), 1, "{codec}: {:?}", s.warnings);
        assert!(s.warnings[0].message.contains(&format!("corrupt {codec} stream at byte 0")), "{}", s.warnings[0]);
        assert_eq!(s.warnings[0].file.as_deref(), Some(path.display().to_string().as_str()));
    }
}
