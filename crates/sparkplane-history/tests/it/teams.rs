//! Per-team folders below the root (`<root>/<team>/<log>`, the layout
//! sparkplane's presets write) are listed with the root's own logs, and each
//! application carries its team.

use std::path::Path;

use sparkplane_eventlog::LogSource;
use sparkplane_history::{Catalog, Index};

#[test]
fn logs_in_team_folders_are_listed_with_their_team() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/spark-history/spark-events");
    let root = tempfile::tempdir().expect("temp dir");
    for (team, log) in [
        (Some("team-a"), "local-1430917381535_1"),
        (Some("team-b"), "local-1422981780767"),
        (None, "local-1430917381535_2"),
    ] {
        let dir = match team {
            Some(team) => root.path().join(team),
            None => root.path().to_path_buf(),
        };
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::copy(data.join(log), dir.join(log)).expect("copy");
    }
    // Hidden folders are not teams.
    std::fs::create_dir_all(root.path().join(".trash")).expect("mkdir");
    std::fs::copy(data.join("local-1422981780767"), root.path().join(".trash/local-1422981780767")).expect("copy");

    let index = Index::new(LogSource::Local(root.path().to_path_buf()), 1 << 20);
    index.refresh().expect("lists");
    let mut teams: Vec<(String, Option<String>, Option<String>)> =
        index.entries().into_iter().map(|e| (e.attempt.app_id, e.attempt.attempt_id, e.team)).collect();
    teams.sort();
    assert_eq!(
        teams,
        [
            ("local-1422981780767".to_owned(), None, Some("team-b".to_owned())),
            ("local-1430917381535".to_owned(), Some("1".to_owned()), Some("team-a".to_owned())),
            ("local-1430917381535".to_owned(), Some("2".to_owned()), None),
        ]
    );
    assert_eq!(index.attempts().len(), 3);
}
