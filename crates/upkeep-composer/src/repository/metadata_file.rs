//! Reading one package's versions straight out of a protocol 2 metadata file
//! (`p2/<vendor>/<name>.json`), without building a JSON tree first.
//!
//! Packagist's files are lists minified by Composer 2: each entry holds the keys that changed since
//! the entry before. Parsing them into `serde_json::Value` builds (and hashes) a map for every
//! entry and then another for every expanded version; here each entry is read into typed fields
//! (only the keys [`PackageVersion`] keeps; the others are skipped, with their names remembered
//! for Composer's "empty entry" rule) and expanded on those fields. The result is the same as
//! parsing the file into a `Value` and reading it with `read_minified` or
//! [`read_entries`](super::read_entries), which the tests check against.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use indexmap::IndexMap;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::Found;
use super::metadata::{
    InvalidVersionEntry, Links, MINIFIED_COMPOSER_2, PackageVersion, Source, UNSET, entry_version,
};

/// What a metadata file says about the package.
#[derive(Debug)]
pub(crate) enum FileVersions {
    /// The file has no `packages.<name>`.
    NotListed,
    /// `packages.<name>` is not a list.
    NotAList,
    Listed(Found),
}

/// Reads the versions of `name` (lowercase) from the metadata file `body`.
pub(crate) fn read(body: &[u8], name: &str) -> Result<FileVersions, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let document = DocumentSeed { name }.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(match document.entries {
        None => FileVersions::NotListed,
        Some(None) => FileVersions::NotAList,
        Some(Some(entries)) => FileVersions::Listed(expand(entries, document.minified, name)),
    })
}

/// Turns the entries into versions: expanded when the file is minified, one by one otherwise.
fn expand(entries: Vec<RawEntry>, minified: bool, name: &str) -> Found {
    let mut found = Found::with_capacity(entries.len());
    let mut current = Entry::default();
    for entry in entries {
        let RawEntry::Object(changes) = entry else {
            found.push(Err(InvalidVersionEntry {
                version: None,
                reason: "a version entry must be an object".to_owned(),
            }));
            continue;
        };
        if minified && !current.is_empty() {
            current.apply(*changes);
        } else {
            // Composer takes the first entry (and any entry after an empty one) as it is.
            current = Entry::verbatim(*changes);
        }
        if let Some(entry_name) = Entry::shared_text(current.name.as_ref())
            && !entry_name.eq_ignore_ascii_case(name)
        {
            continue;
        }
        found.push(current.version(name));
    }
    found
}

/// A key of an entry as the entry has it: absent, or present with its value.
type Present<T> = Option<T>;

/// One version entry, whole (after expansion): each field is `None` when the key is absent.
/// What versions share ([`PackageVersion`]) is held shared here already, so that the versions
/// of a run of entries that do not change a key share its value.
#[derive(Debug, Default)]
struct Entry {
    /// Strings: `Some(None)` when the key holds something else.
    name: Present<Option<Arc<str>>>,
    version: Present<Option<String>>,
    version_normalized: Present<Option<String>>,
    time: Present<Option<String>>,
    kind: Present<Option<Arc<str>>>,
    require: Present<Links>,
    require_dev: Present<Links>,
    conflict: Present<Links>,
    replace: Present<Links>,
    provide: Present<Links>,
    source: Present<Option<Arc<Source>>>,
    abandoned: Present<Arc<Value>>,
    homepage: Present<Arc<Value>>,
    support: Present<Arc<Value>>,
    extra: Present<Arc<Value>>,
    /// The other keys, which only count for whether the entry is empty.
    others: Vec<String>,
}

