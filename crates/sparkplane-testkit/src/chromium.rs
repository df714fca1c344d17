//! Finding the headless Chromium that tests open pages in.
//!
//! Owns: where the browser is (`SPARKPLANE_CHROMIUM`, else Debian's
//! `/usr/bin/chromium`) and the failure a test gets when it is missing.
//! Must not: drive the browser (each test passes the flags its check needs).

use std::path::PathBuf;

/// The Chromium binary. Panics, saying how to install it, when it is missing:
/// a test that needs a browser fails rather than passes without one.
pub fn binary() -> PathBuf {
    let path =
        std::env::var_os("SPARKPLANE_CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    assert!(
        path.is_file(),
        "this test opens pages in headless Chromium, and {} is missing: run scripts/test.sh, which installs it \
         (Debian: apt-get install chromium), or set SPARKPLANE_CHROMIUM",
        path.display()
    );
    path
}
