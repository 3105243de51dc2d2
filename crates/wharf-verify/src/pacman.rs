//! pacman repositories (`<dir>/<repo>.db`, `.db.sig`, `.files`, `.files.sig` beside the packages),
//! checked as pacman 6 reads them with `SigLevel = Required` (libalpm `be_sync.c` `sync_db_read`,
//! `_alpm_pkg_validate_internal` in `be_package.c`, `dload.c`):
//! - `<repo>.db` is signed by a given key (`<repo>.db.sig`, a detached binary signature over the file as
//!   fetched); `<repo>.files` too; `<repo>.db.tar.gz` and `<repo>.files.tar.gz`, when there, are the same
//!   bytes (repo-add makes the short names links to them);
//! - every `<name>-<version>/desc` has `%FILENAME%`, `%NAME%`, `%VERSION%`; the file is in the directory,
//!   with `%CSIZE%` bytes and the `%SHA256SUM%` pacman checks; its `.PKGINFO` gives the same name, version
//!   and architecture; its signature — `%PGPSIG%`, and the `<file>.sig` pacman 6 downloads beside it —
//!   is good by a given key over the whole file.

use std::collections::BTreeMap;
use std::io::Read;

use crate::{Ctx, Fault, Kind, RepoReport, check_package, join, openpgp_result, safe};

/// The most a package may hold for its signature to be checked (the signature covers the whole file,
/// which is held while it is read).
const SIGNED_PACKAGE_CEILING: u64 = 1 << 30;

/// `repo` is the repository's path without `.db` (`pacman/x86_64/wharf`).
pub(crate) fn check(ctx: &mut Ctx<'_>, repo: &str) -> RepoReport {
    let mut rep = RepoReport::new(Kind::Pacman, repo);
    let (dir, name) = repo.rsplit_once('/').unwrap_or(("", repo));
    let db_key = format!("{repo}.db");
    let Some(db) = ctx.get(&db_key) else {
        rep.fail(&db_key, Fault::Missing, "the database is not there");
        return rep;
    };
    rep.indexes += 1;
    signed_file(ctx, &mut rep, &db_key, &db);
    match ctx.get(&format!("{repo}.files")) {
        Some(files) => {
            rep.indexes += 1;
            signed_file(ctx, &mut rep, &format!("{repo}.files"), &files);
            same(ctx, &mut rep, &format!("{repo}.files.tar.gz"), &files);
        }
        None => rep.fail(
            &format!("{repo}.files"),
            Fault::Missing,
            "no files database: `pacman -F` finds nothing in this repository",
        ),
    }
    same(ctx, &mut rep, &format!("{repo}.db.tar.gz"), &db);
    let entries = match read_db(&db) {
        Ok(e) => e,
        Err(why) => {
            rep.fail(&db_key, Fault::Malformed, why);
            return rep;
        }
    };
    for (entry, desc) in entries {
        package(ctx, &mut rep, dir, name, &entry, &desc);
    }
    rep
}

/// A database and its `.sig`.
fn signed_file(ctx: &Ctx<'_>, rep: &mut RepoReport, key: &str, bytes: &[u8]) {
    let sig_key = format!("{key}.sig");
    match ctx.get(&sig_key) {
        None => rep.fail(
            &sig_key,
            Fault::Unsigned,
            "the database is not signed: pacman with `SigLevel = Required` refuses it",
        ),
        Some(sig) => openpgp_result(ctx, rep, &sig_key, ctx.keys.openpgp.detached(bytes, &sig)),
    }
}

/// `key`, when there, holds `bytes` (the long name of a database).
fn same(ctx: &Ctx<'_>, rep: &mut RepoReport, key: &str, bytes: &[u8]) {
    if let Some(other) = ctx.get(key)
        && other != bytes
    {
        rep.fail(
            key,
            Fault::VariantMismatch,
            "differs from the short name pacman fetches: two tools see two repositories",
        );
    }
}

/// Each entry's `desc`, parsed: field → values.
type Desc = BTreeMap<String, Vec<String>>;

/// The entries of a database (any compression pacman reads), each `desc` parsed as `sync_db_read` does:
/// `%FIELD%` lines open a field, its values follow one per line until a blank line.
fn read_db(bytes: &[u8]) -> Result<Vec<(String, Desc)>, String> {
    use wharf_package::compress::{Compression, decoder};
    let c = if bytes.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if bytes.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else if bytes.starts_with(&[0xfd, b'7', b'z', b'X', b'Z']) {
        Compression::Xz
    } else {
        Compression::None
    };
    let reader = decoder(bytes, c).map_err(|e| format!("cannot be decompressed ({e})"))?;
    let mut archive = ::tar::Archive::new(reader.take(crate::DECOMPRESSED_CEILING));
    let mut out = Vec::new();
    let entries = archive
        .entries()
        .map_err(|e| format!("not a tar archive ({e})"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("truncated or corrupt ({e})"))?;
        let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let Some(dir) = path.strip_suffix("/desc") else {
            continue;
        };
        let mut text = String::new();
        entry
            .read_to_string(&mut text)
            .map_err(|_| format!("{path} is not UTF-8 text"))?;
        let mut desc = Desc::new();
        let mut field: Option<String> = None;
        for line in text.lines() {
            if line.is_empty() {
                field = None;
            } else if let Some(f) = line.strip_prefix('%').and_then(|l| l.strip_suffix('%')) {
                field = Some(f.to_owned());
                desc.entry(f.to_owned()).or_default();
            } else if let Some(f) = &field {
                desc.entry(f.clone()).or_default().push(line.to_owned());
            }
        }
        out.push((dir.to_owned(), desc));
    }
    Ok(out)
}

