//! Parsed copies of package metadata files, kept next to their HTTP cache entries.
//!
//! Planning from warm metadata is bound by turning the cached JSON into [`PackageVersion`]s:
//! parsing, expanding minified lists and building the structs cost several times more than reading
//! the files. So once a package's file has been parsed, its versions are written next to the cache
//! entry in the compact binary form below, and later runs that get the same body (from the cache,
//! or confirmed by a `304`) decode that copy instead of parsing the JSON again.
//!
//! A copy is used only when everything it was made from is what the run has: the SHA-256 of the
//! body (a changed document has a new cache entry with a new digest), the URL, the package name,
//! this format and this version of upkeep. A copy that is not such a copy, or that does not
//! decode to the end, is ignored: the body is parsed again and the copy rewritten.
//!
//! The form: a magic line; the text of all strings, one after the other (its length first), so
//! that it is checked for UTF-8 once rather than string by string; then the structure: the key
//! (format number, upkeep version, URL, package, digest), whether the file has the package, the
//! table of link strings, its versions and the entries left out. Numbers are LEB128 varints; a
//! string is its length in the structure and its bytes next in the text. The table holds every
//! distinct package name and constraint of the versions' links once; a link is the two strings'
//! places in it, so that reading shares them between versions instead of allocating each again.
//! A version starts with its pretty and normalised forms; each other field is either `SAME`
//! (equal to the version before, as Composer's minified lists do it, which keeps copies smaller
//! than the JSON) or `NEW` followed by the value.

use std::sync::Arc;

use indexmap::IndexSet;
use serde_json::{Map, Number, Value};

use super::Found;
use super::metadata::{Links, PackageVersion, Source};
use crate::Version;

const MAGIC: &[u8] = b"upkeep parsed package metadata\n";

/// Changes whenever the layout below (or [`PackageVersion`]) changes; the upkeep version is part
/// of the key as well, so that released builds never read each other's copies.
const FORMAT: u64 = 4;

/// The field equals the previous version's.
const SAME: u8 = 0;
/// The field's value follows.
const NEW: u8 = 1;

const ABSENT: u8 = 0;
const PRESENT: u8 = 1;

/// Values nested deeper than this are not read (a corrupt copy must not exhaust the stack).
const MAX_VALUE_DEPTH: usize = 128;

/// What a copy was made from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CopyKey<'a> {
    pub(crate) url: &'a str,
    /// The package (lowercase) whose versions were read from the file.
    pub(crate) package: &'a str,
    /// SHA-256 of the body, lowercase hex.
    pub(crate) digest: &'a str,
}

/// The copy of what reading the file under `key` gave: `None` when the file does not list the
/// package.
pub(crate) fn encode(key: &CopyKey<'_>, found: Option<&Found>) -> Vec<u8> {
    let mut writer = Writer::default();
    writer.key(key);
    match found {
        None => writer.byte(ABSENT),
        Some(found) => {
            writer.byte(PRESENT);
            writer.link_table(&found.versions);
            writer.count(found.versions.len());
            let mut previous = None;
            for version in &found.versions {
                writer.version(version, previous);
                previous = Some(version);
            }
            writer.count(found.invalid.len());
            for invalid in &found.invalid {
                writer.str(invalid);
            }
        }
    }
    writer.finish()
}

/// What [`encode`] stored, when `bytes` is a whole copy made under `key`: `None` when the file
/// does not list the package.
pub(crate) fn decode(bytes: &[u8], key: &CopyKey<'_>) -> Result<Option<Found>, NotACopy> {
    let mut reader = Reader::new(bytes)?;
    reader.key(key)?;
    let found = match reader.byte()? {
        ABSENT => None,
        PRESENT => {
            reader.link_table()?;
            let count = reader.count()?;
            let mut versions: Vec<PackageVersion> = Vec::with_capacity(count);
            for _ in 0..count {
                let version = reader.version(versions.last())?;
                versions.push(version);
            }
            let count = reader.count()?;
            let mut invalid = Vec::with_capacity(count);
            for _ in 0..count {
                invalid.push(reader.string()?);
            }
            Some(Found { versions, invalid })
        }
        _ => return Err(NotACopy),
    };
    if reader.bytes.is_empty() && reader.text.is_empty() {
        Ok(found)
    } else {
        Err(NotACopy)
    }
}

