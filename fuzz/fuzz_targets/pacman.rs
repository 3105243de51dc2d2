//! The pacman package reader: the compressed tar, `.PKGINFO`, the payload walked by the path policy.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = wharf_package::pacman::inspect(data);
});
