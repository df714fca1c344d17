//! Link-time settings for the `sparkplane` binary.

fn main() {
    let linux_gnu = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu");
    if linux_gnu {
        // Pack the ~80,000 relative relocations of this position-independent
        // binary into the compact RELR form (glibc 2.36+, binutils 2.38+): the
        // dynamic loader then reads a few KiB at start-up instead of a 2 MiB
        // table, which is most of what a short command such as `submit`
        // maps beyond the code it runs. ASLR is unchanged.
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
