//! `install.sh`: a POSIX sh script (checked by shellcheck in the tests) that sets up the apt, dnf, zypper,
//! apk (v2 or v3) or opkg repository with its key, or falls back to the release tarball, verifying every
//! download against a SHA-256 written into the script. The body is fixed (`templates/install.sh`); only the
//! block of values at its top is generated, each single-quoted, so nothing from the configuration can run
//! as shell.

/// The values the script needs about the repositories it sets up.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// The project.
    pub project: String,
    /// Packages to install (space-separated in the script).
    pub packages: Vec<String>,
    /// Where the store is read (`https://…`, `file:///…`).
    pub base_url: String,
    /// Every channel with a release.
    pub channels: Vec<String>,
    /// The channel used without `--channel`.
    pub default_channel: String,
    /// The channel published at the top of the store (apt: its suite is `root_suite`).
    pub root_channel: String,
    /// The apt suite of `root_channel`.
    pub root_suite: String,
    /// The SHA-256 of `SHA256SUMS` of the newest release of every channel: `(version, sha256)`. The
    /// tarball method checks a pinned release's sums against it; another version's are taken as
    /// downloaded (with a note).
    pub pins: Vec<(String, String)>,
    /// The apt component, when an apt repository is published.
    pub apt_component: Option<String>,
    /// apt origin: the keyring, `.sources` and `.repo` names.
    pub origin: String,
    /// SHA-256 of `archive-keyring.gpg`.
    pub openpgp_keyring_sha256: String,
    /// rpm-md repositories (`linux-x86_64`).
    pub rpm_repos: Vec<String>,
    /// SHA-256 of `RPM-GPG-KEY-<origin>`.
    pub rpm_key_sha256: String,
    /// apk v2 key file name and SHA-256.
    pub apk_key: Option<(String, String)>,
    /// apk v3 key file name and SHA-256.
    pub apk3_key: Option<(String, String)>,
    /// opkg key (fingerprint) and SHA-256.
    pub opkg_key: Option<(String, String)>,
    /// pacman key file name (`<fingerprint>.asc`) and SHA-256.
    pub pacman_key: Option<(String, String)>,
}

/// The script's body.
const BODY: &str = include_str!("../templates/install.sh");

/// `'…'` with embedded quotes closed and escaped.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

impl Script {
    /// The whole script.
    #[must_use]
    pub fn render(&self) -> String {
        let pair = |p: &Option<(String, String)>| p.clone().unwrap_or_default();
        let (apk, apk_sha) = pair(&self.apk_key);
        let (apk3, apk3_sha) = pair(&self.apk3_key);
        let (opkg, opkg_sha) = pair(&self.opkg_key);
        let (pacman, pacman_sha) = pair(&self.pacman_key);
        let pins: Vec<String> = self.pins.iter().map(|(v, h)| format!("{v}={h}")).collect();
        let values: [(&str, String); 22] = [
            ("PROJECT", self.project.clone()),
            ("PACKAGES", self.packages.join(" ")),
            ("BASE_URL", self.base_url.trim_end_matches('/').to_owned()),
            ("CHANNELS", self.channels.join(" ")),
            ("DEFAULT_CHANNEL", self.default_channel.clone()),
            ("ROOT_CHANNEL", self.root_channel.clone()),
            ("ROOT_SUITE", self.root_suite.clone()),
            ("SUMS_PINS", pins.join(" ")),
            (
                "HAS_APT",
                if self.apt_component.is_some() {
                    "yes".into()
                } else {
                    String::new()
                },
            ),
            ("APT_COMPONENT", self.apt_component.clone().unwrap_or_default()),
            ("ORIGIN", self.origin.clone()),
            ("OPENPGP_KEYRING_SHA256", self.openpgp_keyring_sha256.clone()),
            ("RPM_REPOS", self.rpm_repos.join(" ")),
            ("RPM_KEY_SHA256", self.rpm_key_sha256.clone()),
            ("APK_KEY", apk),
            ("APK_KEY_SHA256", apk_sha),
            ("APK3_KEY", apk3),
            ("APK3_KEY_SHA256", apk3_sha),
            ("OPKG_KEY", opkg),
            ("OPKG_KEY_SHA256", opkg_sha),
            ("PACMAN_KEY", pacman),
            ("PACMAN_KEY_SHA256", pacman_sha),
        ];
        let header: Vec<String> = values.iter().map(|(k, v)| format!("{k}={}", quote(v))).collect();
        BODY.replace("@HEADER@", &header.join("\n"))
            .replace("@PROJECT@", &self.project)
            .replace("@BASE_URL@", self.base_url.trim_end_matches('/'))
            .replace('\r', "")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted() {
        let s = Script {
            project: "it's".into(),
            ..Script::default()
        };
        let text = s.render();
        assert!(text.contains(r"PROJECT='it'\''s'"), "{text}");
        assert!(text.starts_with("#!/bin/sh\n"));
    }
}
