//! The publish state decoder (every stored format: the current sectioned one, format 2, JSON).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = wharf_publish::state::to_json(data, &|_| None);
});
