//! README's tour and delivery walk-through, run as a new user runs them, so
//! README and program cannot drift apart: every `console` block between "A
//! short tour" and "Exit codes" is run command by command (`$ …` lines, `\`
//! continuing a line) with the binary under test first on PATH, in a fresh git
//! clone of the example files, and each command's output (stdout and stderr as
//! one stream, as a terminal shows them) is compared with the lines the README
//! shows under it.
//!
//! How the README's text is read:
//! - a line that is only `…` stands for any number of lines (none included);
//!   a `…` inside a line for any text there;
//! - `# … exit N` at the end of a command says its exit code (0 otherwise);
//! - `^C` is where the test interrupts a command that serves until Ctrl-C.
//!
//! What the comparison leaves out, on both sides (see `normalize`): runs of
//! spaces (table columns widen with their values), the home directory (shown
//! as `~`), hex ids of eight characters or more (run, spec, release, key and
//! commit hashes) and, in the output of the commands that run Spark or read
//! its logs (`VOLATILE`), every number: timings, sizes, counts and ports
//! differ from run to run. Lines a terminal shows as one live progress line
//! (`starting Spark · 0s`, `jobs 3/3 · … · 10s`) and the Connect client's
//! first-use install are dropped from the output.
//!
//! What the reader copies from earlier output is copied the same way: the
//! `sc://…;token=…` line `connect` printed, the event log `run` named and the
//! release id `release` printed. `bad.yaml` and `report.sql`, which the README
//! describes by their mistakes, are written as described. The history serve
//! command gets a free port in place of 18080 (shown as 18080 again).
//!
//! The starting point is the README's: a clone after `./scripts/example.sh`,
//! whose steps (sample data, the two example jobs' runs) the test repeats
//! with the debug binary. Needs the Spark 3.5 and 4.1 runtimes
//! (`sparkplane runtime install 3.5|4.1`; scripts/test.sh runs
//! `need_runtime`), Java, python3 and git. Slow (`slow_…`): it starts Spark
//! six times.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

/// One `$ …` command of a console block and the lines the README shows under it.
#[derive(Clone, Debug, PartialEq)]
struct Step {
    /// README line of the `$`.
    line: usize,
    command: String,
    expected: Vec<String>,
}

/// The console blocks of README's tour and walk-through (from "## A short tour" to "## Exit codes").
fn tour_blocks(readme: &str) -> Vec<Vec<Step>> {
    let start = readme.find("\n## A short tour\n").expect("README has a tour");
    let end = readme[start..].find("\n## Exit codes\n").map_or(readme.len(), |n| start + n);
    let first_line = readme[..start].lines().count() + 1;
    let mut blocks = Vec::new();
    let mut block: Option<Vec<Step>> = None;
    let mut continued = false;
    for (i, line) in readme[start..end].lines().enumerate() {
        let number = first_line + i;
        match &mut block {
            None if line == "```console" => block = Some(Vec::new()),
            None => {}
            Some(_) if line == "```" => blocks.push(block.take().unwrap_or_default()),
            Some(steps) => {
                if let Some(command) = line.strip_prefix("$ ") {
                    steps.push(Step { line: number, command: command.to_owned(), expected: Vec::new() });
                } else if let Some(step) = steps.last_mut().filter(|_| continued) {
                    step.command.push('\n');
                    step.command.push_str(line);
                } else if let Some(step) = steps.last_mut() {
                    step.expected.push(line.to_owned());
                } else {
                    panic!("README line {number}: a console block starts with `$ `, not {line:?}");
                }
                continued = line.ends_with('\\');
            }
        }
    }
    assert!(block.is_none(), "README: a console block in the tour is not closed");
    blocks
}

/// The exit code a command's trailing comment states (`# … exit 2`), else 0.
fn expected_exit(command: &str) -> i32 {
    let comment = command.rsplit_once(" # ").map_or("", |(_, c)| c).trim_end();
    comment.rsplit_once("exit ").and_then(|(_, n)| n.parse().ok()).unwrap_or(0)
}

