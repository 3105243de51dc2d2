//! The apk v2 reader: gzip members, signatures, `.PKGINFO`, data member and `datahash`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = wharf_package::apk::inspect(data);
});