impl Entry {
    fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.version.is_none()
            && self.version_normalized.is_none()
            && self.time.is_none()
            && self.kind.is_none()
            && self.require.is_none()
            && self.require_dev.is_none()
            && self.conflict.is_none()
            && self.replace.is_none()
            && self.provide.is_none()
            && self.source.is_none()
            && self.abandoned.is_none()
            && self.homepage.is_none()
            && self.support.is_none()
            && self.extra.is_none()
            && self.others.is_empty()
    }

    /// The entry as written: `"__unset"` is a plain string here.
    fn verbatim(raw: RawFields) -> Self {
        fn literal<T: Literal, U>(
            field: Option<Field<T>>,
            share: impl FnOnce(T) -> U,
        ) -> Option<U> {
            field.map(|field| share(field.literal()))
        }
        Self {
            name: literal(raw.name, share_text),
            version: literal(raw.version, |text| text),
            version_normalized: literal(raw.version_normalized, |text| text),
            time: literal(raw.time, |text| text),
            kind: literal(raw.kind, share_text),
            require: literal(raw.require, Links::from),
            require_dev: literal(raw.require_dev, Links::from),
            conflict: literal(raw.conflict, Links::from),
            replace: literal(raw.replace, Links::from),
            provide: literal(raw.provide, Links::from),
            source: literal(raw.source, |source| source.map(Arc::new)),
            abandoned: literal(raw.abandoned, Arc::new),
            homepage: literal(raw.homepage, Arc::new),
            support: literal(raw.support, Arc::new),
            extra: literal(raw.extra, Arc::new),
            others: raw.others.into_iter().map(|(key, _)| key).collect(),
        }
    }

    /// Applies the changes of a minified entry: `"__unset"` removes a key.
    fn apply(&mut self, raw: RawFields) {
        fn change<T, U>(
            field: &mut Present<U>,
            change: Option<Field<T>>,
            share: impl FnOnce(T) -> U,
        ) {
            match change {
                None => {}
                Some(Field::Unset) => *field = None,
                Some(Field::Set(value)) => *field = Some(share(value)),
            }
        }
        change(&mut self.name, raw.name, share_text);
        change(&mut self.version, raw.version, |text| text);
        change(
            &mut self.version_normalized,
            raw.version_normalized,
            |text| text,
        );
        change(&mut self.time, raw.time, |text| text);
        change(&mut self.kind, raw.kind, share_text);
        change(&mut self.require, raw.require, Links::from);
        change(&mut self.require_dev, raw.require_dev, Links::from);
        change(&mut self.conflict, raw.conflict, Links::from);
        change(&mut self.replace, raw.replace, Links::from);
        change(&mut self.provide, raw.provide, Links::from);
        change(&mut self.source, raw.source, |source| source.map(Arc::new));
        change(&mut self.abandoned, raw.abandoned, Arc::new);
        change(&mut self.homepage, raw.homepage, Arc::new);
        change(&mut self.support, raw.support, Arc::new);
        change(&mut self.extra, raw.extra, Arc::new);
        for (key, unset) in raw.others {
            let position = self.others.iter().position(|other| *other == key);
            match (position, unset) {
                (Some(position), true) => {
                    self.others.swap_remove(position);
                }
                (None, false) => self.others.push(key),
                _ => {}
            }
        }
    }

    fn text(field: Option<&Option<String>>) -> Option<&str> {
        field?.as_deref()
    }

    fn shared_text(field: Option<&Option<Arc<str>>>) -> Option<&Arc<str>> {
        field?.as_ref()
    }

    /// The version, read as [`PackageVersion::from_fields`] reads a JSON entry.
    fn version(&self, fallback_name: &str) -> Result<PackageVersion, InvalidVersionEntry> {
        let version = entry_version(
            Self::text(self.version.as_ref()),
            Self::text(self.version_normalized.as_ref()),
        )?;
        let links = |field: &Present<Links>| field.clone().unwrap_or_default();
        let present =
            |field: &Present<Arc<Value>>| field.as_ref().filter(|value| !value.is_null()).cloned();
        Ok(PackageVersion {
            name: Self::shared_text(self.name.as_ref())
                .map_or_else(|| fallback_name.into(), Arc::clone),
            version,
            require: links(&self.require),
            require_dev: links(&self.require_dev),
            conflict: links(&self.conflict),
            replace: links(&self.replace),
            provide: links(&self.provide),
            source: self.source.clone().flatten(),
            time: Self::text(self.time.as_ref()).map(str::to_owned),
            kind: Self::shared_text(self.kind.as_ref()).cloned(),
            abandoned: present(&self.abandoned).filter(|value| **value != Value::Bool(false)),
            homepage: present(&self.homepage),
            support: present(&self.support),
            extra: present(&self.extra),
        })
    }
}

/// A string field as versions share it.
fn share_text(text: Option<String>) -> Option<Arc<str>> {
    text.map(Arc::from)
}

/// The value of a key in an entry as written.
#[derive(Debug)]
enum Field<T> {
    /// The string `"__unset"`: a removal in a minified list, a plain string otherwise.
    Unset,
    Set(T),
}

