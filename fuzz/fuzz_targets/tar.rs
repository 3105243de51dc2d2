//! A payload tar (a .deb's or .ipk's data.tar, decompressed) walked as an installer unpacks it.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = wharf_package::paths::check_payload_tar(data);
});
