#!/usr/bin/env bash
# Builds every artifact of a sparkplane release into one folder (ADR 0048), checked and signed:
#
#   sparkplane-VERSION-linux-x86_64.tar.gz   the binary (DWARF stripped), LICENSE-free: Apache-2.0 by Cargo.toml
#   sparkplane-VERSION-image.oci.tar         the image (ADR 0047) as an OCI archive: podman load, docker load,
#                                            kind load image-archive, skopeo copy oci-archive:... docker://...
#   sparkplane-VERSION.tgz                   the chart, version and appVersion VERSION, the image pinned by digest
#   sparkplane-VERSION.crates.cdx.json       CycloneDX SBOM of every crate in Cargo.lock
#   sparkplane-VERSION-image.cdx.json        CycloneDX SBOM of the image (its Debian packages, binary, digest)
#   SHA256SUMS                               sha256sum -c reads it
#   *.sig                                    ECDSA P-256 signatures (base64 DER, as `cosign sign-blob --key`)
#   release.pub                              the public key (take it from a channel you trust, not from here)
#
#   scripts/release.sh VERSION --key release.key [--allow-dirty] [--out DIR] [--binary PATH]
#
# VERSION must be [workspace.package] version. A work tree with changes is refused unless
# --allow-dirty, which marks the version VERSION-dirty.g<commit>. --binary uses an already built
# sparkplane instead of common.sh SHIPPED_BUILD (the release profile, no developer features). The folder is written
# whole or not at all (default $CARGO_TARGET_DIR/release-artifacts/<version>; never overwritten).
# SPARKPLANE_XTASK names an already built xtask (the tests pass the one scripts/test.sh built with
# the workspace) instead of `cargo build -p xtask`, whose own feature set rebuilds half the tree.
# Exit codes: 0 released; 2 bad usage, a version mismatch or a dirty work tree; 3 a missing tool.
set -euo pipefail

usage() {
  sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
fail() {
  echo "release.sh: $2" >&2
  exit "$1"
}

version="" key="" allow_dirty="" out="" binary=""
while [ $# -gt 0 ]; do
  case "$1" in
    --key) key="${2:?--key needs a private key file}"; shift 2 ;;
    --allow-dirty) allow_dirty=1; shift ;;
    --out) out="${2:?--out needs a directory}"; shift 2 ;;
    --binary) binary="${2:?--binary needs a path}"; shift 2 ;;
    -h|--help) usage ;;
    -*) echo "release.sh: unknown option '$1'" >&2; usage ;;
    *) [ -z "$version" ] || { echo "release.sh: one VERSION only ('$version', then '$1')" >&2; usage; }; version="$1"; shift ;;
  esac
done
[ -n "$version" ] || { echo "release.sh: which VERSION? e.g. scripts/release.sh 0.1.0 --key release.key" >&2; usage; }
[ -n "$key" ] || fail 2 "--key is missing: pass the release's private key (make a pair with 'sparkplane release keygen --out DIR')"

for tool in podman skopeo; do
  command -v "$tool" >/dev/null 2>&1 \
    || fail 3 "$tool is not installed: run 'source scripts/common.sh && need_containers' (Debian: apt-get install podman buildah skopeo umoci runc docker-registry), then run this again."
done
abs() { [ -z "$1" ] || realpath -m -- "$1"; }
key="$(abs "$key")" out="$(abs "$out")" binary="$(abs "$binary")"
[ -f "$key" ] || fail 2 "--key $key: no such file"
source "$(dirname "$0")/common.sh"
helm_python="$HOME/.cache/sparkplane/tools/helm/bin/python"
[ -x "$helm_python" ] || fail 3 "Helm's library is not installed: run 'source scripts/common.sh && need_helm', then run this again."

workspace_version="$(awk -F'"' '/^\[workspace.package\]/{p=1} p && /^version *=/{print $2; exit}' Cargo.toml)"
[ "$version" = "$workspace_version" ] \
  || fail 2 "VERSION $version is not the workspace version $workspace_version: set [workspace.package] version in Cargo.toml (and commit it) first"
commit="$(git rev-parse HEAD)"
changes="$(git status --porcelain)"
if [ -n "$changes" ]; then
  if [ -z "$allow_dirty" ]; then
    fail 2 "the work tree has $(printf '%s\n' "$changes" | wc -l) uncommitted changes (first: '$(printf '%s\n' "$changes" | head -n1 | cut -c4-)'): commit them, or pass --allow-dirty to release a marked version ($version-dirty.g${commit:0:12})"
  fi
  version="$version-dirty.g${commit:0:12}"
  echo "==> the work tree has changes: releasing $version" >&2