/// What a field holds when `"__unset"` is taken as the plain string it is.
trait Literal: Sized {
    fn unset_string() -> Self;
}

impl<T: Literal> Field<T> {
    fn literal(self) -> T {
        match self {
            Self::Unset => T::unset_string(),
            Self::Set(value) => value,
        }
    }
}

impl Literal for Option<String> {
    fn unset_string() -> Self {
        Some(UNSET.to_owned())
    }
}

/// A string is not a map of links.
impl Literal for IndexMap<String, String> {
    fn unset_string() -> Self {
        IndexMap::new()
    }
}

/// A string is not a source.
impl Literal for Option<Source> {
    fn unset_string() -> Self {
        None
    }
}

impl Literal for Value {
    fn unset_string() -> Self {
        Value::String(UNSET.to_owned())
    }
}

/// An entry of the list as written.
#[derive(Debug)]
enum RawEntry {
    /// Boxed: an entry's fields take about a kilobyte.
    Object(Box<RawFields>),
    /// Anything but an object: reading it reports the problem.
    NotAnObject,
}

/// The keys of one entry as written; `None` when the entry does not have the key.
#[derive(Debug, Default)]
struct RawFields {
    name: Option<Field<Option<String>>>,
    version: Option<Field<Option<String>>>,
    version_normalized: Option<Field<Option<String>>>,
    time: Option<Field<Option<String>>>,
    kind: Option<Field<Option<String>>>,
    require: Option<Field<IndexMap<String, String>>>,
    require_dev: Option<Field<IndexMap<String, String>>>,
    conflict: Option<Field<IndexMap<String, String>>>,
    replace: Option<Field<IndexMap<String, String>>>,
    provide: Option<Field<IndexMap<String, String>>>,
    source: Option<Field<Option<Source>>>,
    abandoned: Option<Field<Value>>,
    homepage: Option<Field<Value>>,
    support: Option<Field<Value>>,
    extra: Option<Field<Value>>,
    /// Other keys, and whether their value is `"__unset"`.
    others: Vec<(String, bool)>,
}

/// The document: `minified` and the one package's entries.
struct Document {
    minified: bool,
    /// `None`: no `packages.<name>`; `Some(None)`: not a list.
    #[expect(clippy::option_option, reason = "absent, or present but not a list")]
    entries: Option<Option<Vec<RawEntry>>>,
}

struct DocumentSeed<'n> {
    name: &'n str,
}

