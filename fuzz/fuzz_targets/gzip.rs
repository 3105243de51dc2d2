//! gzip members (every header flag, several members, CRC-32 and size) into a bounded buffer.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    let _ = wharf_package::compress::gunzip(data, &mut out, 1 << 20);
    assert!(out.len() <= 1 << 20, "gunzip wrote past its limit");
});
