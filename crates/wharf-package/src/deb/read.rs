//! The .deb reader: one pass over the file yields its control paragraph and its checksums.

use std::io::{self, Read};

use wharf_core::deb822::Paragraph;
use wharf_core::digest::{Checksums, Hasher, HashingReader, skip_to_end};
use wharf_core::{PackageName, Version};

use super::member_compression;
use crate::compress::{self, Compression};
use crate::{PackageError, ar};

const FORMAT: &str = ".deb";
/// Control members larger than this, compressed or not, are refused (dpkg's own control parts are a
/// few KiB; a package of 100,000 files has a `md5sums` of ~10 MiB).
const CONTROL_LIMIT: u64 = 64 * 1024 * 1024;

/// What an index needs from a .deb.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebInfo {
    /// The `control` paragraph as the package carries it.
    pub control: Paragraph,
    /// Checksums and size of the whole .deb file.
    pub checksums: Checksums,
    /// Package name.
    pub name: PackageName,
    /// Version.
    pub version: Version,
    /// Architecture (`all` or a dpkg architecture name).
    pub arch: String,
}

fn bad(why: impl Into<String>) -> PackageError {
    PackageError::invalid(FORMAT, why)
}

fn io_bad(e: &io::Error) -> PackageError {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        bad("the file is truncated")
    } else {
        bad(e.to_string())
    }
}

/// Reads any valid .deb (wharf's, dpkg-deb's, nFPM's): checks the ar layout and member order, extracts the
/// control paragraph, and hashes the whole file (`reader` need not be buffered: this buffers it, above
/// the hashing).
pub fn inspect(reader: impl Read) -> Result<DebInfo, PackageError> {
    let mut hasher = Hasher::for_package();
    let mut r = HashingReader::buffered(reader, &mut hasher);
    ar::read_magic(&mut r).map_err(|e| io_bad(&e))?;

    let mut stage = 0; // 0: want debian-binary, 1: want control, 2: want data, 3: done
    let mut control: Option<Paragraph> = None;
    while let Some(h) = ar::read_header(&mut r).map_err(|e| io_bad(&e))? {
        let mut body = (&mut r).take(h.size);
        match (stage, h.name.as_str()) {
            (_, n) if n.starts_with('_') => {
                skip_to_end(&mut body).map_err(|e| io_bad(&e))?;
            }
            (0, "debian-binary") => {
                let mut v = String::new();
                body.read_to_string(&mut v)
                    .map_err(|_| bad("debian-binary is not text"))?;
                if !v.starts_with("2.") {
                    return Err(bad(format!("unsupported format version `{}`", v.trim())));
                }
                stage = 1;
            }
            (1, n) if member_compression(n, "control.tar").is_some() => {
                if h.size > CONTROL_LIMIT {
                    return Err(bad("the control member is implausibly large"));
                }
                let c = member_compression(n, "control.tar").unwrap_or(Compression::None);
                control = Some(read_control(&mut body, c, h.size)?);
                skip_to_end(&mut body).map_err(|e| io_bad(&e))?;
                stage = 2;
            }
            (2, n) if member_compression(n, "data.tar").is_some() => {
                let c = member_compression(n, "data.tar").unwrap_or(Compression::None);
                check_data(&mut body, c, n, h.size)?;
                skip_to_end(&mut body).map_err(|e| io_bad(&e))?;
                stage = 3;
            }
            (3, n) => return Err(bad(format!("unexpected member `{n}` after data.tar"))),
            (s, n) => {
                let want = ["debian-binary", "control.tar.*", "data.tar.*"][s.min(2)];
                return Err(bad(format!(
                    "member `{n}` found where `{want}` must come (the order is mandatory)"
                )));
            }
        }
        if body.limit() != 0 {
            return Err(bad("the file is truncated"));
        }
        ar::skip_padding(&mut r, h.size).map_err(|e| io_bad(&e))?;
    }
    if stage != 3 {
        return Err(bad(
            "missing members: a .deb needs debian-binary, control.tar and data.tar",
        ));
    }
    let control = control.ok_or_else(|| bad("no control member"))?;
    drop(r);
    DebInfo::from_control(control, hasher.finish())
}

impl DebInfo {
    /// The info of a .deb with this `control` paragraph and these file checksums (what [`inspect`]
    /// returns for it): checks `Package`, `Version` and `Architecture` (no whitespace, no `/`).
    pub fn from_control(control: Paragraph, checksums: Checksums) -> Result<Self, PackageError> {
        let (name, version, arch) = crate::control_identity(FORMAT, &control)?;
        Ok(Self {
            control,
            checksums,
            name,
            version,
            arch,
        })
    }
}

