//! `wharf serve`'s request-path parser: no key it returns can leave the store or name its state.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(key) = wharf_serve::respond::key_of(path) {
        let trimmed = key.trim_end_matches('/');
        assert!(
            trimmed.is_empty() || wharf_store_key_ok(trimmed),
            "key_of({path:?}) = {key:?} is not a store key"
        );
        assert!(
            !key.split('/').any(|s| s == ".wharf" || s == ".." || s == "."),
            "{key:?}"
        );
    }
});

fn wharf_store_key_ok(key: &str) -> bool {
    !key.starts_with('/')
        && !key.contains('\\')
        && !key.chars().any(char::is_control)
        && key.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
}
