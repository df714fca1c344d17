//! `xtask`: the Rust half of sparkplane's own release (scripts/release.sh,
//! ADR 0048), independent of the `sparkplane` binary it releases — the
//! CycloneDX SBOM of every crate in Cargo.lock, the image's SBOM from
//! image.json, signatures over artifacts, and the check of a release
//! folder's SHA256SUMS and signatures.
//!
//! Owns: reading and writing those files. Must not: decide an SBOM's content
//! or a signature's format (sparkplane-delivery's `sbom` and `sign` do).
//!
//! Exit codes: 0 ok; 1 a checksum or signature does not match (the file is
//! named); 2 bad input (a missing file, an unreadable key or lock).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sha2::{Digest as _, Sha256};
use sparkplane_delivery::sbom;
use sparkplane_delivery::sign::{PrivateKey, PublicKey};

#[derive(Parser)]
#[command(name = "xtask", about = "sparkplane's release artifacts: SBOMs, signatures, verification")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The CycloneDX SBOM of every crate in a Cargo.lock.
    SbomCrates {
        #[arg(long, value_name = "FILE")]
        lock: PathBuf,
        /// The release's version.
        #[arg(long)]
        version: String,
        /// The release time (RFC 3339, UTC).
        #[arg(long)]
        timestamp: String,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// The CycloneDX SBOM of the image, from the image.json scripts/image.sh writes.
    SbomImage {
        #[arg(long, value_name = "FILE")]
        image_json: PathBuf,
        /// The Debian release the packages are from (e.g. debian-12).
        #[arg(long)]
        distro: String,
        #[arg(long)]
        timestamp: String,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Sign each file with a private key (ECDSA P-256, as `sparkplane release sign`): FILE.sig beside it.
    Sign {
        #[arg(long, value_name = "KEY")]
        key: PathBuf,
        /// Also write the public key here.
        #[arg(long, value_name = "FILE")]
        public_out: Option<PathBuf>,
        files: Vec<PathBuf>,
    },
    /// Check a release folder: SHA256SUMS is signed, and every file it lists has its hash and a matching signature.
    Verify {
        #[arg(long, value_name = "PUBLIC_KEY")]
        key: PathBuf,
        dir: PathBuf,
    },
}

/// How a step failed: the exit code and the message.
struct Failure(u8, String);

fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| Failure(2, format!("{}: {e}", path.display())))
}

fn read_text(path: &Path) -> Result<String, Failure> {
    String::from_utf8(read(path)?).map_err(|_| Failure(2, format!("{}: not UTF-8 text", path.display())))
}

fn write(path: &Path, text: &str) -> Result<(), Failure> {
    std::fs::write(path, text).map_err(|e| Failure(2, format!("{}: {e}", path.display())))
}

fn sbom_crates(lock: &Path, version: &str, timestamp: &str, out: &Path) -> Result<String, Failure> {
    let text = read_text(lock)?;
    let crates = sbom::parse_cargo_lock(&text).map_err(|e| Failure(2, format!("{}: {e}", lock.display())))?;
    let hash = format!("sha256:{:x}", Sha256::digest(text.as_bytes()));
    let doc = sbom::crates_sbom(&sbom::CratesSbomInput {
        name: "sparkplane",
        version,
        lock: &crates,
        lock_hash: &hash,
        timestamp,
    });
    write(out, &sbom::to_json(&doc))?;
    Ok(format!("{}: {} crates from {}", out.display(), crates.len(), lock.display()))
}

fn sbom_image(image_json: &Path, distro: &str, timestamp: &str, out: &Path) -> Result<String, Failure> {
    let meta: serde_json::Value = serde_json::from_str(&read_text(image_json)?)
        .map_err(|e| Failure(2, format!("{}: {e}", image_json.display())))?;
    let field = |name: &str| {
        meta[name]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| Failure(2, format!("{}: no `{name}`", image_json.display())))
    };
    let packages: Vec<sbom::DebianPackage> = meta["packages"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|p| sbom::DebianPackage {
            name: p["name"].as_str().unwrap_or_default().to_owned(),
            version: p["version"].as_str().unwrap_or_default().to_owned(),
            arch: p["arch"].as_str().unwrap_or_default().to_owned(),
        })
        .collect();
    let (repository, digest, version, binary) =
        (field("repository")?, field("digest")?, field("version")?, field("binarySha256")?);
    let doc = sbom::image_sbom(&sbom::ImageSbomInput {
        repository: &repository,
        digest: &digest,
        version: &version,
        binary_sha256: &binary,
        packages: &packages,
        distro,
        timestamp,
    });
    write(out, &sbom::to_json(&doc))?;
    Ok(format!("{}: {repository}@{digest} with {} Debian packages", out.display(), packages.len()))
}

fn sign(key: &Path, public_out: Option<&Path>, files: &[PathBuf]) -> Result<String, Failure> {
    let key = PrivateKey::from_pem(&read_text(key)?).map_err(|e| Failure(2, format!("{}: {e}", key.display())))?;
    for file in files {
        let signature = key.sign(&read(file)?);
        let mut sig = file.clone().into_os_string();
        sig.push(".sig");
        write(Path::new(&sig), &signature)?;
    }
    if let Some(out) = public_out {
        write(out, &key.public().to_pem())?;
    }
    Ok(format!("signed {} files with key {}", files.len(), key.public().key_id()))
}

/// Checks one file against its signature.
fn check_signature(key: &PublicKey, dir: &Path, name: &str) -> Result<(), Failure> {
    let data = read(&dir.join(name))?;
    let signature = read_text(&dir.join(format!("{name}.sig")))?;
    key.verify(&data, signature.trim()).map_err(|e| Failure(1, format!("{name}: {e}")))
}

fn verify(key: &Path, dir: &Path) -> Result<String, Failure> {
    let key = PublicKey::from_pem(&read_text(key)?).map_err(|e| Failure(2, format!("{}: {e}", key.display())))?;
    check_signature(&key, dir, "SHA256SUMS")?;
    let sums = read_text(&dir.join("SHA256SUMS"))?;
    let mut count = 0;
    for line in sums.lines().filter(|l| !l.trim().is_empty()) {
        let Some((expected, name)) = line.split_once("  ") else {
            return Err(Failure(1, format!("SHA256SUMS: `{line}` is not `<sha256>  <file>`")));
        };
        let actual = format!("{:x}", Sha256::digest(read(&dir.join(name))?));
        if actual != expected {
            return Err(Failure(1, format!("{name}: its SHA-256 is {actual}, SHA256SUMS says {expected}")));
        }
        check_signature(&key, dir, name)?;
        count += 1;
    }
    Ok(format!("{}: SHA256SUMS and {count} files verified with key {}", dir.display(), key.key_id()))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::SbomCrates { lock, version, timestamp, out } => sbom_crates(lock, version, timestamp, out),
        Command::SbomImage { image_json, distro, timestamp, out } => sbom_image(image_json, distro, timestamp, out),
        Command::Sign { key, public_out, files } => sign(key, public_out.as_deref(), files),
        Command::Verify { key, dir } => verify(key, dir),
    };
    match result {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(Failure(code, message)) => {
            eprintln!("xtask: {message}");
            ExitCode::from(code)
        }
    }
}
