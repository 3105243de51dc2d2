//! Debian control paragraphs (deb822): `Field: value` lines, continuation lines starting with a space,
//! paragraphs separated by blank lines. Follows deb822(5) and dpkg's `lib/dpkg/parse.c`.
//!
//! Field order is kept as written; lookups are case-insensitive as dpkg's are.

use std::fmt;

/// One paragraph: ordered fields. Multi-line values keep their continuation lines (each starting with a
/// space) after the first `\n`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Paragraph {
    fields: Vec<(String, String)>,
}

/// Why a control text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// A line that is neither `Field: value` nor a continuation.
    #[error("line {line}: expected `Field: value`, found `{text}`")]
    BadLine {
        /// 1-based line number.
        line: usize,
        /// The line.
        text: String,
    },
    /// A continuation line before any field.
    #[error("line {0}: continuation line before any field")]
    OrphanContinuation(usize),
    /// The same field twice in one paragraph.
    #[error("line {line}: field `{field}` appears twice")]
    Duplicate {
        /// 1-based line number.
        line: usize,
        /// The field name.
        field: String,
    },
}

impl Paragraph {
    /// An empty paragraph.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a field, or replaces its value where it exists (keeping its position).
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        if let Some(slot) = self.fields.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
            slot.1 = value;
        } else {
            self.fields.push((name.to_owned(), value));
        }
    }

    /// Sets the field when `value` is non-empty (control files must not carry empty fields).
    pub fn set_nonempty(&mut self, name: &str, value: &str) {
        if !value.trim().is_empty() {
            self.set(name, value);
        }
    }

    /// A field's value.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Removes a field.
    pub fn remove(&mut self, name: &str) {
        self.fields.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    }

    /// Fields in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Checks every field with [`check_field`]: the paragraph writes out as exactly these fields.
    pub fn check(&self) -> Result<(), FieldError> {
        self.fields.iter().try_for_each(|(k, v)| check_field(k, v))
    }

    /// Parses every paragraph of a control text.
    pub fn parse_all(text: &str) -> Result<Vec<Self>, ParseError> {
        let mut out = Vec::new();
        let mut cur = Paragraph::new();
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            if line.trim().is_empty() {
                if !cur.fields.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                continue;
            }
            if line.starts_with(' ') || line.starts_with('\t') {
                let Some(last) = cur.fields.last_mut() else {
                    return Err(ParseError::OrphanContinuation(n));
                };
                last.1.push('\n');
                last.1.push_str(line);
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let Some((k, v)) = line.split_once(':') else {
                return Err(ParseError::BadLine {
                    line: n,
                    text: line.to_owned(),
                });
            };
            if k.is_empty() || k.contains(char::is_whitespace) {
                return Err(ParseError::BadLine {
                    line: n,
                    text: line.to_owned(),
                });
            }
            if cur.get(k).is_some() {
                return Err(ParseError::Duplicate {
                    line: n,
                    field: k.to_owned(),
                });
            }
            cur.fields.push((k.to_owned(), v.trim().to_owned()));
        }
        if !cur.fields.is_empty() {
            out.push(cur);
        }
        Ok(out)
    }

    /// Parses a text holding exactly one paragraph (a `control` file).
    pub fn parse_one(text: &str) -> Result<Self, ParseError> {
        let mut all = Self::parse_all(text)?;
        if all.is_empty() {
            return Err(ParseError::BadLine {
                line: 1,
                text: String::new(),
            });
        }
        Ok(all.swap_remove(0))
    }
}

impl fmt::Display for Paragraph {
    /// Writes `Field: value\n` per field ([`write_field`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, v) in &self.fields {
            write_field(f, k, v)?;
        }
        Ok(())
    }
}

/// Why a field cannot be written as deb822 reads it back, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the control field `{field}` cannot be written: {why}")]
pub struct FieldError {
    /// The field.
    pub field: String,
    /// What is wrong.
    pub why: &'static str,
}

