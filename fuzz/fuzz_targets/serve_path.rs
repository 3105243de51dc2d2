//! `wharf serve`'s request-path parser: no key it returns can leave the store or name its state.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(key) = wharf_serve::respond::key_of(path) {
        let trimmed = key.trim_end_matches('/');
        assert!(
            trimmed.is_empty() || wharf_store::check_key(trimmed).is_ok(),
            "key_of({path:?}) = {key:?} is not a store key"
        );
        assert!(
            !key.split('/').any(|s| s == ".wharf" || s == ".." || s == "."),
            "{key:?}"
        );
    }
});