/// Walks the data member as dpkg unpacks it: decompressed to its very end (a corrupt or cut stream fails
/// here as `dpkg-deb` fails: "lzma error: compressed data is corrupt"), every entry admitted by the
/// payload-path policy ([`crate::paths`]). A small gzip member (what nFPM and most packages of a few
/// files have) is inflated at once by the thread's inflater into the thread's reused buffers: a decoder
/// made per package allocated its state and window in fresh memory, which cost more than inflating 64 KiB.
/// Anything larger, or inflating past [`DATA_WHOLE`], is streamed: memory does not grow with the member.
fn check_data(
    body: &mut impl io::BufRead,
    c: Compression,
    name: &str,
    size: u64,
) -> Result<(), PackageError> {
    let report = |why: String| {
        let refused = if why.ends_with("unsafe") {
            ""
        } else {
            "; dpkg refuses it"
        };
        bad(format!("{name}: {why}{refused}"))
    };
    if c == Compression::Gzip && size <= WHOLE_MEMBER {
        thread_local! {
            static BUFFERS: std::cell::RefCell<(Vec<u8>, Vec<u8>)> = const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
        }
        return BUFFERS.with_borrow_mut(|(gz, tar)| {
            gz.clear();
            tar.clear();
            body.read_to_end(gz).map_err(|e| io_bad(&e))?;
            let result = match compress::gunzip(gz, tar, DATA_WHOLE) {
                Ok(()) => crate::paths::check_payload_tar(&tar[..]).map_err(report),
                // Larger than the buffers take: the same bytes, streamed.
                Err(e) if e.kind() == io::ErrorKind::FileTooLarge => {
                    let dec = compress::decoder(&gz[..], c).map_err(|e| bad(format!("{name}: {e}")))?;
                    crate::paths::check_payload_tar(dec).map_err(report)
                }
                Err(e) => Err(report(format!("truncated or corrupt ({e})"))),
            };
            // A large package's buffers are not kept for the thread's next, small one.
            if tar.capacity() > 4 * WHOLE_MEMBER as usize {
                *tar = Vec::new();
            }
            result
        });
    }
    let dec = compress::buf_decoder(body, c).map_err(|e| bad(format!("{name}: {e}")))?;
    crate::paths::check_payload_tar(dec).map_err(report)
}

/// The most a small data member is inflated to in memory before it is streamed instead.
const DATA_WHOLE: usize = 16 << 20;

/// Members up to this size (compressed) are read whole and inflated at once; larger ones are streamed.
const WHOLE_MEMBER: u64 = 1024 * 1024;

fn read_control(body: &mut impl io::BufRead, c: Compression, size: u64) -> Result<Paragraph, PackageError> {
    // Decompressed whole first (a few KiB: control, md5sums, scripts), so the tar reader can seek over
    // what it does not read: reading a stream, the `tar` crate skips with a zeroed 32 KiB buffer for
    // every entry, even to skip nothing — most of the cost of a small package's control member.
    let mut tar = Vec::with_capacity(32 * 1024);
    let limit = usize::try_from(CONTROL_LIMIT).unwrap_or(usize::MAX);
    if c == Compression::Gzip && size <= WHOLE_MEMBER {
        // What nFPM and wharf write: the member, a few hundred bytes, inflated at once by the thread's
        // inflater rather than through a decoder made for it (a large one is streamed: never held
        // compressed and decompressed at once).
        let mut gz = Vec::with_capacity(4096);
        body.read_to_end(&mut gz).map_err(|e| io_bad(&e))?;
        compress::gunzip(&gz, &mut tar, limit).map_err(|e| match e.kind() {
            io::ErrorKind::FileTooLarge => bad("the control member is implausibly large"),
            _ => bad(format!("control.tar.gz: {e}")),
        })?;
    } else {
        compress::buf_decoder(body, c)
            .and_then(|dec| dec.take(CONTROL_LIMIT + 1).read_to_end(&mut tar))
            .map_err(|e| bad(format!("control.tar: {e}")))?;
    }
    if tar.len() > limit {
        return Err(bad("the control member is implausibly large"));
    }
    let mut archive = ::tar::Archive::new(io::Cursor::new(&tar[..]));
    let entries = archive
        .entries_with_seek()
        .map_err(|e| bad(format!("control.tar: {e}")))?;
    let mut found = None;
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(format!("control.tar: {e}")))?;
        let path = entry
            .path()
            .map_err(|e| bad(format!("control.tar: {e}")))?
            .display()
            .to_string();
        if path == "./control" || path == "control" {
            let mut text = String::new();
            entry
                .read_to_string(&mut text)
                .map_err(|_| bad("control is not UTF-8 text"))?;
            found = Some(Paragraph::parse_one(&text).map_err(|e| bad(format!("control: {e}")))?);
        }
    }
    found.ok_or_else(|| bad("control.tar has no `control` file"))
}