impl<'de> DeserializeSeed<'de> for DocumentSeed<'_> {
    type Value = Document;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Document, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DocumentSeed<'_> {
    type Value = Document;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a Composer metadata document")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Document, A::Error> {
        let mut document = Document {
            minified: false,
            entries: None,
        };
        while let Some(Key(key)) = map.next_key()? {
            match &*key {
                "minified" => {
                    document.minified = matches!(
                        map.next_value::<Text<'de>>()?,
                        Text::Str(marker) if marker == MINIFIED_COMPOSER_2
                    );
                }
                "packages" => {
                    document.entries = map.next_value_seed(PackagesSeed { name: self.name })?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(document)
    }

    // Anything but an object lists no package.
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Document, A::Error> {
        IgnoredAny.visit_seq(seq)?;
        Ok(Document {
            minified: false,
            entries: None,
        })
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Document, E> {
        Ok(Document {
            minified: false,
            entries: None,
        })
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Document, E> {
        self.visit_unit()
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Document, E> {
        self.visit_unit()
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Document, E> {
        self.visit_unit()
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Document, E> {
        self.visit_unit()
    }

    fn visit_unit<E: de::Error>(self) -> Result<Document, E> {
        Ok(Document {
            minified: false,
            entries: None,
        })
    }
}

/// `packages`: the entries of one name, the others skipped.
struct PackagesSeed<'n> {
    name: &'n str,
}

type PackageEntries = Option<Option<Vec<RawEntry>>>;

impl<'de> DeserializeSeed<'de> for PackagesSeed<'_> {
    type Value = PackageEntries;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PackagesSeed<'_> {
    type Value = PackageEntries;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("the packages of a Composer metadata document")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = None;
        while let Some(Key(key)) = map.next_key()? {
            if key == self.name {
                entries = Some(map.next_value::<EntryList>()?.0);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(entries)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        IgnoredAny.visit_seq(seq)?;
        Ok(None)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A package's list of entries; `None` when the value is not a list.
struct EntryList(Option<Vec<RawEntry>>);

impl<'de> de::Deserialize<'de> for EntryList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = EntryList;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a list of versions")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<EntryList, A::Error> {
                let mut entries = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                while let Some(entry) = seq.next_element::<RawEntry>()? {
                    entries.push(entry);
                }
                Ok(EntryList(Some(entries)))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<EntryList, A::Error> {
                IgnoredAny.visit_map(map)?;
                Ok(EntryList(None))
            }

            fn visit_str<E: de::Error>(self, _: &str) -> Result<EntryList, E> {
                Ok(EntryList(None))
            }

            fn visit_bool<E: de::Error>(self, _: bool) -> Result<EntryList, E> {
                Ok(EntryList(None))
            }

            fn visit_i64<E: de::Error>(self, _: i64) -> Result<EntryList, E> {
                Ok(EntryList(None))
            }

            fn visit_u64<E: de::Error>(self, _: u64) -> Result<EntryList, E> {
                Ok(EntryList(None))
            }

            fn visit_f64<E: de::Error>(self, _: f64) -> Result<EntryList, E> {
                Ok(EntryList(None))
            }

            fn visit_unit<E: de::Error>(self) -> Result<EntryList, E> {
                Ok(EntryList(None))
            }
        }
        deserializer.deserialize_any(ListVisitor)
    }
}

impl<'de> de::Deserialize<'de> for RawEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntryVisitor;
        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = RawEntry;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a version entry")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawEntry, A::Error> {
                let mut fields = RawFields::default();
                while let Some(Key(key)) = map.next_key()? {
                    match &*key {
                        "name" => fields.name = Some(map.next_value::<TextField>()?.0),
                        "version" => fields.version = Some(map.next_value::<TextField>()?.0),
                        "version_normalized" => {
                            fields.version_normalized = Some(map.next_value::<TextField>()?.0);
                        }
                        "time" => fields.time = Some(map.next_value::<TextField>()?.0),
                        "type" => fields.kind = Some(map.next_value::<TextField>()?.0),
                        "require" => fields.require = Some(map.next_value::<LinksField>()?.0),
                        "require-dev" => {
                            fields.require_dev = Some(map.next_value::<LinksField>()?.0);
                        }
                        "conflict" => fields.conflict = Some(map.next_value::<LinksField>()?.0),
                        "replace" => fields.replace = Some(map.next_value::<LinksField>()?.0),
                        "provide" => fields.provide = Some(map.next_value::<LinksField>()?.0),
                        "source" => {
                            fields.source = Some(map.next_value::<ReferenceField>()?.source());
                        }
                        "abandoned" => fields.abandoned = Some(value_field(map.next_value()?)),
                        "homepage" => fields.homepage = Some(value_field(map.next_value()?)),
                        "support" => fields.support = Some(value_field(map.next_value()?)),
                        "extra" => fields.extra = Some(value_field(map.next_value()?)),
                        _ => {
                            let unset = matches!(
                                map.next_value::<Text<'de>>()?,
                                Text::Str(text) if text == UNSET
                            );
                            let key = key.into_owned();
                            // A key written twice is one key, its last value counts.
                            match fields.others.iter_mut().find(|(other, _)| *other == key) {
                                Some(other) => other.1 = unset,
                                None => fields.others.push((key, unset)),
                            }
                        }
                    }
                }
                Ok(RawEntry::Object(Box::new(fields)))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<RawEntry, A::Error> {
                IgnoredAny.visit_seq(seq)?;
                Ok(RawEntry::NotAnObject)
            }

            fn visit_str<E: de::Error>(self, _: &str) -> Result<RawEntry, E> {
                Ok(RawEntry::NotAnObject)
            }

            fn visit_bool<E: de::Error>(self, _: bool) -> Result<RawEntry, E> {
                Ok(RawEntry::NotAnObject)
            }

            fn visit_i64<E: de::Error>(self, _: i64) -> Result<RawEntry, E> {
                Ok(RawEntry::NotAnObject)
            }

            fn visit_u64<E: de::Error>(self, _: u64) -> Result<RawEntry, E> {
                Ok(RawEntry::NotAnObject)
            }

            fn visit_f64<E: de::Error>(self, _: f64) -> Result<RawEntry, E> {
                Ok(RawEntry::NotAnObject)
            }

            fn visit_unit<E: de::Error>(self) -> Result<RawEntry, E> {
                Ok(RawEntry::NotAnObject)
            }
        }
        deserializer.deserialize_any(EntryVisitor)
    }
}

fn value_field(value: Value) -> Field<Value> {
    if value.as_str() == Some(UNSET) {
        Field::Unset
    } else {
        Field::Set(value)
    }
}

/// An object key, borrowed from the document when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Text::deserialize(deserializer)? {
            Text::Str(text) => Ok(Key(text)),
            Text::Other => Err(de::Error::custom("an object key must be a string")),
        }
    }
}

