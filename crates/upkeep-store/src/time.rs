//! Times are kept as milliseconds since the Unix epoch, the same on both backends.

use jiff::Timestamp;

use crate::StoreError;

pub(crate) fn to_millis(timestamp: Timestamp) -> i64 {
    timestamp.as_millisecond()
}

pub(crate) fn from_millis(millis: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(millis).map_err(|_| StoreError::Corrupt {
        what: "time",
        value: millis.to_string(),
    })
}

pub(crate) fn from_optional_millis(millis: Option<i64>) -> Result<Option<Timestamp>, StoreError> {
    millis.map(from_millis).transpose()
}
