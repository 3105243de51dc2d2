//! `wharf publish`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use serde_json::json;
use wharf_config::AptConfig;
use wharf_publish::apt::{KEYRING_KEY, sources_entry};
use wharf_publish::rpmmd::key_file;

use super::{
    apk_digest, apt_config, builds, channel_tree, check_store_location, given_base_url, kind_keys_for,
    load_project, md_compression, open_store, txn_options,
};
use crate::cli::{Format, PublishArgs};
use crate::env::Env;
use crate::ops::package;
use crate::ops::publish::{
    PublishOptions, Reports, default_base_url, format_of, plan_text, publish, store_root,
};
use crate::ops::version;
use crate::output::Output;

/// The package files given: each file as it is, each directory as every package file below it (sorted;
/// hidden directories such as `.wharf/` and half-written temporary files left out). A path with a package
/// extension is taken as a file without a `stat`, so a republish of thousands of files costs nothing more.
fn package_files(given: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let is_package = |p: &Path| {
        p.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| Format::ALL.iter().any(|f| f.extension() == e))
    };
    let mut out = Vec::with_capacity(given.len());
    for p in given {
        if is_package(p) || !p.is_dir() {
            out.push(p.clone());
            continue;
        }
        let mut found = Vec::new();
        let mut dirs = vec![p.clone()];
        while let Some(d) = dirs.pop() {
            let entries = std::fs::read_dir(&d).with_context(|| format!("cannot list {}", d.display()))?;
            for e in entries {
                let e = e.with_context(|| format!("cannot list {}", d.display()))?;
                let hidden = e.file_name().to_string_lossy().starts_with('.');
                let kind = e
                    .file_type()
                    .with_context(|| format!("cannot read {}", e.path().display()))?;
                if hidden {
                    continue;
                }
                if kind.is_dir() {
                    dirs.push(e.path());
                } else if is_package(&e.path()) {
                    found.push(e.path());
                }
            }
        }
        if found.is_empty() {
            anyhow::bail!(
                "{}: no .deb, .rpm, .ipk or .apk file below this directory",
                p.display()
            );
        }
        found.sort();
        out.extend(found);
    }
    Ok(out)
}

