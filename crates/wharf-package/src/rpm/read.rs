//! The .rpm reader: lead, signature header and main header parsed, the payload only streamed through the
//! hash — one pass over the file, memory bounded by the header size.

use std::io::{self, Read};

use wharf_core::digest::{Checksums, Hasher, HashingReader};

use crate::PackageError;

const FORMAT: &str = ".rpm";

/// One dependency as rpm-md lists it (`<rpm:entry name flags epoch ver rel pre/>`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RpmDependency {
    /// Name (or rich dependency).
    pub name: String,
    /// `EQ`, `LT`, `LE`, `GT`, `GE`, or none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<String>,
    /// Epoch of the version, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<String>,
    /// Version, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ver: Option<String>,
    /// Release, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rel: Option<String>,
    /// Needed before install scripts run (`pre="1"`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pre: bool,
}

/// One payload entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RpmFile {
    /// Absolute path.
    pub path: String,
    /// `dir`, `ghost`, or none for files and symlinks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// What an rpm-md index needs from an .rpm.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RpmInfo {
    /// Name.
    pub name: String,
    /// Epoch (0 when absent).
    pub epoch: u32,
    /// Version.
    pub version: String,
    /// Release.
    pub release: String,
    /// Architecture (`noarch` for independent packages; `src` for a source rpm).
    pub arch: String,
    /// Summary.
    pub summary: String,
    /// Description.
    pub description: String,
    /// Packager.
    pub packager: String,
    /// URL.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// Licence.
    pub license: String,
    /// Vendor.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub vendor: String,
    /// Group.
    pub group: String,
    /// Build host.
    pub buildhost: String,
    /// Source rpm.
    pub sourcerpm: String,
    /// Build time.
    pub build_time: u64,
    /// Installed size.
    pub installed_size: u64,
    /// Uncompressed payload size.
    pub archive_size: u64,
    /// Offset of the main header.
    pub header_start: u64,
    /// Offset of the payload (end of the main header).
    pub header_end: u64,
    /// Provides.
    pub provides: Vec<RpmDependency>,
    /// Requires (without `rpmlib(…)`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<RpmDependency>,
    /// Conflicts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<RpmDependency>,
    /// Obsoletes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub obsoletes: Vec<RpmDependency>,
    /// Recommends.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recommends: Vec<RpmDependency>,
    /// Suggests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suggests: Vec<RpmDependency>,
    /// Supplements.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supplements: Vec<RpmDependency>,
    /// Enhances.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enhances: Vec<RpmDependency>,
    /// Files.
    pub files: Vec<RpmFile>,
    /// Changelog: author, time, text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changelog: Vec<(String, u64, String)>,
    /// Whether the header carries an OpenPGP signature.
    pub signed: bool,
    /// Checksums of the whole file.
    pub checksums: Checksums,
}

fn bad(why: impl std::fmt::Display) -> PackageError {
    PackageError::invalid(FORMAT, why.to_string())
}

fn evr_parts(v: &str) -> (Option<String>, Option<String>, Option<String>) {
    if v.is_empty() {
        return (None, None, None);
    }
    let (epoch, rest) = match v.split_once(':') {
        Some((e, r)) if e.bytes().all(|b| b.is_ascii_digit()) => (Some(e.to_owned()), r),
        _ => (None, v),
    };
    let (ver, rel) = match rest.rsplit_once('-') {
        Some((v, r)) => (Some(v.to_owned()), Some(r.to_owned())),
        None => (Some(rest.to_owned()), None),
    };
    // rpm-md writes epoch="0" whenever there is a version.
    (Some(epoch.unwrap_or_else(|| "0".to_owned())), ver, rel)
}

fn deps(list: Result<Vec<rpm::Dependency>, rpm::Error>) -> Vec<RpmDependency> {
    use rpm::DependencyFlags as F;
    list.unwrap_or_default()
        .into_iter()
        .filter(|d| !d.name.starts_with("rpmlib(") && !d.flags.contains(F::RPMLIB))
        .map(|d| {
            let f = d.flags;
            let cmp = f & (F::LESS | F::GREATER | F::EQUAL);
            let flags = match cmp {
                c if c == F::EQUAL => Some("EQ"),
                c if c == F::LESS => Some("LT"),
                c if c == F::GREATER => Some("GT"),
                c if c == F::LE => Some("LE"),
                c if c == F::GE => Some("GE"),
                _ => None,
            };
            let (epoch, ver, rel) = evr_parts(&d.version);
            RpmDependency {
                name: d.name,
                flags: flags.map(str::to_owned),
                epoch,
                ver,
                rel,
                pre: f.intersects(F::PREREQ | F::SCRIPT_PRE | F::SCRIPT_POST),
            }
        })
        .collect()
}