/// Commands whose output holds timings, sizes or counts of a real run: their numbers are not compared.
const VOLATILE: &[&str] =
    &["run", "connect", "analyze", "cost", "history", "ci", "promote", "deployments", "release", "python3"];

fn is_volatile(command: &str) -> bool {
    let words: Vec<&str> = command.split_whitespace().collect();
    words.windows(2).any(|w| w[0] == "sparkplane" && VOLATILE.contains(&w[1])) || words.contains(&"python3")
}

/// Run ids' time stamps (`20261121-135341-4e4c`), hex ids of eight or more (hashes, key ids), durations
/// (`40s`, `1m5s`: a slower machine crosses into minutes) and numbers.
struct Redactions {
    stamp: regex::Regex,
    hex: regex::Regex,
    duration: regex::Regex,
    number: regex::Regex,
}

impl Redactions {
    fn new() -> Redactions {
        let re = |pattern: &str| regex::Regex::new(pattern).expect("a valid pattern");
        Redactions {
            stamp: re(r"\b\d{8}-\d{6}-[0-9a-f]{4}\b"),
            hex: re(r"\b[0-9a-f]{8,}\b"),
            duration: re(r"\b(\d+h)?(\d+m)?\d+(\.\d+)?s\b"),
            number: re(r"\d+(\.\d+)?"),
        }
    }
}