pub fn run(args: &PublishArgs, env: &Env, out: &Output) -> anyhow::Result<()> {
    let given_files = package_files(&args.packages)?;
    // A project is needed to package; for explicit package files it only supplies settings.
    let mut project = if args.packages.is_empty() || args.project.config.is_some() {
        Some(load_project(&args.project, env, out)?)
    } else {
        load_project(&args.project, env, out).ok()
    };
    // Packages built here carry the version their release will have (git tags, or --version).
    if args.packages.is_empty()
        && let Some(p) = project.as_mut()
    {
        version::apply(p, args.version.as_deref(), out)?;
    } else if args.version.is_some() {
        anyhow::bail!(
            "--version applies to the packages wharf builds; the given package files carry their own"
        );
    }
    let project_dir = project
        .as_ref()
        .map_or_else(|| env.cwd.clone(), |p| p.dir.clone());
    let building =
        |f: Format| args.packages.is_empty() && project.as_ref().is_some_and(|p| builds(p, &args.formats, f));
    let given_formats: Vec<Format> = given_files.iter().filter_map(|p| format_of(p)).collect();
    let given = |f: Format| given_formats.contains(&f);
    // Where the repository goes is checked before anything is packaged or a key is made.
    let to = args
        .to
        .clone()
        .or_else(|| project.as_ref().and_then(|p| p.publish.to.clone()))
        .unwrap_or_else(|| "public".into());
    check_store_location(&to, &env.cwd, &project_dir)?;
    // Each repository kind has its own key: load (or make) only the ones this publish signs with.
    let dry_run = args.txn.dry_run;
    let keys = kind_keys_for(
        &crate::cli::KeyArgs {
            key: args.key.clone(),
            usign_key: args.usign_key.clone(),
            apk_key: args.apk_key.clone(),
            apk3_key: args.apk3_key.clone(),
        },
        project.as_ref(),
        env,
        out,
        [
            building(Format::Deb) || building(Format::Rpm) || given(Format::Deb) || given(Format::Rpm),
            building(Format::Ipk) || given(Format::Ipk),
            building(Format::Apk) || given(Format::Apk),
            building(Format::Apk3) || given(Format::Apk3),
        ],
        dry_run,
    )?;
    let (key, usign, apk, apk3) = (keys.openpgp, keys.usign, keys.apk, keys.apk3);

    // A dry run builds into a scratch directory that goes with it: nothing is left in dist/.
    let scratch = if dry_run { Some(tempfile::tempdir()?) } else { None };
    let packages: Vec<PathBuf> = if args.packages.is_empty() {
        let p = project.as_ref().ok_or_else(|| {
            anyhow::anyhow!("nothing to publish: pass package files, or run where a wharf.toml or Cargo.toml is (or use -c FILE)")
        })?;
        let built = package::build(
            p,
            &package::BuildOptions {
                formats: &args.formats,
                targets: &args.targets,
                out_dir: scratch.as_ref().map_or(Path::new("dist"), |d| d.path()),
                date: env.date(),
                key: key.as_ref(),
                usign: usign.as_ref(),
                apk: apk.as_ref(),
                apk3: apk3.as_ref(),
            },
            &mut |w| out.warn(&w),
        )?;
        for b in &built {
            out.status(
                if dry_run { "Would package" } else { "Packaged" },
                &format!("{} {} ({}, {})", b.name, b.version, b.arch, b.kind()),
            );
        }
        built.into_iter().map(|b| b.path).collect()
    } else {
        given_files.clone()
    };

    let apt = apt_config(project.as_ref());
    let suite = args.suite.clone().unwrap_or_else(|| apt.suite.clone());
    let component = args.component.clone().unwrap_or_else(|| apt.component.clone());
    let repos = if args.repos.is_empty() {
        project.as_ref().map(|p| p.rpm.repos.clone()).unwrap_or_default()
    } else {
        args.repos.clone()
    };
    let base_url = given_base_url(args.base_url.as_deref(), project.as_ref())?;
    // Its location was checked before anything was packaged.
    let store = open_store(&to, &args.store, project.as_ref(), env, out)?;
    if to.starts_with("s3://") && base_url.is_none() {
        out.warn("no --base-url (or [publish] base-url): the .repo files and instructions name the s3:// URL, which clients cannot read; pass the public URL of the bucket");
    }
    let txn = txn_options(&args.txn, project.as_ref());
    let channel = channel_tree(
        args.channel
            .clone()
            .or_else(|| project.as_ref().and_then(|p| p.publish.channel.clone())),
    );
    let suite = channel.clone().unwrap_or(suite);
    let reports = publish(&PublishOptions {
        store: &store,
        to: &to,
        txn: &txn,
        channel: channel.as_deref(),
        key: key.as_ref(),
        apt: &apt,
        suite: &suite,
        component: &component,
        rpm_repos: &repos,
        metadata_compression: md_compression(project.as_ref()),
        base_url: base_url.as_deref(),
        sign_unsigned: args.sign,
        usign: usign.as_ref(),
        apk: apk.as_ref(),
        apk_digest: apk_digest(project.as_ref()),
        apk3: apk3.as_ref(),
        feeds: &args.feeds,
        prune_apt: false,
        prune_rpm: false,
        date: env.date(),
        packages: &packages,
    })?;
    if dry_run {
        out.result(
            &format!("dry run: nothing written\n{}", plan_text(&reports)),
            &json!({ "dry_run": true, "reports": reports, "repository": to, "channel": channel }),
        );
        return Ok(());
    }
    let human = describe(
        &reports,
        &to,
        (&suite, &component, channel.as_deref()),
        &apt,
        base_url.as_deref(),
        out,
    );
    let apt_sources = reports.apt.as_ref().map(|_| {
        let uri = base_url.clone().unwrap_or_else(|| default_base_url(&to));
        let keyring = store_root(&to).join(KEYRING_KEY);
        sources_entry(&uri, &suite, &[&component], &keyring)
    });
    out.detail(&timings(&reports));
    let calls = store.calls();
    out.detail(&format!(
        "store calls: {} reads, {} writes ({} bytes), {} lists, {} deletes",
        calls.reads, calls.writes, calls.bytes_written, calls.lists, calls.deletes
    ));
    out.result(
        &human,
        &json!({ "reports": reports, "repository": to, "channel": channel, "apt_sources": apt_sources, "store_calls": calls }),
    );
    Ok(())
}

