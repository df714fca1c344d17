//! `xtask sign`, `verify` and `sbom-crates` on a release folder made here: a
//! signed folder verifies; a changed file, a changed signature and a
//! SHA256SUMS line that is not `<sha256>  <file>` are exit 1 naming the file;
//! a missing or unreadable key is exit 2 naming its path.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest as _, Sha256};
use sparkplane_delivery::sign::PrivateKey;

fn xtask(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask")).args(args).output().expect("xtask runs")
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A folder with two artifacts and SHA256SUMS, all signed; the public key's path.
fn signed_folder(dir: &Path) -> PathBuf {
    let release = dir.join("release");
    std::fs::create_dir_all(&release).expect("mkdir");
    let key = PrivateKey::generate();
    let key_path = dir.join("release.key");
    std::fs::write(&key_path, key.to_pem()).expect("write key");
    let mut sums = String::new();
    for (name, body) in [("a.tar.gz", "first artifact"), ("b.json", "{\"second\": true}")] {
        std::fs::write(release.join(name), body).expect("write artifact");
        sums.push_str(&format!("{:x}  {name}\n", Sha256::digest(body.as_bytes())));
    }
    std::fs::write(release.join("SHA256SUMS"), sums).expect("write sums");
    let public = dir.join("release.pub");
    let out = xtask(&[
        "sign".as_ref(),
        "--key".as_ref(),
        key_path.as_os_str(),
        "--public-out".as_ref(),
        public.as_os_str(),
        release.join("a.tar.gz").as_os_str(),
        release.join("b.json").as_os_str(),
        release.join("SHA256SUMS").as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert!(text(&out).0.starts_with("signed 3 files with key "), "{:?}", text(&out));
    public
}

fn verify(public: &Path, release: &Path) -> Output {
    xtask(&["verify".as_ref(), "--key".as_ref(), public.as_os_str(), release.as_os_str()])
}

#[test]
fn a_signed_folder_verifies_and_every_change_is_exit_1_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let public = signed_folder(dir.path());
    let release = dir.path().join("release");
    let out = verify(&public, &release);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert!(text(&out).0.contains("SHA256SUMS and 2 files verified"), "{:?}", text(&out));

    // An artifact changed after signing: its hash no longer matches.
    std::fs::write(release.join("b.json"), "{\"second\": false}").expect("tamper");
    let out = verify(&public, &release);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.starts_with("xtask: b.json: its SHA-256 is "), "{:?}", text(&out));
}

#[test]
fn a_signature_from_another_key_is_exit_1_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let public = signed_folder(dir.path());
    let release = dir.path().join("release");
    let other = PrivateKey::generate();
    std::fs::write(release.join("a.tar.gz.sig"), other.sign(b"first artifact")).expect("replace signature");
    let out = verify(&public, &release);
    assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));
    assert!(text(&out).1.starts_with("xtask: a.tar.gz: "), "{:?}", text(&out));
}

#[test]
fn a_missing_key_is_exit_2_naming_its_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no-such.pub");
    let out = verify(&missing, dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.starts_with(&format!("xtask: {}: ", missing.display())), "{:?}", text(&out));
}

#[test]
fn the_crates_sbom_lists_every_package_of_the_lock_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.lock");
    let packages = std::fs::read_to_string(&lock).expect("Cargo.lock").matches("[[package]]").count();
    let out_file = dir.path().join("crates.cdx.json");
    let out = xtask(&[
        "sbom-crates".as_ref(),
        "--lock".as_ref(),
        lock.as_os_str(),
        "--version".as_ref(),
        "0.1.0".as_ref(),
        "--timestamp".as_ref(),
        "2026-01-02T03:04:05Z".as_ref(),
        "--out".as_ref(),
        out_file.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert!(text(&out).0.contains(&format!(": {packages} crates from ")), "{:?}", text(&out));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out_file).expect("sbom")).expect("json");
    assert_eq!(doc["bomFormat"], "CycloneDX");
    assert_eq!(doc["metadata"]["timestamp"], "2026-01-02T03:04:05Z");
}