/// rpm's own limits on a header (`lib/header.c`: `HEADER_TAGS_MAX`, `HEADER_DATA_MAX`).
const MAX_ENTRIES: u32 = 0xffff;
const MAX_STORE: u32 = 0x0fff_ffff;

/// Appends exactly `n` bytes of `r` to `into`. The buffer grows with the bytes that arrive, not with
/// what a header declares: a 112-byte file that declares a 256 MB header costs 112 bytes.
fn read_exact(r: &mut impl Read, n: usize, into: &mut Vec<u8>) -> Result<(), PackageError> {
    let start = into.len();
    let got = r
        .take(n as u64)
        .read_to_end(into)
        .map_err(|e| bad(format!("reading the headers: {e}")))?;
    if got < n || into.len() != start + n {
        return Err(bad("the file is truncated"));
    }
    Ok(())
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Reads one header structure (rpm `format_header.md`: magic, entry count, store size, 16-byte entries,
/// store) into `into`, checking every entry's type, bounds and string terminators, so the parser that
/// follows only ever sees a well-formed header. Returns the store size.
fn read_header(r: &mut impl Read, into: &mut Vec<u8>, which: &str) -> Result<usize, PackageError> {
    let at = into.len();
    read_exact(r, 16, into)?;
    let h = &into[at..];
    if h[..4] != [0x8e, 0xad, 0xe8, 0x01] {
        return Err(bad(format!("the {which} header has no header magic")));
    }
    let (count, store) = (be32(&h[8..12]), be32(&h[12..16]));
    if count == 0 || count > MAX_ENTRIES || store > MAX_STORE {
        return Err(bad(format!(
            "the {which} header declares {count} entries and {store} bytes, beyond rpm's limits"
        )));
    }
    let index_at = into.len();
    read_exact(r, count as usize * 16 + store as usize, into)?;
    let (index, data) = into[index_at..].split_at(count as usize * 16);
    let len = data.len() as u64;
    for e in index.chunks_exact(16) {
        let (ty, offset, n) = (
            be32(&e[4..8]),
            u64::from(be32(&e[8..12])),
            u64::from(be32(&e[12..16])),
        );
        // Every entry's offset must lie in the store, whatever its type: the parser slices at it.
        let fits = offset <= len
            && match ty {
                0 => true,
                1 | 2 | 7 => offset + n <= len,
                3 => offset + 2 * n <= len,
                4 => offset + 4 * n <= len,
                5 => offset + 8 * n <= len,
                // `n` NUL-terminated strings must fit in the store (a STRING holds exactly one).
                6 | 8 | 9 => {
                    offset < len
                        && (ty != 6 || n == 1)
                        && data[offset as usize..]
                            .iter()
                            .filter(|b| **b == 0)
                            .take(n as usize)
                            .count() as u64
                            == n
                }
                _ => false,
            };
        if !fits {
            return Err(bad(format!(
                "the {which} header has a corrupt entry (tag {})",
                be32(&e[..4])
            )));
        }
    }
    Ok(store as usize)
}

/// An .rpm read whole as rpm checks it: headers validated and parsed, the header digests of the
/// signature header and the payload digest of the main header recomputed, the sizes matched.
pub struct Checked {
    /// The lead and both headers, parsed.
    pub meta: rpm::PackageMetadata,
    /// Checksums of the whole file.
    pub checksums: Checksums,
}

/// The payload digests a main header can carry (rpm `rpmtag.h`: `RPMTAG_PAYLOADDIGEST` with
/// `RPMTAG_PAYLOADDIGESTALGO`, and rpm 6's `RPMTAG_PAYLOAD_SHA512`), hashed as the payload streams by.
enum PayloadHash {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl PayloadHash {
    fn update(&mut self, b: &[u8]) {
        use sha2::Digest as _;
        match self {
            Self::Sha256(h) => h.update(b),
            Self::Sha512(h) => h.update(b),
        }
    }

    fn hex(self) -> String {
        use sha2::Digest as _;
        match self {
            Self::Sha256(h) => hex::encode(h.finalize()),
            Self::Sha512(h) => hex::encode(h.finalize()),
        }
    }
}

/// `RPMTAG_PAYLOADDIGEST` (5092) with `RPMTAG_PAYLOADDIGESTALGO` (5093), and `RPMTAG_PAYLOAD_SHA512`
/// (5121), as the rpm crate names them.
const PAYLOAD_DIGESTS: [(rpm::IndexTag, Option<rpm::IndexTag>); 2] = [
    (
        rpm::IndexTag::RPMTAG_PAYLOADSHA256,
        Some(rpm::IndexTag::RPMTAG_PAYLOADSHA256ALGO),
    ),
    (rpm::IndexTag::RPMTAG_PAYLOAD_SHA512, None),
];

/// The payload digests `meta` states: (expected hex, hasher). rpm's `PGPHASHALGO`: 8 SHA-256, 10 SHA-512.
fn payload_digests(meta: &rpm::PackageMetadata) -> Result<Vec<(String, PayloadHash)>, PackageError> {
    let h = &meta.header;
    let mut out = Vec::new();
    for (tag, algo_tag) in PAYLOAD_DIGESTS {
        if !h.entry_is_present(tag) {
            continue;
        }
        let want = h
            .get_entry_data_as_string_array(tag)
            .ok()
            .and_then(|v| v.first().map(|s| (*s).to_owned()))
            .or_else(|| h.get_entry_data_as_string(tag).ok().map(str::to_owned))
            .ok_or_else(|| bad("its payload digest entry is malformed"))?;
        let algo = algo_tag
            .and_then(|t| h.get_entry_data_as_u32(t).ok())
            .unwrap_or(if algo_tag.is_some() { 8 } else { 10 });
        let hasher = match algo {
            8 => PayloadHash::Sha256(sha2::Sha256::default()),
            10 => PayloadHash::Sha512(sha2::Sha512::default()),
            // Digests rpm no longer makes (MD5, SHA-1) or this reader does not know: not checked here.
            _ => continue,
        };
        out.push((want.to_ascii_lowercase(), hasher));
    }
    Ok(out)
}

/// Reads a binary or source .rpm as `rpm -K` checks it, in one pass with memory bounded by the headers:
/// the lead and both headers (every entry's type, bounds and terminators validated before parsing),
/// the header digests the signature header states, the payload streamed through its digests (never
/// held) and its size against the signature header's.
pub fn read_checked(reader: impl Read) -> Result<Checked, PackageError> {
    let mut hasher = Hasher::for_package();
    let mut r = HashingReader::buffered(reader, &mut hasher);
    // Lead, signature header (padded to 8 bytes), main header: validated here, then parsed.
    let mut head = Vec::with_capacity(8192);
    read_exact(&mut r, 96, &mut head)?;
    if head[..4] != [0xed, 0xab, 0xee, 0xdb] {
        return Err(bad("no rpm lead magic (this is not an .rpm file)"));
    }
    let sig_store = read_header(&mut r, &mut head, "signature")?;
    read_exact(&mut r, (8 - sig_store % 8) % 8, &mut head)?;
    let header_start = head.len();
    read_header(&mut r, &mut head, "main")?;
    let meta = rpm::PackageMetadata::parse(&mut &head[..]).map_err(bad)?;
    // rpm's header digests (`RPMSIGTAG_SHA256`, …) over the main header.
    let digests = meta.check_digests().map_err(bad)?;
    if let Err(e) = digests.result() {
        return Err(bad(format!(
            "its header digest does not match its header ({e}): the file is damaged; rpm refuses it"
        )));
    }
    // The payload streams through its digests and the file's hasher; nothing of it is held.
    let mut payload_hashes = payload_digests(&meta)?;
    let mut payload = 0u64;
    loop {
        let chunk = io::BufRead::fill_buf(&mut r).map_err(|e| bad(format!("reading the payload: {e}")))?;
        if chunk.is_empty() {
            break;
        }
        for (_, h) in &mut payload_hashes {
            h.update(chunk);
        }
        let n = chunk.len();
        io::BufRead::consume(&mut r, n);
        payload += n as u64;
    }
    drop(r);
    // The signature header's size is the main header's plus the payload's (rpm's `RPMSIGTAG_SIZE`): a
    // truncated download or upload keeps its headers but not that size.
    let sig_size = meta
        .signature
        .get_entry_data_as_u64(rpm::IndexSignatureTag::RPMSIGTAG_LONGSIZE)
        .ok()
        .or_else(|| {
            meta.signature
                .get_entry_data_as_u32(rpm::IndexSignatureTag::RPMSIGTAG_SIZE)
                .ok()
                .map(u64::from)
        });
    let main_header = head.len() as u64 - header_start as u64;
    if let Some(want) = sig_size
        && want != main_header + payload
    {
        return Err(bad(format!(
            "its headers say {want} bytes of header and payload, the file has {}: it is truncated or \
             damaged; rebuild or download it again",
            main_header + payload
        )));
    }
    for (want, h) in payload_hashes {
        if h.hex() != want {
            return Err(bad(
                "its payload digest does not match its payload: the file is damaged; rpm refuses it \
                 (DIGESTS NOT OK)",
            ));
        }
    }
    Ok(Checked {
        meta,
        checksums: hasher.finish(),
    })
}

/// Reads any valid .rpm, binary or source: checks it as rpm does ([`read_checked`]), checks its file paths, and
/// hashes the whole file.
pub fn inspect(reader: impl Read) -> Result<RpmInfo, PackageError> {
    let Checked { meta, checksums } = read_checked(reader)?;
    // A source rpm's files are bare names (the spec and its sources), and its architecture is `src` in a
    // repository (createrepo_c's `<arch>src</arch>`), whatever it was built on.
    let source = meta.is_source_package();
    let h = &meta.header;
    let s = |t| {
        h.get_entry_data_as_string(t)
            .map(str::to_owned)
            .unwrap_or_default()
    };
    use rpm::IndexTag as T;
    let name = meta.get_name().map_err(bad)?.to_owned();
    let files = meta.get_file_entries().map_err(bad)?;
    let mut out_files = Vec::with_capacity(files.len());
    let mut policy = crate::paths::Policy::new();
    for f in &files {
        let path = f.path().to_string_lossy().into_owned();
        let kind = match f.file_type() {
            rpm::FileType::Dir => crate::paths::Kind::Dir,
            rpm::FileType::SymbolicLink => crate::paths::Kind::Symlink,
            _ => crate::paths::Kind::File,
        };
        policy
            .admit(path.trim_start_matches('/').as_bytes(), kind, None)
            .map_err(|why| bad(format!("{why}; the package is unsafe")))?;
        let clean = if source {
            !path.is_empty() && !path.contains(['/', '\0']) && path != "." && path != ".."
        } else {
            path.starts_with('/')
                && !path.contains('\0')
                && path[1..]
                    .split('/')
                    .all(|c| !c.is_empty() && c != "." && c != "..")
        };
        if !clean {
            return Err(bad(format!(
                "file path `{path}` is not a clean absolute path (`..`, `.` or empty parts)"
            )));
        }
        let kind = if f.flags().contains(rpm::FileFlags::GHOST) {
            Some("ghost".to_owned())
        } else if f.file_type() == rpm::FileType::Dir {
            Some("dir".to_owned())
        } else {
            None
        };
        out_files.push(RpmFile { path, kind });
    }
    let sig = &meta.signature;
    let archive_size = sig
        .get_entry_data_as_u64(rpm::IndexSignatureTag::RPMSIGTAG_LONGARCHIVESIZE)
        .or_else(|_| {
            sig.get_entry_data_as_u32(rpm::IndexSignatureTag::RPMSIGTAG_PAYLOADSIZE)
                .map(u64::from)
        })
        .unwrap_or(0);
    let signed = [
        rpm::IndexSignatureTag::RPMSIGTAG_RSA,
        rpm::IndexSignatureTag::RPMSIGTAG_DSA,
    ]
    .into_iter()
    .any(|t| sig.entry_is_present(t));
    let offsets = meta.get_package_segment_offsets();
    let info = RpmInfo {
        name,
        epoch: meta.get_epoch().unwrap_or(0),
        version: meta.get_version().map_err(bad)?.to_owned(),
        release: meta.get_release().map_err(bad)?.to_owned(),
        arch: if source {
            "src".to_owned()
        } else {
            meta.get_arch().map_err(bad)?.to_owned()
        },
        // I18NSTRING tags: read through the accessors that understand them.
        summary: meta.get_summary().map(str::to_owned).unwrap_or_default(),
        description: meta.get_description().map(str::to_owned).unwrap_or_default(),
        packager: s(T::RPMTAG_PACKAGER),
        url: s(T::RPMTAG_URL),
        license: s(T::RPMTAG_LICENSE),
        vendor: s(T::RPMTAG_VENDOR),
        group: meta.get_group().map(str::to_owned).unwrap_or_default(),
        buildhost: s(T::RPMTAG_BUILDHOST),
        sourcerpm: s(T::RPMTAG_SOURCERPM),
        build_time: meta.get_build_time().unwrap_or(0),
        installed_size: meta.get_installed_size().unwrap_or(0),
        archive_size,
        header_start: offsets.header,
        header_end: offsets.payload,
        provides: deps(meta.get_provides()),
        requires: deps(meta.get_requires()),
        conflicts: deps(meta.get_conflicts()),
        obsoletes: deps(meta.get_obsoletes()),
        recommends: deps(meta.get_recommends()),
        suggests: deps(meta.get_suggests()),
        supplements: deps(meta.get_supplements()),
        enhances: deps(meta.get_enhances()),
        files: out_files,
        changelog: meta
            .get_changelog_entries()
            .unwrap_or_default()
            .into_iter()
            .map(|c| (c.name, c.timestamp, c.description))
            .collect(),
        signed,
        checksums,
    };
    Ok(info)
}
