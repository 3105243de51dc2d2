//! The release index page (`index.html` at the store root): every release, newest first, grouped by
//! channel, with its artifacts, sizes and checksums, and how to install from each repository family. Static
//! HTML rendered with minijinja (auto-escaped), no JavaScript, no external resources; landmarks, a skip link,
//! tables with captions and header scopes (WCAG 2.2 techniques H39, H63). The template is replaceable
//! (`[release] page-template`); it gets the same [`Page`] context.

use serde::{Deserialize, Serialize};

use crate::manifest::{Manifest, human_size};

/// The template used when the project names none.
pub const DEFAULT_TEMPLATE: &str = include_str!("../templates/index.html");

/// Every release the store holds (`releases/index.json`), newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// [`crate::manifest::FORMAT`].
    pub format: u32,
    /// The releases.
    pub releases: Vec<Manifest>,
}

/// How to install from one repository family of one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Method {
    /// `apt`, `dnf`, `zypper`, `apk`, `apk3`, `opkg`, `tarball`, `script`.
    pub family: String,
    /// The heading: "Debian and Ubuntu (apt)".
    pub title: String,
    /// Shell commands.
    pub commands: String,
}

/// One channel's section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Channel {
    /// Its name (`stable`, `prerelease`, `dev`).
    pub name: String,
    /// How to install from it.
    pub install: Vec<Method>,
    /// Its releases, newest first.
    pub releases: Vec<Manifest>,
}

/// The page's context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page {
    /// The project.
    pub project: String,
    /// Where the store is read (links are relative, so the page also works from a copy).
    pub base_url: String,
    /// Channels in order: stable first, then by name.
    pub channels: Vec<Channel>,
    /// The newest stable release, if any.
    pub latest: Option<String>,
    /// When the page was made (RFC 3339).
    pub generated: String,
}

/// Why the page could not be made.
#[derive(Debug, thiserror::Error)]
#[error("release page template: {0}")]
pub struct PageError(String);

/// Renders `page` with `template` (None: [`DEFAULT_TEMPLATE`]).
pub fn render(page: &Page, template: Option<&str>) -> Result<String, PageError> {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.add_filter("size", |b: u64| human_size(b));
    env.add_template("index.html", template.unwrap_or(DEFAULT_TEMPLATE))
        .map_err(|e| PageError(e.to_string()))?;
    let t = env
        .get_template("index.html")
        .map_err(|e| PageError(e.to_string()))?;
    t.render(page).map_err(|e| PageError(format!("{e:#}")))
}

/// Groups `index`'s releases by channel (stable first).
#[must_use]
pub fn channels(index: &Index, install: &dyn Fn(&str) -> Vec<Method>) -> Vec<Channel> {
    let mut names: Vec<&str> = index.releases.iter().map(|r| r.channel.as_str()).collect();
    names.sort_by_key(|n| (*n != "stable", *n));
    names.dedup();
    names
        .into_iter()
        .map(|n| Channel {
            name: n.to_owned(),
            install: install(n),
            releases: index
                .releases
                .iter()
                .filter(|r| r.channel == n)
                .cloned()
                .collect(),
        })
        .collect()
}