/// Where the time went, for -v: reading the packages, then each kind's lock, index work and writes.
fn timings(r: &Reports) -> String {
    let mut line = format!("time: inspect {:.1} ms", r.inspect_ms);
    if r.known_unchanged > 0 {
        line.push_str(&format!(
            " ({} of {} packages known unchanged, not read)",
            r.known_unchanged, r.packages
        ));
    }
    for k in r.each() {
        let (kind, c) = (k.kind, k.collected);
        let t = &c.timings;
        line.push_str(&format!(
            "; {kind}: lock {:.1} ms, index {:.1} ms, write {:.1} ms{}",
            t.lock_ms,
            t.index_ms,
            t.write_ms,
            if c.unchanged { " (nothing changed)" } else { "" }
        ));
    }
    line
}

/// One progress line per package published; unchanged ones only with -v.
fn announce(out: &Output, added: &[String], unchanged: &[String]) {
    for p in added {
        out.status("Published", p);
    }
    for u in unchanged {
        out.detail(&format!("unchanged: {u}"));
    }
}

/// Progress lines on stderr, and the "how to use it" text for stdout.
fn describe(
    r: &Reports,
    to: &str,
    (suite, component, channel): (&str, &str, Option<&str>),
    apt: &AptConfig,
    base: Option<&str>,
    out: &Output,
) -> String {
    let root = store_root(to);
    // The rpm-md, apk and opkg trees of a channel live under `<channel>/`.
    let tree = channel.map_or_else(|| root.clone(), |c| root.join(c));
    let tree_uri = || {
        let uri = base.map_or_else(|| default_base_url(to), str::to_owned);
        match channel {
            Some(c) => format!("{}/{c}", uri.trim_end_matches('/')),
            None => uri,
        }
    };
    let mut human = format!("Repository: {}\n", root.display());
    if let Some(a) = &r.apt {
        announce(out, &a.added, &a.unchanged);
        out.status(
            "Signed",
            &format!("dists/{suite}/InRelease with {}", a.fingerprint),
        );
        let uri = base.map_or_else(|| default_base_url(to), str::to_owned);
        let keyring = format!("/etc/apt/keyrings/{}.gpg", apt.origin);
        human.push_str(&format!(
            "\napt: {} package(s) added, {} unchanged. To use it, install the key and add a source:\n  install -m 0644 {} {keyring}\n  and write /etc/apt/sources.list.d/{}.sources:\n\n{}",
            a.added.len(),
            a.unchanged.len(),
            root.join(KEYRING_KEY).display(),
            apt.origin,
            sources_entry(&uri, suite, &[component], Path::new(&keyring))
        ));
    }
    if let Some(rp) = &r.rpm {
        announce(out, &rp.added, &rp.unchanged);
        for u in &rp.unsigned {
            out.warn(&format!(
                "{u} is not signed: dnf and zypper with gpgcheck=1 will refuse it"
            ));
        }
        for repo in &rp.repos {
            out.status(
                "Signed",
                &format!("{repo}/repodata/repomd.xml with {}", rp.fingerprint),
            );
        }
        if rp.repos.is_empty() {
            human.push_str(&unchanged("rpm", rp.unchanged.len()));
        } else {
            human.push_str(&format!(
                "\nrpm: {} package(s) added, {} unchanged, in {}. To use a repository, copy its .repo file:\n",
                rp.added.len(),
                rp.unchanged.len(),
                rp.repos.join(", ")
            ));
            for f in &rp.repo_files {
                human.push_str(&format!("  cp {} /etc/yum.repos.d/\n", tree.join(f).display()));
            }
            human.push_str(&format!(
                "  (the key is {}; dnf imports it from the .repo file's gpgkey=)\n",
                tree.join(key_file(&apt.origin)).display()
            ));
        }
    }
    if let Some(o) = &r.opkg {
        announce(out, &o.added, &o.unchanged);
        for f in &o.feeds {
            out.status(
                "Signed",
                &format!("opkg/{f}/Packages.sig with usign key {}", o.fingerprint),
            );
        }
        if o.feeds.is_empty() {
            human.push_str(&unchanged("opkg", o.unchanged.len()));
        } else {
            let uri = tree_uri();
            human.push_str(&format!(
                "\nopkg: {} package(s) added, {} unchanged, in feeds {}. On the router:\n  wget -O /etc/opkg/keys/{fp} {uri}/opkg/keys/{fp}   # the key: {}\n  echo \"src/gz {} {uri}/opkg/$(opkg print-architecture | awk 'END {{ print $2 }}')\" >> /etc/opkg/customfeeds.conf\n",
                o.added.len(),
                o.unchanged.len(),
                o.feeds.join(", "),
                tree.join("opkg/keys").join(&o.fingerprint).display(),
                apt.origin,
                fp = o.fingerprint
            ));
        }
    }
    if let Some(a) = &r.apk {
        announce(out, &a.added, &a.unchanged);
        for arch in &a.archs {
            out.status(
                "Signed",
                &format!("apk/{arch}/APKINDEX.tar.gz with {}", a.key_name),
            );
        }
        let uri = tree_uri();
        if a.archs.is_empty() {
            human.push_str(&unchanged("apk", a.unchanged.len()));
        } else {
            human.push_str(&format!(
            "\napk: {} package(s) added, {} unchanged, for {}. On the client:\n  install -m 0644 {} /etc/apk/keys/{}\n  echo {uri}/apk >> /etc/apk/repositories\n",
            a.added.len(),
            a.unchanged.len(),
            a.archs.join(", "),
            tree.join("apk/keys").join(&a.key_name).display(),
            a.key_name
        ));
        }
    }
    if let Some(a) = &r.apk3 {
        announce(out, &a.added, &a.unchanged);
        for arch in &a.archs {
            out.status("Signed", &format!("apk3/{arch}/packages.adb with {}", a.key_id));
        }
        let uri = tree_uri();
        if a.archs.is_empty() {
            human.push_str(&unchanged("apk v3", a.unchanged.len()));
        } else {
            human.push_str(&format!(
            "\napk v3: {} package(s) added, {} unchanged, for {}. On the router (apk-tools 3):\n  install -m 0644 {} /etc/apk/keys/\n  echo {uri}/apk3/$(cat /etc/apk/arch)/packages.adb >> /etc/apk/repositories.d/customfeeds.list\n",
            a.added.len(),
            a.unchanged.len(),
            a.archs.join(", "),
            tree.join("apk3/keys").join(format!("{}.pem", a.key_id)).display()
        ));
        }
    }
    human
}

/// The summary of a kind whose indexes this publish left as they were.
fn unchanged(kind: &str, packages: usize) -> String {
    match packages {
        0 => format!("\n{kind}: no change.\n"),
        n => format!("\n{kind}: no change ({n} package(s) given, all already published).\n"),
    }
}