/// Checks that `name: value` reads back as exactly that field (dpkg `lib/dpkg/parse.c`: a field name is
/// printable ASCII without `:` or white space; a value's further lines start with a space or tab and are
/// not empty, since an empty line ends the paragraph). Anything else would be read as other fields — a
/// value `utils\nEssential: yes` is two fields.
pub fn check_field(name: &str, value: &str) -> Result<(), FieldError> {
    let err = |why| {
        Err(FieldError {
            field: name.escape_debug().to_string(),
            why,
        })
    };
    if name.is_empty()
        || name.starts_with(['#', '-'])
        || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':')
    {
        return err("a field name is printable ASCII without `:` or white space");
    }
    if value.contains('\r') || value.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return err("the value contains a control character");
    }
    for (n, line) in value.split('\n').enumerate() {
        if n == 0 {
            continue;
        }
        if !line.starts_with([' ', '\t']) {
            return err("a line break in the value is not followed by a space: it would start another field");
        }
        if line.trim().is_empty() {
            return err("the value has an empty line: it would end the paragraph");
        }
    }
    Ok(())
}

/// Writes one field as a paragraph holds it: `Field: value\n`, or `Field:\n …` for a multi-line value
/// whose first line is empty. (Into a `String`, it cannot fail.)
pub fn write_field(w: &mut impl fmt::Write, name: &str, value: &str) -> fmt::Result {
    w.write_str(name)?;
    w.write_str(if value.starts_with('\n') { ":" } else { ": " })?;
    w.write_str(value)?;
    w.write_char('\n')
}

/// Formats a description as deb822 wants it: the synopsis, then each extended line indented by one
/// space, with empty lines written as ` .` (Debian Policy §5.6.13).
#[must_use]
pub fn description(synopsis: &str, extended: &str) -> String {
    let mut out = synopsis.trim().to_owned();
    for line in extended.trim_end().lines() {
        let line = line.trim_end();
        out.push('\n');
        if line.trim().is_empty() {
            out.push_str(" .");
        } else {
            out.push(' ');
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        let text = "Package: hello\nVersion: 1.0\nDescription: greets\n a world\n .\n bye\n\nPackage: b\n";
        let ps = Paragraph::parse_all(text).unwrap();
        assert_eq!(ps.len(), 2);
        assert_eq!(ps[0].get("description"), Some("greets\n a world\n .\n bye"));
        assert_eq!(format!("{}\n{}", ps[0], ps[1]), text);
    }

    #[test]
    fn errors() {
        assert!(matches!(
            Paragraph::parse_all(" x\n"),
            Err(ParseError::OrphanContinuation(1))
        ));
        assert!(matches!(
            Paragraph::parse_all("A: 1\nA: 2\n"),
            Err(ParseError::Duplicate { .. })
        ));
        assert!(matches!(
            Paragraph::parse_all("nocolon\n"),
            Err(ParseError::BadLine { .. })
        ));
    }

    #[test]
    fn description_format() {
        assert_eq!(description("Hi", "One\n\nTwo\n"), "Hi\n One\n .\n Two");
        assert_eq!(description("Hi", ""), "Hi");
    }

    #[test]
    fn fields_that_would_read_back_as_others_are_refused() {
        for (name, value) in [
            ("Maintainer", "A <a@b>\nDepends: evil"),
            ("Section", "utils\nEssential: yes"),
            ("Depends", "libc6\r\nPre-Depends: evil"),
            ("Description", "x\n\nPackage: evil"),
            ("Description", "x\n \nPackage: evil"),
            ("Homepage", "a\u{0}b"),
            ("Bad:Name", "x"),
            ("Bad Name", "x"),
            ("", "x"),
        ] {
            assert!(check_field(name, value).is_err(), "{name}: {value:?}");
        }
        check_field("Description", "one\n two\n .\n three").unwrap();
        check_field("Conffiles", "\n /etc/a 0123").unwrap();
        let mut p = Paragraph::new();
        p.set("Package", "x");
        p.set("Section", "utils\nEssential: yes");
        assert!(p.check().is_err());
        // What the check refuses is exactly what would not read back as one field.
        let text = p.to_string();
        assert_eq!(Paragraph::parse_one(&text).unwrap().get("Essential"), Some("yes"));
    }
}
