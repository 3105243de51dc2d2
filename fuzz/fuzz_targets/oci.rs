//! The OCI document reader (a base image's index or manifest, from a registry or a layout): the
//! descriptors, their digests and layer types, the platform choice, a config checked against a platform.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    use wharf_package::oci;
    let want = oci::platform("arm64").unwrap();
    match oci::read_document(data) {
        Ok(oci::Document::Index(list)) => {
            let _ = oci::select(&list, &want, "fuzz");
        }
        Ok(oci::Document::Manifest { .. }) | Err(_) => {}
    }
    if let Ok(config) = serde_json::from_slice::<serde_json::Value>(data) {
        let base = oci::Base {
            name: "fuzz".into(),
            config,
            layers: Vec::new(),
        };
        let _ = oci::check_base(&base, &want);
    }
});