/// One line as compared: home as `~`, run stamps and hex ids and (for volatile commands) numbers
/// redacted, runs of spaces as one.
fn normalize(line: &str, home: &str, volatile: bool) -> String {
    thread_local!(static REDACTIONS: Redactions = Redactions::new());
    let line = if home.is_empty() { line.to_owned() } else { line.replace(home, "~") };
    let line = REDACTIONS.with(|r| {
        let line = r.stamp.replace_all(&line, "<stamp>");
        let line = r.hex.replace_all(&line, "<hex>");
        if volatile {
            let line = r.duration.replace_all(&line, "Ns");
            r.number.replace_all(&line, "N").into_owned()
        } else {
            line.into_owned()
        }
    });
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether `actual` matches `expected`, where `…` in `expected` stands for any text.
fn line_matches(expected: &str, actual: &str) -> bool {
    let parts: Vec<&str> = expected.split('…').map(str::trim).collect();
    if parts.len() == 1 {
        return expected == actual;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    let Some(mut rest) = actual.strip_prefix(first) else { return false };
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// Whether the lines match, a line `…` standing for any number of lines.
fn lines_match(expected: &[String], actual: &[String]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((e, rest)) if e == "…" => (0..=actual.len()).any(|skip| lines_match(rest, &actual[skip..])),
        Some((e, rest)) => actual.split_first().is_some_and(|(a, more)| line_matches(e, a) && lines_match(rest, more)),
    }
}

/// Lines a terminal shows as one live progress line, and the Connect client's first-use install.
fn is_transient(line: &str) -> bool {
    let progress = (line.starts_with("starting Spark · ") || line.starts_with("jobs "))
        && line
            .rsplit_once(" · ")
            .is_some_and(|(_, t)| t.ends_with('s') && t.starts_with(|c: char| c.is_ascii_digit()));
    progress
        || line.starts_with("creating the Spark Connect client's environment in ")
        || line.starts_with("pip install pyspark-client==")
}

fn compare(step: &Step, output: &str, home: &str) -> Result<(), String> {
    let volatile = is_volatile(&step.command);
    let trim = |lines: Vec<String>| {
        let mut lines = lines;
        while lines.last().is_some_and(String::is_empty) {
            lines.pop();
        }
        lines
    };
    let expected = trim(step.expected.iter().map(|l| normalize(l, "", volatile)).collect());
    let actual = trim(output.lines().filter(|l| !is_transient(l)).map(|l| normalize(l, home, volatile)).collect());
    if lines_match(&expected, &actual) {
        return Ok(());
    }
    Err(format!(
        "README line {}: `{}` printed what the README does not show.\n--- README (as compared)\n{}\n--- output (as \
         compared)\n{}\n--- output\n{output}",
        step.line,
        step.command,
        expected.join("\n"),
        actual.join("\n")
    ))
}

#[test]
fn ellipses_stand_for_lines_or_text_and_nothing_else() {
    let lines = |text: &str| text.lines().map(str::to_owned).collect::<Vec<_>>();
    assert!(lines_match(&lines("a\n…\nd"), &lines("a\nb\nc\nd")));
    assert!(lines_match(&lines("a\n…\nd"), &lines("a\nd")));
    assert!(!lines_match(&lines("a\nd"), &lines("a\nb\nd")), "a left-out line needs its …");
    assert!(!lines_match(&lines("a\n…"), &lines("b\nc")));
    assert!(line_matches("key id sha256:…", "key id sha256:<hex>"));
    assert!(line_matches("move work: …", "move work: avoid collect()"));
    assert!(line_matches("wrote … to …/trips…", "wrote 3 trips to /tmp/x/trips (removed 4)"));
    assert!(!line_matches("wrote … to …/trips", "wrote 3 trips to /tmp/x/trips (removed 4)"));
    assert_eq!(
        normalize("run a-20261121-135341-4e4c took 11.5s  on   local[2], spec 7cd95d8a", "", true),
        "run a-<stamp> took Ns on local[N], spec <hex>"
    );
    assert_eq!(
        normalize("succeeded in 1m5s (trips on local[2]), 40s, 1h2m3s, 250ms", "", true),
        normalize("succeeded in 40s (trips on local[2]), 9s, 5s, 8ms", "", true)
    );
    assert_eq!(normalize("took 1m5s", "", true), "took Ns");
    assert_eq!(normalize("kind:   Pod 12", "", false), "kind: Pod 12");
    assert_eq!(normalize("/home/u/.local/x deadbeefdeadbeef", "/home/u", false), "~/.local/x <hex>");
    assert_eq!(expected_exit("sparkplane validate bad.yaml    # exit 2"), 2);
    assert_eq!(expected_exit("sparkplane sql --file r.sql    # its line 6 says `FORM n`; exit 2"), 2);
    assert_eq!(expected_exit("sparkplane run job.yaml"), 0);
    assert!(is_transient("jobs 3/3 · stages 3/3 · tasks 5/5 · 10s"));
    assert!(is_transient("starting Spark · 0s"));
    assert!(!is_transient("jobs: 5"));
}

#[test]
fn the_tour_and_the_walk_through_are_console_blocks_of_commands_this_test_runs() {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README");
    let blocks = tour_blocks(&readme);
    let commands: Vec<&str> = blocks.iter().flatten().map(|s| s.command.as_str()).collect();
    // The tour's commands and the walk-through's, in README order; a command added or removed shows here.
    let firsts: Vec<String> =
        commands.iter().map(|c| c.split_whitespace().take(2).collect::<Vec<_>>().join(" ")).collect();
    assert_eq!(
        firsts,
        [
            "sparkplane run",
            "sparkplane connect",
            "sparkplane sql",
            "sparkplane sql",
            "sparkplane connect",
            "sparkplane resolve",
            "sparkplane fit",
            "sparkplane size",
            "sparkplane render",
            "sparkplane validate",
            "sparkplane analyze",
            "sparkplane cost",
            "sparkplane history",
            "cd examples/trips-etl",
            "sparkplane ci",
            "sparkplane release",
            "sparkplane release",
            "sparkplane promote",
            "sparkplane promote",
            "sparkplane deployments",
        ]
    );
    // Every command but the last of a block shows output or is followed by one that does.
    assert!(blocks.iter().all(|b| b.last().is_some_and(|s| !s.expected.is_empty())), "{blocks:#?}");
}

/// A fresh clone of the example files (a git repository with one commit) after `example.sh`'s steps,
/// a home of its own sharing the installed runtimes and clients, and the binary first on PATH.
struct Clone {
    root: tempfile::TempDir,
    home: tempfile::TempDir,
    bin_dir: PathBuf,
    pwd_file: PathBuf,
}

fn copy_dir(from: &Path, to: &Path, skip: &[&str]) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let name = entry.file_name();
        if skip.iter().any(|s| name == *s) {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(&name), skip);
        } else {
            std::fs::copy(&path, to.join(&name)).expect("copy");
        }
    }
}

