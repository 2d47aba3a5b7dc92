//! RFC 3339 timestamps read and written without chrono's general formatting machinery for
//! the one shape every sender uses, `2026-10-08T09:15:00+07:00`, and by chrono otherwise.
//!
//! chrono parses through a list of format items and writes through `fmt::Write`, which is a
//! good part of what decoding or hashing an event costs. The shortcuts here take the
//! common shape only and hand anything else (a space for `T`, a lower-case `z`, a leap
//! second, an offset with seconds, a year beyond 9999...) to chrono, so the result, the
//! text written and every error message are chrono's own. Tests compare both ways over
//! generated and mangled strings.

use chrono::{Datelike, FixedOffset, NaiveDate, NaiveTime, TimeZone, Timelike};
use serde::{de, Deserializer, Serializer};

use crate::event::Timestamp;

/// Parses as `s.parse::<DateTime<FixedOffset>>()` (chrono's relaxed RFC 3339, what serde
/// uses for a `DateTime`), faster for the common shape.
#[inline]
pub fn parse(s: &str) -> Result<Timestamp, chrono::ParseError> {
    match parse_common(s.as_bytes()) {
        Some(t) => Ok(t),
        None => s.parse(),
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, or `None` for chrono to decide.
fn parse_common(b: &[u8]) -> Option<Timestamp> {
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let digit = |i: usize| -> Option<u32> {
        let d = b[i].wrapping_sub(b'0');
        (d < 10).then_some(u32::from(d))
    };
    let two = |i: usize| Some(digit(i)? * 10 + digit(i + 1)?);
    let year = two(0)? * 100 + two(2)?;
    let (month, day) = (two(5)?, two(8)?);
    let (hour, minute, second) = (two(11)?, two(14)?, two(17)?);
    let mut i = 19;
    let mut nano = 0;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start == 9 {
                return None;
            }
            nano = nano * 10 + u32::from(b[i] - b'0');
            i += 1;
        }
        let digits = i - start;
        if digits == 0 {
            return None;
        }
        nano *= 10u32.pow(9 - digits as u32);
    }
    let offset = match &b[i..] {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (h, m) = (two(i + 1)?, two(i + 4)?);
            if h > 23 || m > 59 {
                return None;
            }
            let secs = (h * 3600 + m * 60) as i32;
            if *sign == b'-' {
                -secs
            } else {
                secs
            }
        }
        _ => return None,
    };
    // A leap second is chrono's business.
    if second > 59 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(year as i32, month, day)?;
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nano)?;
    let offset = FixedOffset::east_opt(offset)?;
    // What chrono's `Parsed::to_datetime` does with the fields it parsed.
    offset.from_local_datetime(&date.and_time(time)).single()
}

/// Longest text [`write_common`] produces: `9999-12-31T23:59:59.123456789+14:00`.
const MAX_LEN: usize = 35;

/// Writes `t` as chrono's `Serialize` does (RFC 3339, `Z` for UTC, fractional seconds in
/// groups of three only when non-zero), or `None` for chrono to write.
// `is_multiple_of` is newer than the workspace's rust-version.
#[allow(clippy::manual_is_multiple_of)]
fn write_common(t: &Timestamp, buf: &mut [u8; MAX_LEN]) -> Option<usize> {
    let offset = t.offset().local_minus_utc();
    if offset % 60 != 0 {
        return None;
    }
    let local = t.naive_local();
    let year = local.year();
    let nano = local.nanosecond();
    if !(0..=9999).contains(&year) || nano >= 1_000_000_000 {
        return None;
    }
    let mut n = 0;
    let mut put = |bytes: &[u8]| {
        buf[n..n + bytes.len()].copy_from_slice(bytes);
        n += bytes.len();
    };
    let two = |v: u32| [b'0' + (v / 10) as u8, b'0' + (v % 10) as u8];
    let year = year as u32;
    put(&two(year / 100));
    put(&two(year % 100));
    put(b"-");
    put(&two(local.month()));
    put(b"-");
    put(&two(local.day()));
    put(b"T");
    put(&two(local.hour()));
    put(b":");
    put(&two(local.minute()));
    put(b":");
    put(&two(local.second()));
    let (value, digits) = if nano == 0 {
        (0, 0)
    } else if nano % 1_000_000 == 0 {
        (nano / 1_000_000, 3)
    } else if nano % 1_000 == 0 {
        (nano / 1_000, 6)
    } else {
        (nano, 9)
    };
    if digits > 0 {
        let mut frac = [0u8; 10];
        frac[0] = b'.';
        let mut v = value;
        for k in (1..=digits).rev() {
            frac[k] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        put(&frac[..=digits]);
    }
    if offset == 0 {
        put(b"Z");
    } else {
        let minutes = offset.unsigned_abs() / 60;
        put(if offset < 0 { b"-" } else { b"+" });
        put(&two(minutes / 60));
        put(b":");
        put(&two(minutes % 60));
    }
    Some(n)
}

/// `serialize_with` for a [`Timestamp`]: the same text as chrono's `Serialize`.
pub(crate) fn serialize<S: Serializer>(t: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
    let mut buf = [0u8; MAX_LEN];
    match write_common(t, &mut buf) {
        Some(n) => {
            let text = std::str::from_utf8(&buf[..n]).expect("ascii digits and separators");
            serializer.serialize_str(text)
        }
        None => serde::Serialize::serialize(t, serializer),
    }
}

/// `deserialize_with` for a [`Timestamp`]: what chrono's `Deserialize` accepts, with its
/// error messages.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Timestamp, D::Error> {
    struct Visitor;
    impl de::Visitor<'_> for Visitor {
        type Value = Timestamp;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            // chrono's wording, so that a wrong type reads as it did.
            f.write_str("an RFC 3339 formatted date and time string")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
            parse(v).map_err(E::custom)
        }
    }
    deserializer.deserialize_str(Visitor)
}

