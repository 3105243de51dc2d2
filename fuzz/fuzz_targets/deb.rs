//! The .deb reader (publish and verify): ar layout, control member, data member walked by the path policy.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = wharf_package::deb::inspect(data);
});
