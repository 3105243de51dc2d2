//! Control paragraphs (deb822): what .deb and .ipk controls, `Packages` and `Release` are read with.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(paragraphs) = wharf_core::deb822::Paragraph::parse_all(text)
    {
        // What the checker admits writes back as the same fields.
        for p in paragraphs {
            if p.check().is_ok() {
                let again = wharf_core::deb822::Paragraph::parse_one(&p.to_string());
                assert_eq!(
                    again.ok().as_ref(),
                    Some(&p),
                    "a checked paragraph did not read back"
                );
            }
        }
    }
});
