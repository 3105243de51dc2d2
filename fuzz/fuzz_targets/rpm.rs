//! The .rpm reader: lead, both headers validated and parsed, header and payload digests.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = wharf_package::rpm::inspect(data);
});
