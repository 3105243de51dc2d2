//! A lookaside cache of source files (`sources/<package>/<file>/<sha512>/<file>`, Fedora's layout as fedpkg
//! uploads to it and `wharf lookaside` writes it): every object stands at that shape, and its bytes have
//! the SHA-512 its path names — what `fedpkg sources` and `wharf lookaside get` check after downloading.
//! Needs a source that can be listed (a directory or S3): an HTTP base URL names no objects.

use crate::{Ctx, Fault, Kind, RepoReport, check_package};

pub(crate) fn check(ctx: &mut Ctx<'_>, root: &str) -> RepoReport {
    let mut rep = RepoReport::new(Kind::Lookaside, root);
    let Some(listing) = ctx.listing else {
        rep.fail(
            root,
            Fault::Unreadable,
            "an HTTP source cannot be listed: verify the store the cache is in",
        );
        return rep;
    };
    let prefix = format!("{root}/");
    let keys: Vec<String> = listing
        .iter()
        .filter(|k| k.starts_with(&prefix))
        .cloned()
        .collect();
    for key in keys {
        let parts: Vec<&str> = key[prefix.len()..].split('/').collect();
        let [_, file, hash, name] = parts.as_slice() else {
            rep.fail(
                &key,
                Fault::Malformed,
                "not at sources/<package>/<file>/<sha512>/<file>",
            );
            continue;
        };
        if file != name || hash.len() != 128 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            rep.fail(
                &key,
                Fault::Malformed,
                "not at sources/<package>/<file>/<sha512>/<file>",
            );
            continue;
        }
        let hashes = [("sha512", *hash)];
        let _ = check_package(ctx, &mut rep, &key, None, &hashes, "its path", |_| ());
    }
    rep
}