/// A string (borrowed when it can be), or anything else, skipped.
enum Text<'de> {
    Str(Cow<'de, str>),
    Other,
}

impl<'de> de::Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("any JSON value")
            }

            fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Text<'de>, E> {
                Ok(Text::Str(Cow::Borrowed(text)))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Text<'de>, E> {
                Ok(Text::Str(Cow::Owned(text.to_owned())))
            }

            fn visit_string<E: de::Error>(self, text: String) -> Result<Text<'de>, E> {
                Ok(Text::Str(Cow::Owned(text)))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Text<'de>, A::Error> {
                IgnoredAny.visit_seq(seq)?;
                Ok(Text::Other)
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Text<'de>, A::Error> {
                IgnoredAny.visit_map(map)?;
                Ok(Text::Other)
            }

            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Text<'de>, E> {
                Ok(Text::Other)
            }

            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Text<'de>, E> {
                Ok(Text::Other)
            }

            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Text<'de>, E> {
                Ok(Text::Other)
            }

            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Text<'de>, E> {
                Ok(Text::Other)
            }

            fn visit_unit<E: de::Error>(self) -> Result<Text<'de>, E> {
                Ok(Text::Other)
            }
        }
        deserializer.deserialize_any(TextVisitor)
    }
}

impl Text<'_> {
    /// `Some` for a string.
    fn into_string(self) -> Option<String> {
        match self {
            Text::Str(text) => Some(text.into_owned()),
            Text::Other => None,
        }
    }
}

/// A string field: `Set(None)` when it holds something else.
struct TextField(Field<Option<String>>);

impl<'de> de::Deserialize<'de> for TextField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(TextField(match Text::deserialize(deserializer)? {
            Text::Str(text) if text == UNSET => Field::Unset,
            other => Field::Set(other.into_string()),
        }))
    }
}

/// A map of package names to constraints: values that are not strings are left out, as PHP's
/// `[]` (an empty map) and anything else that is not an object leave the map empty.
struct LinksField(Field<IndexMap<String, String>>);

impl<'de> de::Deserialize<'de> for LinksField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LinksVisitor;
        impl<'de> Visitor<'de> for LinksVisitor {
            type Value = LinksField;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a map of package links")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LinksField, A::Error> {
                let mut links: IndexMap<String, String> =
                    IndexMap::with_capacity(map.size_hint().unwrap_or(0));
                // A key written twice keeps its first place and its last value, as in a JSON
                // object read into a map; keys whose last value is not a string are left out.
                let mut dropped: Vec<String> = Vec::new();
                while let Some(Key(key)) = map.next_key()? {
                    let value = map.next_value::<Text<'de>>()?.into_string();
                    let key = key.into_owned();
                    if let Some(constraint) = value {
                        dropped.retain(|name| *name != key);
                        links.insert(key, constraint);
                    } else {
                        if !dropped.contains(&key) {
                            dropped.push(key.clone());
                        }
                        links.entry(key).or_default();
                    }
                }
                if !dropped.is_empty() {
                    links.retain(|name, _| !dropped.contains(name));
                }
                Ok(LinksField(Field::Set(links)))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<LinksField, A::Error> {
                IgnoredAny.visit_seq(seq)?;
                Ok(LinksField(Field::Set(IndexMap::new())))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<LinksField, E> {
                Ok(LinksField(if text == UNSET {
                    Field::Unset
                } else {
                    Field::Set(IndexMap::new())
                }))
            }

            fn visit_bool<E: de::Error>(self, _: bool) -> Result<LinksField, E> {
                self.visit_unit()
            }

            fn visit_i64<E: de::Error>(self, _: i64) -> Result<LinksField, E> {
                self.visit_unit()
            }

            fn visit_u64<E: de::Error>(self, _: u64) -> Result<LinksField, E> {
                self.visit_unit()
            }

            fn visit_f64<E: de::Error>(self, _: f64) -> Result<LinksField, E> {
                self.visit_unit()
            }

            fn visit_unit<E: de::Error>(self) -> Result<LinksField, E> {
                Ok(LinksField(Field::Set(IndexMap::new())))
            }
        }
        deserializer.deserialize_any(LinksVisitor)
    }
}