impl Clone {
    fn new() -> Clone {
        let shared = sparkplane_local::runtime::default_home().expect("a SPARKPLANE_HOME");
        for line in ["3.5", "4.1"] {
            let marker = sparkplane_local::runtime::runtime_dir(&shared, line).join("runtime.json");
            assert!(
                marker.is_file(),
                "no Spark {line} runtime at {}: run `sparkplane runtime install {line}` (scripts/test.sh's need_runtime does)",
                marker.display()
            );
        }
        let home = tempfile::tempdir().expect("tmp");
        let data = home.path().join(".local/share/sparkplane");
        std::fs::create_dir_all(&data).expect("mkdir");
        for dir in ["runtimes", "clients"] {
            std::fs::create_dir_all(shared.join(dir)).expect("mkdir");
            std::os::unix::fs::symlink(shared.join(dir), data.join(dir)).expect("symlink");
        }
        let root = tempfile::tempdir().expect("tmp");
        // What a clone holds of what the tour reads: the examples, the node pools, the ignore rules.
        copy_dir(&repo().join("examples"), &root.path().join("examples"), &["data", ".sparkplane", "keys", "releases"]);
        copy_dir(&repo().join("presets"), &root.path().join("presets"), &[]);
        std::fs::copy(repo().join(".gitignore"), root.path().join(".gitignore")).expect("copy");
        let bin = sparkplane_testkit::cli::binary();
        let bin_dir = bin.parent().expect("the binary's folder").to_owned();
        let pwd_file = home.path().join("pwd");
        let clone = Clone { root, home, bin_dir, pwd_file };
        for git in [&["init", "-q"][..], &["add", "-A"], &["commit", "-qm", "a fresh clone"]] {
            clone.ok(Command::new("git").args(git));
        }
        // ./scripts/example.sh's steps: the sample data, then both example jobs on this machine.
        clone.ok(Command::new("python3").arg("examples/trips-etl/generate_trips.py"));
        clone.ok(Command::new(&bin).args(["run", "examples/trips-etl/trips-etl.yaml"]));
        clone.ok(Command::new(&bin).args(["run", "examples/trips-report/trips-report.yaml"]));
        // The files the README describes by their mistakes.
        std::fs::write(
            clone.root.path().join("bad.yaml"),
            "apiVersion: sparkplane.dev/v1alpha1\nkind: SparkJob\nmetadata:\n  name: bad\nspec:\n  preset: etl-small\n  \
             executr: {instances: 2}\n  driver: {memory: 4096}\n  type: Python\n  mainApplicationFile: \
             local:///opt/app/job.py\n  image: {repository: registry.example.com/bad, tag: \"1.0\"}\n",
        )
        .expect("bad.yaml");
        std::fs::write(
            clone.root.path().join("report.sql"),
            "-- the report\nCREATE OR REPLACE TEMPORARY VIEW n AS SELECT id FROM range(5);\n\nSELECT id,\n  id + 1 AS \
             next\n  FORM n;\n",
        )
        .expect("report.sql");
        clone
    }

