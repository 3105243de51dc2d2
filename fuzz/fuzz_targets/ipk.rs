//! The .ipk reader: the outer gzip'd tar, control.tar.gz, data.tar.gz walked by the path policy.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = wharf_package::ipk::inspect(data);
});