/// Writes a copy: the structure and the text separately until [`Writer::finish`].
#[derive(Default)]
struct Writer {
    bytes: Vec<u8>,
    text: String,
    /// The distinct names and constraints of the links, by their place in the table.
    link_strings: IndexSet<String>,
}

impl Writer {
    fn finish(self) -> Vec<u8> {
        let mut copy = Writer {
            bytes: Vec::with_capacity(MAGIC.len() + 10 + self.text.len() + self.bytes.len()),
            ..Writer::default()
        };
        copy.bytes.extend_from_slice(MAGIC);
        copy.count(self.text.len());
        copy.bytes.extend_from_slice(self.text.as_bytes());
        copy.bytes.extend_from_slice(&self.bytes);
        copy.bytes
    }

    fn byte(&mut self, byte: u8) {
        self.bytes.push(byte);
    }

    fn varint(&mut self, mut value: u64) {
        loop {
            let low = value.to_le_bytes()[0] & 0x7f;
            value >>= 7;
            if value == 0 {
                self.bytes.push(low);
                return;
            }
            self.bytes.push(low | 0x80);
        }
    }

    fn count(&mut self, count: usize) {
        self.varint(count as u64);
    }

    fn str(&mut self, text: &str) {
        self.count(text.len());
        self.text.push_str(text);
    }

    fn key(&mut self, key: &CopyKey<'_>) {
        self.varint(FORMAT);
        self.str(env!("CARGO_PKG_VERSION"));
        self.str(key.url);
        self.str(key.package);
        self.str(key.digest);
    }

    fn optional<T>(&mut self, value: Option<&T>, write: impl FnOnce(&mut Self, &T)) {
        match value {
            None => self.byte(ABSENT),
            Some(value) => {
                self.byte(PRESENT);
                write(self, value);
            }
        }
    }

    fn optional_str(&mut self, text: Option<&String>) {
        self.optional(text, |writer, text| writer.str(text));
    }

    /// `SAME` when `value` equals the previous version's, else `NEW` and the value.
    fn field<T: PartialEq>(
        &mut self,
        value: &T,
        previous: Option<&T>,
        write: impl FnOnce(&mut Self, &T),
    ) {
        if previous == Some(value) {
            self.byte(SAME);
        } else {
            self.byte(NEW);
            write(self, value);
        }
    }

    fn version(&mut self, version: &PackageVersion, previous: Option<&PackageVersion>) {
        let optional_text = |writer: &mut Self, text: &Option<String>| {
            writer.optional_str(text.as_ref());
        };
        let optional_shared_text = |writer: &mut Self, text: &Option<Arc<str>>| {
            writer.optional(text.as_ref(), |writer, text| writer.str(text));
        };
        let value = |writer: &mut Self, value: &Option<Arc<Value>>| {
            writer.optional(value.as_deref(), Self::value);
        };
        self.field(&version.name, previous.map(|p| &p.name), |writer, name| {
            writer.str(name);
        });
        // Always written: versions differ, and equal versions (`1.0`, `1.0.0`) may be spelled
        // differently.
        self.str(version.version.pretty());
        self.str(version.version.normalized());
        for (links, previous) in [
            (&version.require, previous.map(|p| &p.require)),
            (&version.require_dev, previous.map(|p| &p.require_dev)),
            (&version.conflict, previous.map(|p| &p.conflict)),
            (&version.replace, previous.map(|p| &p.replace)),
            (&version.provide, previous.map(|p| &p.provide)),
        ] {
            self.field(links, previous, Writer::links);
        }
        self.field(
            &version.source,
            previous.map(|p| &p.source),
            |writer, source| {
                writer.optional(source.as_deref(), |writer, source| {
                    writer.str(&source.kind);
                    writer.str(&source.url);
                    writer.optional_str(source.reference.as_ref());
                });
            },
        );
        self.field(&version.time, previous.map(|p| &p.time), optional_text);
        self.field(
            &version.kind,
            previous.map(|p| &p.kind),
            optional_shared_text,
        );
        self.field(&version.abandoned, previous.map(|p| &p.abandoned), value);
        self.field(&version.homepage, previous.map(|p| &p.homepage), value);
        self.field(&version.support, previous.map(|p| &p.support), value);
        self.field(&version.extra, previous.map(|p| &p.extra), value);
    }