    fn env(&self, cmd: &mut Command) {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![self.bin_dir.clone()];
        paths.extend(std::env::split_paths(&path));
        cmd.current_dir(self.root.path())
            .env("PATH", std::env::join_paths(paths).expect("PATH"))
            .env("HOME", self.home.path())
            .env("USER", "alice")
            .env("NO_COLOR", "1")
            .env("GIT_AUTHOR_NAME", "Alice")
            .env("GIT_AUTHOR_EMAIL", "alice@example.com")
            .env("GIT_COMMITTER_NAME", "Alice")
            .env("GIT_COMMITTER_EMAIL", "alice@example.com")
            .env("TOUR_PWD_FILE", &self.pwd_file)
            .env_remove("SPARKPLANE_HOME")
            .env_remove("XDG_DATA_HOME")
            .env_remove("SPARK_HOME")
            .env_remove("SPARKPLANE_USER")
            .env_remove("SPARKPLANE_PLATFORM_DIR")
            .env_remove("SPARKPLANE_CDEVENTS_SINK")
            .env_remove("SPARKPLANE_CONNECT_URL");
    }

    fn ok(&self, cmd: &mut Command) {
        self.env(cmd);
        let out = cmd.output().expect("runs");
        assert!(
            out.status.success(),
            "{cmd:?}\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs a command line in bash in `dir`, stdout and stderr as one stream; its exit code, output and
    /// the directory it ended in (`cd` carries over, as in a terminal).
    /// A command that has not ended after `STEP_TIMEOUT` is killed (its process group) and reported.
    fn shell(&self, command: &str, dir: &Path) -> (i32, String, PathBuf) {
        let script = format!("trap 'pwd > \"$TOUR_PWD_FILE\"' EXIT\n{{\n{command}\n}} 2>&1");
        let mut cmd = Command::new("bash");
        cmd.args(["-c", &script]);
        self.env(&mut cmd);
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd.current_dir(dir).stdin(Stdio::null()).stdout(Stdio::piped()).spawn().expect("bash runs");
        let mut stdout = child.stdout.take().expect("stdout");
        let reader = std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = std::io::Read::read_to_end(&mut stdout, &mut text);
            text
        });
        let deadline = Instant::now() + STEP_TIMEOUT;
        let code = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                let group = libc::pid_t::try_from(child.id()).expect("a pid");
                // SAFETY: kills the process group of our own child, which we have not reaped.
                unsafe { libc::kill(-group, libc::SIGKILL) };
                let _ = child.wait();
                break -2;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut output = String::from_utf8_lossy(&reader.join().unwrap_or_default()).into_owned();
        if code == -2 {
            output.push_str(&format!("[killed: still running after {}s]\n", STEP_TIMEOUT.as_secs()));
        }
        let pwd = std::fs::read_to_string(&self.pwd_file).map_or_else(|_| dir.to_owned(), |p| PathBuf::from(p.trim()));
        (code, output, pwd)
    }

    /// Runs a command that serves until Ctrl-C: waits for `before` lines of output, sends SIGINT, collects the rest.
    fn interrupted(&self, command: &str, dir: &Path, before: usize) -> (i32, String) {
        let mut cmd = Command::new("bash");
        cmd.args(["-c", &format!("exec {command} 2>&1")]);
        self.env(&mut cmd);
        let mut child = cmd.current_dir(dir).stdin(Stdio::null()).stdout(Stdio::piped()).spawn().expect("starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut lines = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while lines.len() < before {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => lines.push(line),
                Err(_) => break,
            }
        }
        let pid = libc::pid_t::try_from(child.id()).expect("a pid");
        // SAFETY: signals our own child, whose id we hold and have not reaped.
        unsafe { libc::kill(pid, libc::SIGINT) };
        let status = child.wait().expect("it ends");
        let _ = reader.join();
        lines.extend(rx.try_iter());
        (status.code().unwrap_or(-1), lines.join("\n") + "\n")
    }
}

impl Drop for Clone {
    fn drop(&mut self) {
        // A background Spark Connect server left by a failed step stops with the test.
        let mut cmd = Command::new(self.bin_dir.join("sparkplane"));
        self.env(&mut cmd);
        let _ = cmd.args(["connect", "stop"]).output();
    }
}

/// How long one README command may take (the slowest, `ci` with its local run, takes well under a minute).
const STEP_TIMEOUT: Duration = Duration::from_secs(240);

