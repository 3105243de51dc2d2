//! The publish state decoder (every stored format: the current one, whose segments the input itself
//! stands for; format 3, the data inside; format 2; JSON).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = wharf_publish::state::to_json(data, &|_| Some(data.to_vec()));
});