    /// The table of link strings: every name and constraint of every version's links, once.
    fn link_table(&mut self, versions: &[PackageVersion]) {
        let mut table = IndexSet::new();
        for version in versions {
            for links in [
                &version.require,
                &version.require_dev,
                &version.conflict,
                &version.replace,
                &version.provide,
            ] {
                for (name, constraint) in links.iter() {
                    table.insert(name);
                    table.insert(constraint);
                }
            }
        }
        self.count(table.len());
        for text in &table {
            self.str(text);
        }
        self.link_strings = table.into_iter().map(str::to_owned).collect();
    }

    fn links(&mut self, links: &Links) {
        self.count(links.len());
        for (name, constraint) in links.iter() {
            for text in [name, constraint] {
                let place = self.link_strings.get_index_of(text).unwrap_or(usize::MAX);
                self.count(place);
            }
        }
    }

    fn value(&mut self, value: &Value) {
        match value {
            Value::Null => self.byte(0),
            Value::Bool(false) => self.byte(1),
            Value::Bool(true) => self.byte(2),
            Value::Number(number) => {
                if let Some(unsigned) = number.as_u64() {
                    self.byte(3);
                    self.varint(unsigned);
                } else if let Some(signed) = number.as_i64() {
                    self.byte(4);
                    self.bytes.extend_from_slice(&signed.to_le_bytes());
                } else {
                    self.byte(5);
                    let float = number.as_f64().unwrap_or_default();
                    self.bytes.extend_from_slice(&float.to_le_bytes());
                }
            }
            Value::String(text) => {
                self.byte(6);
                self.str(text);
            }
            Value::Array(items) => {
                self.byte(7);
                self.count(items.len());
                for item in items {
                    self.value(item);
                }
            }
            Value::Object(fields) => {
                self.byte(8);
                self.count(fields.len());
                for (key, field) in fields {
                    self.str(key);
                    self.value(field);
                }
            }
        }
    }
}

/// Bytes that are not a whole copy made under the key asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotACopy;

/// Reads a copy.
struct Reader<'a> {
    /// The structure still to read.
    bytes: &'a [u8],
    /// The text of the strings still to read.
    text: &'a str,
    /// The table of link strings.
    link_strings: Vec<Arc<str>>,
}

impl<'a> Reader<'a> {
    fn new(copy: &'a [u8]) -> Result<Self, NotACopy> {
        let mut reader = Reader {
            bytes: copy.strip_prefix(MAGIC).ok_or(NotACopy)?,
            text: "",
            link_strings: Vec::new(),
        };
        let length = reader.count()?;
        reader.text = std::str::from_utf8(reader.take(length)?).map_err(|_| NotACopy)?;
        Ok(reader)
    }

    fn byte(&mut self) -> Result<u8, NotACopy> {
        let (&first, rest) = self.bytes.split_first().ok_or(NotACopy)?;
        self.bytes = rest;
        Ok(first)
    }

