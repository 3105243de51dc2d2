//! wharf's release tree (`releases/`, written by `wharf release`): `index.json` lists every release and its
//! files; each `releases/<version>/` holds those files with those sizes and SHA-256s and a `SHA256SUMS`
//! that `sha256sum -c` accepts; each pointer `releases/latest` / `latest-<channel>` names the newest
//! release of its channel (stable for `latest`) — never a version that is not there, never an older one.

use serde_json::Value;

use crate::{Ctx, Fault, Kind, RepoReport, check_file, join, safe};

/// The channel `releases/latest` follows.
const ROOT_CHANNEL: &str = "stable";

pub(crate) fn check(ctx: &mut Ctx<'_>, dir: &str) -> RepoReport {
    let mut rep = RepoReport::new(Kind::Releases, dir);
    let index_key = join(dir, "index.json");
    let Some(bytes) = ctx.get(&index_key) else {
        rep.fail(&index_key, Fault::Missing, "not there");
        return rep;
    };
    rep.indexes += 1;
    let releases = match serde_json::from_slice::<Value>(&bytes) {
        Ok(v) => match v.get("releases").and_then(Value::as_array) {
            Some(r) => r.clone(),
            None => {
                rep.fail(&index_key, Fault::Malformed, "has no `releases` array");
                return rep;
            }
        },
        Err(e) => {
            rep.fail(&index_key, Fault::Malformed, format!("not JSON ({e})"));
            return rep;
        }
    };
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let mut newest: Vec<(String, String)> = Vec::new();
    for r in &releases {
        let (version, channel) = (text(r, "version"), text(r, "channel"));
        if version.is_empty() || !safe(&version) {
            rep.fail(
                &index_key,
                Fault::Malformed,
                format!("a release has the version `{version}`"),
            );
            continue;
        }
        // index.json lists releases newest first.
        if !newest.iter().any(|(c, _)| *c == channel) {
            newest.push((channel.clone(), version.clone()));
        }
        let rdir = join(dir, &version);
        let sums_key = join(&rdir, "SHA256SUMS");
        let sums = ctx
            .get(&sums_key)
            .map(|b| String::from_utf8_lossy(&b).into_owned());
        if sums.is_none() {
            rep.fail(
                &sums_key,
                Fault::Missing,
                format!("release {version} has no SHA256SUMS"),
            );
        }
        for a in r.get("artifacts").and_then(Value::as_array).into_iter().flatten() {
            let (file, sha) = (text(a, "file"), text(a, "sha256"));
            if !safe(&file) || file.contains('/') {
                rep.fail(
                    &index_key,
                    Fault::Malformed,
                    format!("release {version} names the file `{file}`"),
                );
                continue;
            }
            let size = a.get("size").and_then(Value::as_u64);
            let key = join(&rdir, &file);
            check_file(
                ctx,
                &mut rep,
                &key,
                size,
                &[("sha256", &sha)],
                &format!("index.json (release {version})"),
            );
            if let Some(sums) = &sums {
                let line = sums.lines().find(|l| {
                    l.split_whitespace().nth(1).map(|f| f.trim_start_matches('*')) == Some(file.as_str())
                });
                match line.and_then(|l| l.split_whitespace().next()) {
                    None => rep.fail(
                        &sums_key,
                        Fault::Missing,
                        format!("does not list {file}: `sha256sum -c` skips it"),
                    ),
                    Some(h) if !h.eq_ignore_ascii_case(&sha) => rep.fail(
                        &sums_key,
                        Fault::HashMismatch,
                        format!("says {h} for {file}, index.json says {sha}"),
                    ),
                    Some(_) => {}
                }
            }
        }
    }
    // Pointers: the listing's `latest*` keys, or (no listing) one per channel the index names.
    let pointers: Vec<String> = match ctx.listing {
        Some(all) => all
            .iter()
            .filter(|k| {
                k.strip_prefix(&join(dir, ""))
                    .is_some_and(|b| b == "latest" || b.starts_with("latest-"))
            })
            .cloned()
            .collect(),
        None => newest
            .iter()
            .map(|(c, _)| {
                join(
                    dir,
                    &if c == ROOT_CHANNEL {
                        "latest".to_owned()
                    } else {
                        format!("latest-{c}")
                    },
                )
            })
            .collect(),
    };
    for p in pointers {
        let Some(b) = ctx.get(&p) else { continue };
        let named = String::from_utf8_lossy(&b).trim().to_owned();
        let base = p.rsplit('/').next().unwrap_or(&p);
        let channel = base.strip_prefix("latest-").unwrap_or(ROOT_CHANNEL);
        match newest.iter().find(|(c, _)| c == channel) {
            None => rep.fail(
                &p,
                Fault::Orphaned,
                format!("points to {named}, but index.json has no release in channel {channel}"),
            ),
            Some((_, v)) if *v != named => {
                let known = releases.iter().any(|r| text(r, "version") == named);
                rep.fail(
                    &p,
                    Fault::Orphaned,
                    if known {
                        format!("points to {named}, but the newest {channel} release is {v}: a stale pointer")
                    } else {
                        format!("points to {named}, which index.json does not list")
                    },
                );
            }
            Some(_) => {}
        }
    }
    rep
}