fi
epoch="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}"
export SOURCE_DATE_EPOCH="$epoch"
timestamp="$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)"
out="${out:-$CARGO_TARGET_DIR/release-artifacts/$version}"
[ ! -e "$out" ] || fail 2 "$out exists; a release folder is never overwritten: remove it or pass another --out"
# The release's Rust half (SBOMs, signatures, verification), built once up front.
xtask_bin="${SPARKPLANE_XTASK:-}"
if [ -z "$xtask_bin" ]; then
  cargo build -q --locked -p xtask >&2
  xtask_bin="$CARGO_TARGET_DIR/debug/xtask"
fi
[ -x "$xtask_bin" ] || fail 2 "SPARKPLANE_XTASK=$xtask_bin is not an executable file: build it first (cargo build -p xtask)"
xtask() { "$xtask_bin" "$@"; }

if [ -z "$binary" ]; then
  need_rust
  echo "==> building the release binary $version (${SHIPPED_BUILD[*]})" >&2
  SPARKPLANE_BUILD_VERSION="$version" SPARKPLANE_BUILD_COMMIT="$commit" "${SHIPPED_BUILD[@]}" >&2
  binary="$CARGO_TARGET_DIR/release/sparkplane"
fi
[ -x "$binary" ] || fail 2 "--binary $binary is not an executable file"

stage="$(mktemp -d "$(dirname "$out")/.release.XXXXXX" 2>/dev/null || { mkdir -p "$(dirname "$out")"; mktemp -d "$(dirname "$out")/.release.XXXXXX"; })"
trap 'rm -rf "$stage"' EXIT
work="$stage/.work"
mkdir -p "$work"

echo "==> the binary tarball" >&2
mkdir -p "$work/sparkplane-$version"
cp "$binary" "$work/sparkplane-$version/sparkplane"
strip --strip-debug "$work/sparkplane-$version/sparkplane"
cp README.md "$work/sparkplane-$version/README.md"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" -C "$work" -cf - "sparkplane-$version" \
  | gzip -n -9 >"$stage/sparkplane-$version-linux-x86_64.tar.gz"

echo "==> the image" >&2
reference="$(scripts/image.sh --binary "$binary" --version "$version" \
  --tag "ghcr.io/sparkplane/sparkplane:$version" --out "$work/image")"
digest="${reference##*@}"
mv "$work/image/image.oci.tar" "$stage/sparkplane-$version-image.oci.tar"

echo "==> the chart" >&2
cp -r charts/sparkplane "$work/sparkplane"
sed -i -e "s/^version: .*/version: $version/" -e "s/^appVersion: .*/appVersion: \"$version\"/" "$work/sparkplane/Chart.yaml"
sed -i -e "0,/^  tag: .*/s//  tag: \"$version\"/" -e "0,/^  digest: .*/s//  digest: \"$digest\"/" "$work/sparkplane/values.yaml"
grep -q "^  digest: \"$digest\"" "$work/sparkplane/values.yaml" || fail 2 "charts/sparkplane/values.yaml has no image.digest line to pin"
"$helm_python" - "$work/sparkplane" "$stage" <<'PY' >&2
import asyncio, sys
import helm_sdkpy
print(asyncio.run(helm_sdkpy.Package(helm_sdkpy.Configuration()).run(sys.argv[1], dest_dir=sys.argv[2])))
PY
[ -f "$stage/sparkplane-$version.tgz" ] || fail 2 "helm package did not write sparkplane-$version.tgz"

echo "==> the SBOMs" >&2
xtask sbom-crates --lock Cargo.lock --version "$version" --timestamp "$timestamp" \
  --out "$stage/sparkplane-$version.crates.cdx.json" >&2
distro="$(. /etc/os-release && echo "$ID-$VERSION_ID")"
xtask sbom-image --image-json "$work/image/image.json" --distro "$distro" --timestamp "$timestamp" \
  --out "$stage/sparkplane-$version-image.cdx.json" >&2

echo "==> checksums and signatures" >&2
rm -rf "$work"
(cd "$stage" && sha256sum -- * >SHA256SUMS)
xtask sign --key "$key" --public-out "$stage/release.pub" "$stage"/sparkplane-* "$stage/SHA256SUMS" >&2
xtask verify --key "$stage/release.pub" "$stage" >&2

mv "$stage" "$out"
trap - EXIT
echo "==> released $version ($reference) into $out" >&2
ls -1 "$out"