    fn take(&mut self, length: usize) -> Result<&'a [u8], NotACopy> {
        let (taken, rest) = self.bytes.split_at_checked(length).ok_or(NotACopy)?;
        self.bytes = rest;
        Ok(taken)
    }

    fn varint(&mut self) -> Result<u64, NotACopy> {
        let mut value = 0_u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f).checked_shl(shift).ok_or(NotACopy)?;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(NotACopy)
    }

    /// A number of items or bytes to come; each takes at least one byte, so a count larger than
    /// what is left is corrupt (and must not size an allocation).
    fn count(&mut self) -> Result<usize, NotACopy> {
        let count = usize::try_from(self.varint()?).map_err(|_| NotACopy)?;
        if count <= self.bytes.len() {
            Ok(count)
        } else {
            Err(NotACopy)
        }
    }

    fn str(&mut self) -> Result<&'a str, NotACopy> {
        let length = usize::try_from(self.varint()?).map_err(|_| NotACopy)?;
        // `get` refuses a length past the end or inside a character.
        let text = self.text.get(..length).ok_or(NotACopy)?;
        self.text = &self.text[length..];
        Ok(text)
    }

    fn string(&mut self) -> Result<String, NotACopy> {
        self.str().map(str::to_owned)
    }

    fn optional<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Result<T, NotACopy>,
    ) -> Result<Option<T>, NotACopy> {
        match self.byte()? {
            ABSENT => Ok(None),
            PRESENT => read(self).map(Some),
            _ => Err(NotACopy),
        }
    }

    fn optional_string(&mut self) -> Result<Option<String>, NotACopy> {
        self.optional(Self::string)
    }

    fn key(&mut self, key: &CopyKey<'_>) -> Result<(), NotACopy> {
        let matches = self.varint()? == FORMAT
            && self.str()? == env!("CARGO_PKG_VERSION")
            && self.str()? == key.url
            && self.str()? == key.package
            && self.str()? == key.digest;
        if matches { Ok(()) } else { Err(NotACopy) }
    }

    /// The previous version's value (cloned) for `SAME`, else the value that follows.
    fn field<T: Clone>(
        &mut self,
        previous: Option<&T>,
        read: impl FnOnce(&mut Self) -> Result<T, NotACopy>,
    ) -> Result<T, NotACopy> {
        match self.byte()? {
            SAME => previous.cloned().ok_or(NotACopy),
            NEW => read(self),
            _ => Err(NotACopy),
        }
    }

    /// The next version. A field equal to the previous version's shares its value.
    fn version(&mut self, previous: Option<&PackageVersion>) -> Result<PackageVersion, NotACopy> {
        let value = |reader: &mut Self| reader.optional(|reader| reader.value(0).map(Arc::new));
        let shared_text = |reader: &mut Self| reader.str().map(Arc::from);
        Ok(PackageVersion {
            name: self.field(previous.map(|p| &p.name), shared_text)?,
            version: Version::from_normalized(self.str()?, self.str()?),
            require: self.field(previous.map(|p| &p.require), Self::links)?,
            require_dev: self.field(previous.map(|p| &p.require_dev), Self::links)?,
            conflict: self.field(previous.map(|p| &p.conflict), Self::links)?,
            replace: self.field(previous.map(|p| &p.replace), Self::links)?,
            provide: self.field(previous.map(|p| &p.provide), Self::links)?,
            source: self.field(previous.map(|p| &p.source), |reader| {
                reader.optional(|reader| {
                    Ok(Arc::new(Source {
                        kind: reader.string()?,
                        url: reader.string()?,
                        reference: reader.optional_string()?,
                    }))
                })
            })?,
            time: self.field(previous.map(|p| &p.time), Self::optional_string)?,
            kind: self.field(previous.map(|p| &p.kind), |reader| {
                reader.optional(shared_text)
            })?,
            abandoned: self.field(previous.map(|p| &p.abandoned), value)?,
            homepage: self.field(previous.map(|p| &p.homepage), value)?,
            support: self.field(previous.map(|p| &p.support), value)?,
            extra: self.field(previous.map(|p| &p.extra), value)?,
        })
    }

    fn link_table(&mut self) -> Result<(), NotACopy> {
        let count = self.count()?;
        self.link_strings = Vec::with_capacity(count);
        for _ in 0..count {
            let text = self.str()?;
            self.link_strings.push(text.into());
        }
        Ok(())
    }

    fn links(&mut self) -> Result<Links, NotACopy> {
        let count = self.count()?;
        let mut links = Vec::with_capacity(count);
        for _ in 0..count {
            let name = self.link_string()?;
            let constraint = self.link_string()?;
            links.push((name, constraint));
        }
        Ok(Links::from_distinct(links))
    }

    /// A string of the link table, by its place.
    fn link_string(&mut self) -> Result<Arc<str>, NotACopy> {
        let place = usize::try_from(self.varint()?).map_err(|_| NotACopy)?;
        self.link_strings.get(place).cloned().ok_or(NotACopy)
    }

    fn value(&mut self, depth: usize) -> Result<Value, NotACopy> {
        if depth > MAX_VALUE_DEPTH {
            return Err(NotACopy);
        }
        Ok(match self.byte()? {
            0 => Value::Null,
            1 => Value::Bool(false),
            2 => Value::Bool(true),
            3 => Value::Number(self.varint()?.into()),
            4 => Value::Number(i64::from_le_bytes(self.eight_bytes()?).into()),
            5 => Value::Number(
                Number::from_f64(f64::from_le_bytes(self.eight_bytes()?)).ok_or(NotACopy)?,
            ),
            6 => Value::String(self.string()?),
            7 => {
                let count = self.count()?;
                let mut items = Vec::with_capacity(count);
                for _ in 0..count {
                    items.push(self.value(depth + 1)?);
                }
                Value::Array(items)
            }
            8 => {
                let count = self.count()?;
                let mut fields = Map::with_capacity(count);
                for _ in 0..count {
                    let key = self.string()?;
                    fields.insert(key, self.value(depth + 1)?);
                }
                Value::Object(fields)
            }
            _ => return Err(NotACopy),
        })
    }

    fn eight_bytes(&mut self) -> Result<[u8; 8], NotACopy> {
        self.take(8)?.try_into().map_err(|_| NotACopy)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const KEY: CopyKey<'static> = CopyKey {
        url: "https://repo.test/p2/acme/widget.json",
        package: "acme/widget",
        digest: "ab12",
    };

    fn version(number: &str) -> PackageVersion {
        PackageVersion::new(
            "acme/widget",
            Version::from_normalized(number, &format!("{number}.0")),
        )
    }

    fn links(links: &[(&str, &str)]) -> Links {
        links
            .iter()
            .map(|(name, constraint)| ((*name).to_owned(), (*constraint).to_owned()))
            .collect()
    }

    fn sample() -> Found {
        let mut full = version("2.0.0");
        full.require = links(&[("php", ">=8.1"), ("acme/core", "^2.0 || ^3.0")]);
        // A constraint that is also a name elsewhere is one entry of the table.
        full.conflict = links(&[("acme/old", "<1.0"), ("php", ">=8.1")]);
        full.source = Some(Arc::new(Source {
            kind: "git".to_owned(),
            url: "https://github.com/acme/widget.git".to_owned(),
            reference: Some("abc".to_owned()),
        }));
        full.time = Some("2024-03-01T10:00:00+00:00".to_owned());
        full.kind = Some("library".into());
        full.abandoned = Some(Arc::new(json!(true)));
        full.homepage = Some(Arc::new(json!("https://acme.test/ünïcode")));
        full.support = Some(Arc::new(
            json!({"issues": "https://acme.test/issues", "n": [1, -2, 2.5, null, false]}),
        ));
        full.extra = Some(Arc::new(json!({"branch-alias": {"dev-main": "2.1.x-dev"}})));
        // The next version shares most fields, changes some and drops others.
        let mut next = full.clone();
        next.version = Version::from_normalized("v1.9", "1.9.0.0");
        next.require = links(&[("php", ">=8.1")]);
        next.source = None;
        next.abandoned = None;
        Found {
            versions: vec![full, next, version("1.0.0")],
            invalid: vec!["version `x`: invalid".to_owned()],
        }
    }

    #[test]
    fn copies_round_trip() {
        let found = sample();
        let bytes = encode(&KEY, Some(&found));
        let decoded = decode(&bytes, &KEY).expect("a copy").expect("the package");
        assert_eq!(decoded.versions, found.versions);
        // `Version` equality is Composer's (`1.9` equals `1.9.0`); the spelling is kept too.
        let spelled = |found: &Found| -> Vec<(String, String)> {
            found
                .versions
                .iter()
                .map(|version| {
                    (
                        version.version.pretty().to_owned(),
                        version.version.normalized().to_owned(),
                    )
                })
                .collect()
        };
        assert_eq!(spelled(&decoded), spelled(&found));
        assert_eq!(decoded.invalid, found.invalid);

        let absent = encode(&KEY, None);
        assert!(matches!(decode(&absent, &KEY), Ok(None)));
        let empty = encode(&KEY, Some(&Found::default()));
        let decoded = decode(&empty, &KEY).expect("a copy").expect("the package");
        assert!(decoded.versions.is_empty() && decoded.invalid.is_empty());
    }

    #[test]
    fn unchanged_fields_are_not_repeated() {
        let found = sample();
        let one = encode(
            &KEY,
            Some(&Found {
                versions: found.versions[..1].to_vec(),
                invalid: Vec::new(),
            }),
        );
        let two = encode(
            &KEY,
            Some(&Found {
                versions: found.versions[..2].to_vec(),
                invalid: Vec::new(),
            }),
        );
        // The second version costs its changed fields (version strings, require, the two
        // removals) and one byte per unchanged field, not a second copy of the first.
        assert!(
            two.len() - one.len() < 60,
            "{} bytes",
            two.len() - one.len()
        );
    }

    #[test]
    fn copies_of_other_bodies_are_not_used() {
        let bytes = encode(&KEY, Some(&sample()));
        for other in [
            CopyKey {
                digest: "cd34",
                ..KEY
            },
            CopyKey {
                url: "https://repo.test/p2/acme/widget~dev.json",
                ..KEY
            },
            CopyKey {
                package: "acme/gadget",
                ..KEY
            },
        ] {
            assert_eq!(decode(&bytes, &other).err(), Some(NotACopy), "{other:?}");
        }
    }

    #[test]
    fn damaged_copies_are_not_used() {
        let bytes = encode(&KEY, Some(&sample()));
        // Every truncation, and anything appended, is refused rather than half read.
        for length in 0..bytes.len() {
            assert!(decode(&bytes[..length], &KEY).is_err(), "{length} bytes");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer, &KEY).is_err());
        // A length that claims more than the copy holds does not allocate it.
        let mut writer = Writer::default();
        writer.key(&KEY);
        writer.byte(PRESENT);
        writer.varint(u64::MAX >> 1);
        assert!(decode(&writer.finish(), &KEY).is_err());
        // A string that ends inside a character.
        let mut writer = Writer::default();
        writer.key(&KEY);
        writer.byte(PRESENT);
        writer.count(0);
        writer.count(1);
        writer.str("é");
        let mut split = writer.finish();
        let last = split.len() - 1;
        split[last] = 1;
        assert!(decode(&split, &KEY).is_err());
        // Deeply nested values are refused, not recursed into.
        let mut deep = Writer::default();
        for _ in 0..=MAX_VALUE_DEPTH + 1 {
            deep.byte(7);
            deep.count(1);
        }
        deep.byte(0);
        let mut reader = Reader {
            bytes: &deep.bytes,
            text: "",
            link_strings: Vec::new(),
        };
        assert!(reader.value(0).is_err());
        assert!(decode(b"not a copy", &KEY).is_err());
        // A link naming a place past the end of the link table.
        let mut writer = Writer::default();
        writer.key(&KEY);
        writer.byte(PRESENT);
        writer.link_table(&[]);
        writer.count(1);
        writer.version(&sample().versions[0], None);
        assert!(decode(&writer.finish(), &KEY).is_err());
    }

    /// Fails when the encoding of versions changes: bump [`FORMAT`] then, and update the digest.
    #[test]
    fn the_format_is_pinned() {
        let mut writer = Writer::default();
        let versions = sample().versions;
        writer.link_table(&versions);
        let mut previous = None;
        for version in &versions {
            writer.version(version, previous);
            previous = Some(version);
        }
        assert_eq!(
            (
                writer.bytes.len() + writer.text.len(),
                super::super::http_cache::hex_sha256(&writer.finish())
            ),
            (
                378,
                "17d261ec2316d7f90a01aed45226bff6adfcdfbd58c556a099dd252f9898c031".to_owned()
            )
        );
    }
}
