//! ADB files read whole (`packages.adb`): compression, blocks, and the ADB value tree.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(signed) = wharf_package::adb::read_signed(data) {
        let _ = wharf_package::adb::decode(&signed.adb);
    }
});
