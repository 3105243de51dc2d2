//! The apk v3 (ADB) package reader: compression, blocks, the ADB tree, DATA blocks against their sha256.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = wharf_package::apk3::inspect(data);
});