/// `source`: its string keys, when it is an object.
struct ReferenceField(Field<Option<ReferenceKeys>>);

#[derive(Default)]
struct ReferenceKeys {
    kind: Option<String>,
    url: Option<String>,
    reference: Option<String>,
}

impl ReferenceField {
    fn source(self) -> Field<Option<Source>> {
        self.map(|keys| {
            Some(Source {
                kind: keys.kind?,
                url: keys.url?,
                reference: keys.reference,
            })
        })
    }

    fn map<T>(self, read: impl FnOnce(ReferenceKeys) -> Option<T>) -> Field<Option<T>> {
        match self.0 {
            Field::Unset => Field::Unset,
            Field::Set(keys) => Field::Set(keys.and_then(read)),
        }
    }
}

impl<'de> de::Deserialize<'de> for ReferenceField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ReferenceVisitor;
        impl<'de> Visitor<'de> for ReferenceVisitor {
            type Value = ReferenceField;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a source")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ReferenceField, A::Error> {
                let mut keys = ReferenceKeys::default();
                while let Some(Key(key)) = map.next_key()? {
                    let slot = match &*key {
                        "type" => &mut keys.kind,
                        "url" => &mut keys.url,
                        "reference" => &mut keys.reference,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    *slot = map.next_value::<Text<'de>>()?.into_string();
                }
                Ok(ReferenceField(Field::Set(Some(keys))))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<ReferenceField, A::Error> {
                IgnoredAny.visit_seq(seq)?;
                Ok(ReferenceField(Field::Set(None)))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<ReferenceField, E> {
                Ok(ReferenceField(if text == UNSET {
                    Field::Unset
                } else {
                    Field::Set(None)
                }))
            }

            fn visit_bool<E: de::Error>(self, _: bool) -> Result<ReferenceField, E> {
                self.visit_unit()
            }

            fn visit_i64<E: de::Error>(self, _: i64) -> Result<ReferenceField, E> {
                self.visit_unit()
            }

            fn visit_u64<E: de::Error>(self, _: u64) -> Result<ReferenceField, E> {
                self.visit_unit()
            }

            fn visit_f64<E: de::Error>(self, _: f64) -> Result<ReferenceField, E> {
                self.visit_unit()
            }

            fn visit_unit<E: de::Error>(self) -> Result<ReferenceField, E> {
                Ok(ReferenceField(Field::Set(None)))
            }
        }
        deserializer.deserialize_any(ReferenceVisitor)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::repository::{read_entries, read_minified};

    /// The plain reading: the file parsed into a `Value`, then read entry by entry.
    fn reference(body: &[u8], name: &str) -> Result<FileVersions, serde_json::Error> {
        let mut data: Value = serde_json::from_slice(body)?;
        let minified = data.get("minified").and_then(Value::as_str) == Some(MINIFIED_COMPOSER_2);
        let Some(entries) = data
            .get_mut("packages")
            .and_then(|packages| packages.get_mut(name))
            .map(Value::take)
        else {
            return Ok(FileVersions::NotListed);
        };
        let Value::Array(entries) = entries else {
            return Ok(FileVersions::NotAList);
        };
        Ok(FileVersions::Listed(if minified {
            read_minified(entries, name)
        } else {
            read_entries(&entries, name)
        }))
    }

    /// Both readings, as comparable text (the versions' debug form keeps the order of maps and
    /// the spelling of versions).
    fn both(body: &str, name: &str) -> (String, String) {
        let show = |read: Result<FileVersions, serde_json::Error>| match read {
            Err(_) => "invalid JSON".to_owned(),
            Ok(FileVersions::NotListed) => "not listed".to_owned(),
            Ok(FileVersions::NotAList) => "not a list".to_owned(),
            Ok(FileVersions::Listed(found)) => format!("{:?} {:?}", found.versions, found.invalid),
        };
        (
            show(read(body.as_bytes(), name)),
            show(reference(body.as_bytes(), name)),
        )
    }

    fn assert_same(body: &str) {
        let (typed, plain) = both(body, "acme/widget");
        assert_eq!(typed, plain, "{body}");
    }

    #[test]
    fn minified_lists_expand_as_on_json() {
        let body = json!({
            "packages": {"acme/widget": [
                {"name": "acme/widget", "version": "2.1.0", "version_normalized": "2.1.0.0",
                 "description": "A widget", "require": {"php": ">=8.1", "acme/core": "^2.0"},
                 "source": {"type": "git", "url": "https://git.test/w.git", "reference": "c210"},
                 "dist": {"type": "zip", "url": "https://zip.test/c210", "reference": "c210", "shasum": ""},
                 "support": {"issues": "https://issues.test"}, "homepage": "https://w.test",
                 "time": "2024-05-01T00:00:00+00:00", "type": "library",
                 "extra": {"branch-alias": {"dev-main": "2.2.x-dev"}}},
                {"version": "2.0.1", "version_normalized": "2.0.1.0", "require": {"php": ">=8.0"},
                 "source": {"type": "git", "url": "https://git.test/w.git", "reference": "c201"}},
                {"version": "1.9.0", "version_normalized": "1.9.0.0", "require": "__unset",
                 "extra": "__unset", "description": "__unset", "conflict": {"acme/legacy": "<1.0"},
                 "abandoned": "acme/gadget"},
                {"version": "v1.8"}
            ], "other/package": [{"version": "1.0.0"}]},
            // After `packages`, as Packagist writes it.
            "minified": "composer/2.0"
        })
        .to_string();
        let Ok(FileVersions::Listed(found)) = read(body.as_bytes(), "acme/widget") else {
            panic!("not read");
        };
        let versions: Vec<(&str, &str, usize, Option<&str>)> = found
            .versions
            .iter()
            .map(|version| {
                (
                    version.version.pretty(),
                    version.version.normalized(),
                    version.require.len(),
                    version
                        .source
                        .as_ref()
                        .and_then(|source| source.reference.as_deref()),
                )
            })
            .collect();
        assert_eq!(
            versions,
            [
                ("2.1.0", "2.1.0.0", 2, Some("c210")),
                ("2.0.1", "2.0.1.0", 1, Some("c201")),
                ("1.9.0", "1.9.0.0", 0, Some("c201")),
                // `version_normalized` is inherited like any other key.
                ("v1.8", "1.9.0.0", 0, Some("c201")),
            ]
        );
        assert_eq!(
            found.versions[3].abandoned.as_deref(),
            Some(&json!("acme/gadget"))
        );
        assert_eq!(found.versions[2].extra, None);
        assert_same(&body);
    }

    #[test]
    fn what_is_not_a_list_of_versions() {
        for (body, expected) in [
            (
                r#"{"packages": {"acme/widget": {"1.0.0": {}}}}"#,
                "not a list",
            ),
            (r#"{"packages": {"acme/widget": null}}"#, "not a list"),
            (r#"{"packages": {"other/package": []}}"#, "not listed"),
            (r#"{"packages": []}"#, "not listed"),
            (r#"{"packages": "acme/widget"}"#, "not listed"),
            ("[]", "not listed"),
            ("3", "not listed"),
            (
                r#"{"packages": {"acme/widget": []}} trailing"#,
                "invalid JSON",
            ),
            (r#"{"packages": {"acme/widget": [}"#, "invalid JSON"),
        ] {
            let (typed, plain) = both(body, "acme/widget");
            assert_eq!(
                (typed.as_str(), plain.as_str()),
                (expected, expected),
                "{body}"
            );
        }
    }

    #[test]
    fn odd_entries_read_as_on_json() {
        for body in [
            // The first entry is taken as written: its "__unset" values are plain strings.
            r#"{"minified": "composer/2.0", "packages": {"acme/widget": [
                {"version": "__unset", "require": "__unset", "homepage": "__unset"},
                {"version": "1.0.0"}]}}"#,
            // An entry with no keys lets the next one start over; one with only other keys does not.
            r#"{"minified": "composer/2.0", "packages": {"acme/widget": [
                {}, {"version": "2.0.0", "time": "t"}, {"version": "1.0.0"}]}}"#,
            r#"{"minified": "composer/2.0", "packages": {"acme/widget": [
                {"description": "x"}, {"version": "2.0.0"}, {"description": "__unset"},
                {"version": "1.0.0", "time": "t"}]}}"#,
            // Entries that are not objects, of other packages, and unreadable versions.
            r#"{"minified": "composer/2.0", "packages": {"acme/widget": [
                "1.0.0", {"name": "Acme/Widget", "version": "3.0.0"}, 7,
                {"name": "other/package", "version": "2.0.0"}, {"version": "not a version"},
                {"name": "__unset", "version": "9999999-dev", "version_normalized": "9999999-dev"}]}}"#,
            // Values of the wrong type.
            r#"{"packages": {"acme/widget": [
                {"version": "1.0.0", "require": [], "conflict": {"a/b": 1, "c/d": "<2"},
                 "source": {"type": "git"}, "dist": {"type": "zip", "url": "u", "shasum": 3},
                 "time": 5, "type": null, "abandoned": false, "support": null},
                {"version": 1.5}, {"version": "1.0.1", "source": "__unset", "abandoned": true}]}}"#,
            // Keys written twice: the last value counts, at the first place.
            r#"{"packages": {"acme/widget": [
                {"version": "1.0.0", "version": "1.0.1",
                 "require": {"a/a": "1", "b/b": "2", "a/a": 3, "c/c": "4", "a/a": "5"},
                 "conflict": {"x/x": 1, "y/y": "2", "x/x": "3"},
                 "replace": {"r/r": "1", "r/r": null}}]},
             "minified": "composer/2.0", "minified": "no"}"#,
            // Escaped strings.
            r#"{"packages": {"acme\/widget": [{"version": "1.0.0", "name": "acme\/widget",
                "require": {"php\u0000": "\u003e=8"}, "homepage": "https:\/\/w.test"}]}}"#,
        ] {
            assert_same(body);
        }
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(json!("__unset")),
            Just(json!("1.0.0")),
            Just(json!("v2.1")),
            Just(json!("2.x-dev")),
            Just(json!("dev-main")),
            Just(json!("9999999-dev")),
            Just(json!("not a version")),
            Just(json!("acme/widget")),
            Just(json!("Acme/Widget")),
            Just(json!("other/package")),
            Just(json!("")),
            Just(json!("git")),
            Just(json!(null)),
            Just(json!(true)),
            Just(json!(false)),
            Just(json!(3)),
            Just(json!(-1.5)),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                prop::collection::vec(
                    (
                        prop_oneof![
                            Just("type"),
                            Just("url"),
                            Just("reference"),
                            Just("shasum"),
                            Just("php"),
                            Just("acme/core"),
                            Just("issues"),
                        ],
                        inner
                    ),
                    0..4
                )
                .prop_map(|fields| Value::Object(
                    fields
                        .into_iter()
                        .map(|(key, value)| (key.to_owned(), value))
                        .collect()
                )),
            ]
        })
    }

    fn entry() -> impl Strategy<Value = Value> {
        let key = prop_oneof![
            Just("name"),
            Just("version"),
            Just("version"),
            Just("version_normalized"),
            Just("time"),
            Just("type"),
            Just("require"),
            Just("require-dev"),
            Just("conflict"),
            Just("replace"),
            Just("provide"),
            Just("source"),
            Just("dist"),
            Just("abandoned"),
            Just("homepage"),
            Just("support"),
            Just("extra"),
            Just("description"),
            Just("license"),
        ];
        prop_oneof![
            9 => prop::collection::vec((key, value()), 0..6).prop_map(|fields| Value::Object(
                fields
                    .into_iter()
                    .map(|(key, value)| (key.to_owned(), value))
                    .collect()
            )),
            1 => value(),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        #[test]
        fn reads_as_the_json_reading_does(
            entries in prop::collection::vec(entry(), 0..8),
            minified in any::<bool>(),
            marker_first in any::<bool>(),
        ) {
            let packages = json!({"other/package": [{"version": "1.0.0"}], "acme/widget": entries});
            let marker = if minified { "composer/2.0" } else { "composer/1.0" };
            let body = if marker_first {
                format!(r#"{{"minified": "{marker}", "packages": {packages}}}"#)
            } else {
                format!(r#"{{"packages": {packages}, "minified": "{marker}"}}"#)
            };
            let (typed, plain) = both(&body, "acme/widget");
            prop_assert_eq!(typed, plain, "{}", body);
        }
    }
}