fn package(ctx: &mut Ctx<'_>, rep: &mut RepoReport, dir: &str, repo: &str, entry: &str, desc: &Desc) {
    let db_key = join(dir, &format!("{repo}.db"));
    let one = |f: &str| desc.get(f).and_then(|v| v.first()).map_or("", String::as_str);
    let (filename, name, version) = (one("FILENAME"), one("NAME"), one("VERSION"));
    if filename.is_empty() || name.is_empty() || version.is_empty() {
        rep.fail(
            &db_key,
            Fault::Malformed,
            format!("{entry}: desc lacks %FILENAME%, %NAME% or %VERSION%"),
        );
        return;
    }
    if !safe(filename) || filename.contains('/') {
        rep.fail(
            &db_key,
            Fault::Malformed,
            format!("{entry}: %FILENAME% `{filename}` leaves the repository"),
        );
        return;
    }
    let size = match one("CSIZE").parse::<u64>() {
        Ok(s) => Some(s),
        Err(_) => {
            rep.fail(
                &db_key,
                Fault::Malformed,
                format!("{entry}: %CSIZE% is not a number"),
            );
            None
        }
    };
    let sha = one("SHA256SUM");
    let hashes: Vec<(&'static str, &str)> = if sha.is_empty() {
        rep.fail(
            &db_key,
            Fault::NoStrongHash,
            format!("{entry} has no %SHA256SUM%: pacman checks it by its signature alone"),
        );
        Vec::new()
    } else {
        vec![("sha256", sha)]
    };
    let key = join(dir, filename);
    let limit = size.unwrap_or(SIGNED_PACKAGE_CEILING).min(SIGNED_PACKAGE_CEILING);
    let Some((bytes, inspected)) = check_package(
        ctx,
        rep,
        &key,
        size,
        &hashes,
        &format!("{repo}.db ({entry})"),
        |r| {
            let mut bytes = Vec::new();
            let read = r.take(limit).read_to_end(&mut bytes);
            let inspected = read
                .map_err(|e| e.to_string())
                .and_then(|_| wharf_package::pacman::inspect(&bytes[..]).map_err(|e| e.to_string()));
            (bytes, inspected)
        },
    ) else {
        return;
    };
    match inspected {
        Err(e) => rep.fail(&key, Fault::Malformed, e),
        Ok(info) => {
            for (field, have, want) in [
                ("name", info.name.as_str(), name),
                ("version", info.version.as_str(), version),
                ("arch", info.arch.as_str(), one("ARCH")),
            ] {
                if have != want {
                    rep.fail(
                        &key,
                        Fault::Mismatch,
                        format!("its .PKGINFO says {field} {have}, the database says {want}"),
                    );
                }
            }
        }
    }
    let sig_key = format!("{key}.sig");
    let embedded = wharf_package::pacman::signature(one("PGPSIG")).filter(|s| !s.is_empty());
    match (embedded, ctx.get(&sig_key)) {
        (None, None) => rep.fail(
            &key,
            Fault::Unsigned,
            "neither %PGPSIG% nor a .sig beside it: pacman with `SigLevel = Required` refuses it",
        ),
        (embedded, file) => {
            if let (Some(e), Some(f)) = (&embedded, &file)
                && e != f
            {
                rep.fail(&sig_key, Fault::Mismatch, "differs from the database's %PGPSIG%");
            }
            if embedded.is_none() {
                rep.fail(
                    &db_key,
                    Fault::Unsigned,
                    format!("{entry} has no %PGPSIG%: pacman fetches {filename}.sig instead"),
                );
            }
            if file.is_none() {
                rep.fail(
                    &sig_key,
                    Fault::Missing,
                    "pacman 6 downloads the package's .sig and fails without it",
                );
            }
            if let Some(sig) = embedded.or(file) {
                let checked = ctx.keys.openpgp.detached(&bytes, &sig);
                openpgp_result(ctx, rep, &key, checked);
            }
        }
    }
}

/// Where the keys that signed the database at `repo` are published (`<tree>/pacman/keys/<fingerprint>.asc`,
/// the fingerprint the signature names).
pub(crate) fn key_paths(db_sig: &[u8], db: &[u8], repo: &str) -> Vec<String> {
    let keys_dir = repo
        .rsplit_once('/')
        .and_then(|(dir, _)| dir.rsplit_once('/'))
        .map_or_else(|| "keys".to_owned(), |(root, _)| join(root, "keys"));
    match wharf_sign::Keyring::new().detached(db, db_sig) {
        wharf_sign::Checked::UnknownKey { issuers } => issuers
            .into_iter()
            .filter(|i| i.len() == 40)
            .map(|fp| format!("{keys_dir}/{fp}.asc"))
            .collect(),
        _ => Vec::new(),
    }
}