/// What the reader copies from one command's output into a later command.
#[derive(Default)]
struct Copied {
    connect_url: Option<String>,
    event_log: Option<String>,
    release: Option<String>,
}

impl Copied {
    fn take_from(&mut self, output: &str) {
        for line in output.lines() {
            if line.starts_with("sc://") && line.contains(";token=") {
                self.connect_url = Some(line.trim().to_owned());
            }
            if let Some(log) = line.trim().strip_prefix("event log:") {
                self.event_log = Some(log.trim().to_owned());
            }
            if let Some(id) = line.strip_prefix("released ") {
                self.release = Some(id.trim().to_owned());
            }
        }
    }

    /// The README's command with what the reader would paste.
    fn pasted_into(&self, command: &str, port: u16) -> String {
        let mut out = command.replace("127.0.0.1:18080", &format!("127.0.0.1:{port}"));
        if let (Some(url), Some(at)) = (&self.connect_url, out.find("'sc://")) {
            let end = out[at + 1..].find('\'').map_or(out.len(), |n| at + 2 + n);
            out.replace_range(at..end, &format!("'{url}'"));
        }
        if let (Some(log), Some(at)) = (&self.event_log, out.find("~/.local/share/sparkplane/history/eventlog_v2_")) {
            let end = out[at..].find(' ').map_or(out.len(), |n| at + n);
            out.replace_range(at..end, log);
        }
        if let Some(id) = &self.release {
            out = out.replace("trips-etl-dev-…", id);
        }
        out
    }
}

#[test]
fn slow_every_console_block_of_the_tour_and_walk_through_prints_what_the_readme_shows() {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README");
    // The README's `connect --background` takes Spark Connect's default port.
    assert!(
        std::net::TcpListener::bind("127.0.0.1:15002").is_ok(),
        "port 15002 on 127.0.0.1 is in use: the README's `sparkplane connect --background` needs it (`sparkplane \
         connect stop`, or stop what listens there)"
    );
    let clone = Clone::new();
    let home = clone.home.path().display().to_string();
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let mut copied = Copied::default();
    let mut problems = Vec::new();
    for block in tour_blocks(&readme) {
        // Each block starts where the README's reader stands: the repository root.
        let mut dir = clone.root.path().to_owned();
        for step in block {
            let command = copied.pasted_into(&step.command, port);
            let started = Instant::now();
            let (code, output) = match step.expected.iter().position(|l| l == "^C") {
                Some(before) => {
                    let (code, output) = clone.interrupted(&command, &dir, before);
                    let mut step = step.clone();
                    step.expected.remove(before);
                    let output = output.replace(&format!("127.0.0.1:{port}"), "127.0.0.1:18080");
                    if let Err(diff) = compare(&step, &output, &home) {
                        problems.push(diff);
                    }
                    (code, output)
                }
                None => {
                    let (code, output, pwd) = clone.shell(&command, &dir);
                    dir = pwd;
                    if let Err(diff) = compare(&step, &output, &home) {
                        problems.push(diff);
                    }
                    (code, output)
                }
            };
            // The README's command, not the pasted one: the token stays out of the test's log.
            let shown = &step.command;
            eprintln!("README line {}: exit {code} in {:.1}s: {shown}", step.line, started.elapsed().as_secs_f64());
            let expected = expected_exit(shown);
            if code != expected {
                problems.push(format!(
                    "README line {}: `{shown}` exited {code}, the README says {expected}\n{output}",
                    step.line
                ));
            }
            copied.take_from(&output);
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    // What the walk-through wrote (keys, releases, the CI report, data) is git-ignored: the clone is as it was,
    // but for the two files the test wrote for the tour.
    let status = Command::new("git")
        .args(["status", "--porcelain"])
        .current_dir(clone.root.path())
        .output()
        .expect("git status");
    assert_eq!(String::from_utf8_lossy(&status.stdout), "?? bad.yaml\n?? report.sql\n");
}