/// `with` for an optional [`Timestamp`]: `null` or the text of [`serialize`].
pub(crate) mod option {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Timestamp;

    /// Writes `null` or the timestamp's text.
    pub(crate) fn serialize<S: Serializer>(
        t: &Option<Timestamp>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        struct Text<'a>(&'a Timestamp);
        impl serde::Serialize for Text<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                super::serialize(self.0, serializer)
            }
        }
        match t {
            // `serialize_some`, so that apache-avro's serde sees an option (a union).
            Some(t) => serializer.serialize_some(&Text(t)),
            None => serializer.serialize_none(),
        }
    }

    /// Reads `null` or a timestamp.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Timestamp>, D::Error> {
        #[derive(Deserialize)]
        struct Wrap(#[serde(deserialize_with = "super::deserialize")] Timestamp);
        Ok(Option::<Wrap>::deserialize(deserializer)?.map(|w| w.0))
    }
}

/// The text chrono would write, for tests.
#[cfg(test)]
fn chrono_text(t: &Timestamp) -> String {
    serde_json::to_value(t)
        .unwrap()
        .as_str()
        .unwrap()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ours(t: &Timestamp) -> String {
        let mut buf = [0u8; MAX_LEN];
        match write_common(t, &mut buf) {
            Some(n) => String::from_utf8(buf[..n].to_vec()).unwrap(),
            None => chrono_text(t),
        }
    }

    fn any_timestamp() -> impl Strategy<Value = Timestamp> {
        (
            // 0000-01-01 .. 9999-12-31 and a little beyond on either side.
            -62_300_000_000i64..253_500_000_000i64,
            prop_oneof![
                Just(0u32),
                (0u32..1000).prop_map(|ms| ms * 1_000_000),
                (0u32..1_000_000).prop_map(|us| us * 1000),
                0u32..1_000_000_000,
            ],
            prop_oneof![
                Just(7 * 3600),
                Just(0),
                (-23i32..=23, 0i32..60).prop_map(|(h, m)| h * 3600 + h.signum() * m * 60),
                -86_399i32..86_400,
            ],
        )
            .prop_filter_map("representable", |(secs, nano, off)| {
                let offset = FixedOffset::east_opt(off)?;
                chrono::DateTime::from_timestamp(secs, nano).map(|t| t.with_timezone(&offset))
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn writes_what_chrono_writes_and_reads_it_back(t in any_timestamp()) {
            let text = ours(&t);
            prop_assert_eq!(&text, &chrono_text(&t));
            prop_assert_eq!(parse(&text), text.parse::<Timestamp>());
            if t.offset().local_minus_utc() % 60 == 0 {
                // Text keeps the offset to the minute only.
                prop_assert_eq!(parse(&text).ok(), Some(t));
            }
        }

        #[test]
        fn reads_mangled_text_as_chrono_does(
            t in any_timestamp(),
            at in 0usize..40,
            with in prop::sample::select(&b"0912T Zz+-:.,a"[..]),
            cut in prop::bool::ANY,
        ) {
            let mut bytes = chrono_text(&t).into_bytes();
            let at = at % bytes.len();
            if cut { bytes.truncate(at) } else { bytes[at] = with }
            let s = String::from_utf8(bytes).unwrap();
            prop_assert_eq!(parse(&s), s.parse::<Timestamp>(), "{}", s);
        }
    }

    #[test]
    fn odd_but_valid_shapes_go_to_chrono() {
        for s in [
            "2026-10-08 09:15:00+07:00",
            "2026-10-08t09:15:00z",
            "2026-10-08T09:15:00.1234567891+07:00",
            "2026-10-08T09:15:00 +07:00",
            "2026-10-08T09:15:00UTC",
            "2026-10-08T09:15:00+0700",
            "2016-12-31T23:59:60Z",
            "2026-02-29T09:15:00+07:00",
            "2026-10-08T09:15:00+24:00",
            "+12026-10-08T09:15:00+07:00",
        ] {
            assert_eq!(parse(s), s.parse::<Timestamp>(), "{s}");
        }
    }
}
