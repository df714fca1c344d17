//! CPU and memory written in the user's words (Kubernetes and Spark
//! spellings) for explanations. Must not: decide anything.

use sparkplane_api::{CpuAmount, MemorySize};

// ---------------------------------------------------------------------------
// Formatting in the user's words.

pub(super) fn fmt_cpu(cpu: CpuAmount) -> String {
    let millis = cpu.millis();
    if millis.is_multiple_of(1000) {
        format!("{} CPU", millis / 1000)
    } else {
        let text = format!("{}.{:03}", millis / 1000, millis % 1000);
        format!("{} CPU", text.trim_end_matches('0'))
    }
}

pub(super) fn fmt_mem(memory: MemorySize) -> String {
    let mib = memory.mib();
    if mib < 1024 {
        return format!("{mib} MiB");
    }
    let tenths = (mib * 10 + 512) / 1024;
    if tenths.is_multiple_of(10) {
        format!("{} GiB", tenths / 10)
    } else {
        format!("{}.{} GiB", tenths / 10, tenths % 10)
    }
}

/// Two memory sizes that read differently even when they round alike.
pub(super) fn fmt_mem_pair(a: MemorySize, b: MemorySize) -> (String, String) {
    let (x, y) = (fmt_mem(a), fmt_mem(b));
    if x == y && a != b { (format!("{} MiB", a.mib()), format!("{} MiB", b.mib())) } else { (x, y) }
}

/// A heap no larger than `memory`, in the spelling users write (`6.2g`, `900m`).
pub(super) fn spark_memory_at_most(memory: MemorySize) -> String {
    let mib = memory.mib();
    if mib < 1024 {
        return format!("{mib}m");
    }
    let tenths = mib * 10 / 1024;
    if tenths.is_multiple_of(10) { format!("{}g", tenths / 10) } else { format!("{}.{}g", tenths / 10, tenths % 10) }
}
