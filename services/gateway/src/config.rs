//! The gateway's access file: agencies, their hashed keys, scopes and limits, and the
//! agency levels used to convert portal records. Read at start and again whenever it
//! changes (mtime polled) or on SIGHUP; a file that fails to parse or validate leaves the
//! previous one in force, so a typo never locks every agency out.

use std::collections::HashMap;
use std::path::Path;

use motcua_core::event::AgencyLevel;
use motcua_core::validate::is_agency_code;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The file as written (JSON). Every field documented in `docs/CONTRACT.md` §9.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessFile {
    /// Every agency allowed to submit.
    pub agencies: Vec<AgencyEntry>,
    /// Agency levels by code pattern, for portal records (which do not say the level).
    #[serde(default)]
    pub levels: Vec<LevelEntry>,
}

/// One agency's credential and limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgencyEntry {
    /// Stable name of the agency system, used in metrics-free logs and idempotency keys.
    pub id: String,
    /// SHA-256 of each accepted API key, lower-case hex. Two during a rotation.
    pub key_sha256: Vec<String>,
    /// Agency codes it may submit for; each covers its sub-units (`H56` covers `H56.50.01`).
    pub scopes: Vec<String>,
    /// The agency's own administrative level (metric label).
    pub level: AgencyLevel,
    /// Requests per second allowed on average. Default 20.
    #[serde(default = "default_rate")]
    pub requests_per_second: f64,
    /// Requests allowed in a burst above the rate. Default 40.
    #[serde(default = "default_burst")]
    pub burst: f64,
    /// Largest request body, bytes. Default 1 MiB.
    #[serde(default = "default_body")]
    pub max_body_bytes: usize,
    /// Most records in one batch. Default 1000.
    #[serde(default = "default_records")]
    pub max_records: usize,
}

fn default_rate() -> f64 {
    20.0
}
fn default_burst() -> f64 {
    40.0
}
fn default_body() -> usize {
    1 << 20
}
fn default_records() -> usize {
    1000
}

/// Hard ceiling on any agency's `max_body_bytes`: 16 MiB.
pub const MAX_BODY_CEILING: usize = 16 << 20;

/// A level for the codes matching `pattern`: dot-separated segments, `*` matching any one
/// segment; a pattern covers the codes it matches and their sub-units; the most specific
/// pattern (most segments, then most literal segments) wins.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelEntry {
    /// e.g. `H56`, `H56.50`, `H56.*.*`.
    pub pattern: String,
    /// The level of the matching units.
    pub level: AgencyLevel,
}

/// A validated access file, indexed by key hash.
#[derive(Debug, Clone)]
pub struct Access {
    agencies: Vec<Agency>,
    by_key: HashMap<[u8; 32], usize>,
    levels: Vec<(Vec<String>, AgencyLevel)>,
}

/// One agency as the gateway uses it.
#[derive(Debug, Clone)]
pub struct Agency {
    /// Its id.
    pub id: String,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// Its level.
    pub level: AgencyLevel,
    /// Requests per second.
    pub requests_per_second: f64,
    /// Burst.
    pub burst: f64,
    /// Body limit, bytes.
    pub max_body_bytes: usize,
    /// Records per batch.
    pub max_records: usize,
}

impl Agency {
    /// Whether `code` is one of its scopes or a sub-unit of one.
    pub fn covers(&self, code: &str) -> bool {
        self.scopes.iter().any(|s| covers(s, code))
    }
}

/// Whether scope `scope` covers agency code `code` (itself or a sub-unit, segment-wise).
pub fn covers(scope: &str, code: &str) -> bool {
    code == scope
        || code
            .strip_prefix(scope)
            .is_some_and(|rest| rest.starts_with('.'))
}

/// SHA-256 of a key, as stored in the file.
pub fn hash_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Lower-case hex of a key's SHA-256: what an operator writes into `key_sha256`.
pub fn hash_key_hex(key: &str) -> String {
    hash_key(key).iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
        let text = std::str::from_utf8(chunk).ok()?;
        out[i] = u8::from_str_radix(text, 16).ok()?;
    }
    Some(out)
}

impl Access {
    /// Parses and validates, listing every problem found.
    pub fn from_json(text: &str) -> Result<Access, String> {
        let file: AccessFile =
            serde_json::from_str(text).map_err(|e| format!("access file: {e}"))?;
        Access::new(file)
    }

    /// Reads `path`.
    pub fn load(path: &Path) -> Result<Access, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Access::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Validates a parsed file.
    pub fn new(file: AccessFile) -> Result<Access, String> {
        let mut errors = Vec::new();
        let mut by_key = HashMap::new();
        let mut ids = std::collections::HashSet::new();
        let mut agencies = Vec::new();
        for (i, a) in file.agencies.into_iter().enumerate() {
            let at = format!("agencies[{i}] ({})", a.id);
            if a.id.trim().is_empty() {
                errors.push(format!("{at}: id must not be empty"));
            }
            if !ids.insert(a.id.clone()) {
                errors.push(format!("{at}: id used twice"));
            }
            if a.key_sha256.is_empty() {
                errors.push(format!("{at}: key_sha256 needs at least one hash"));
            }
            for h in &a.key_sha256 {
                match parse_hex32(&h.to_ascii_lowercase()) {
                    Some(bytes) => {
                        if by_key.insert(bytes, agencies.len()).is_some() {
                            errors.push(format!("{at}: a key hash is used by two agencies"));
                        }
                    }
                    None => errors.push(format!("{at}: key_sha256 `{h}` is not 64 hex digits")),
                }
            }
            if a.scopes.is_empty() {
                errors.push(format!("{at}: scopes must name at least one agency code"));
            }
            for s in &a.scopes {
                if !is_agency_code(s) {
                    errors.push(format!("{at}: scope `{s}` is not an agency code"));
                }
            }
            if !(a.requests_per_second > 0.0 && a.requests_per_second.is_finite()) {
                errors.push(format!("{at}: requests_per_second must be positive"));
            }
            if !(a.burst >= 1.0 && a.burst.is_finite()) {
                errors.push(format!("{at}: burst must be at least 1"));
            }
            if a.max_body_bytes == 0 || a.max_body_bytes > MAX_BODY_CEILING {
                errors.push(format!(
                    "{at}: max_body_bytes must be between 1 and {MAX_BODY_CEILING}"
                ));
            }
            if a.max_records == 0 {
                errors.push(format!("{at}: max_records must be at least 1"));
            }
            agencies.push(Agency {
                id: a.id,
                scopes: a.scopes,
                level: a.level,
                requests_per_second: a.requests_per_second,
                burst: a.burst,
                max_body_bytes: a.max_body_bytes,
                max_records: a.max_records,
            });
        }
        let mut levels = Vec::new();
        for (i, l) in file.levels.into_iter().enumerate() {
            let segs: Vec<String> = l.pattern.split('.').map(str::to_string).collect();
            let valid = segs.iter().all(|s| {
                s == "*"
                    || (!s.is_empty()
                        && s.bytes()
                            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()))
            });
            if !valid {
                errors.push(format!(
                    "levels[{i}]: pattern `{}` is not dot-separated codes or `*`",
                    l.pattern
                ));
            }
            levels.push((segs, l.level));
        }
        if errors.is_empty() {
            Ok(Access {
                agencies,
                by_key,
                levels,
            })
        } else {
            Err(errors.join("; "))
        }
    }

    /// The agency holding `key`, if any. The lookup is by the key's SHA-256, so timing
    /// says nothing useful about the stored hashes.
    pub fn authenticate(&self, key: &str) -> Option<&Agency> {
        self.by_key.get(&hash_key(key)).map(|&i| &self.agencies[i])
    }

    /// The configured level of unit `code`: the most specific matching pattern.
    pub fn level_of(&self, code: &str) -> Option<AgencyLevel> {
        let segs: Vec<&str> = code.split('.').collect();
        self.levels
            .iter()
            .filter(|(pattern, _)| {
                pattern.len() <= segs.len()
                    && pattern.iter().zip(&segs).all(|(p, s)| p == "*" || p == s)
            })
            .max_by_key(|(pattern, _)| {
                (
                    pattern.len(),
                    pattern.iter().filter(|p| p.as_str() != "*").count(),
                )
            })
            .map(|(_, level)| *level)
    }

    /// Every agency.
    pub fn agencies(&self) -> &[Agency] {
        &self.agencies
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access() -> Access {
        let text = format!(
            r#"{{"agencies": [
                {{"id": "h56", "key_sha256": ["{}"], "scopes": ["H56"], "level": "PROVINCE"}},
                {{"id": "h56-50", "key_sha256": ["{}"], "scopes": ["H56.50"], "level": "DISTRICT"}}
              ],
              "levels": [
                {{"pattern": "H56", "level": "PROVINCE"}},
                {{"pattern": "H56.50", "level": "DISTRICT"}},
                {{"pattern": "H56.*.*", "level": "COMMUNE"}}
              ]}}"#,
            hash_key_hex("province-key"),
            hash_key_hex("district-key")
        );
        Access::from_json(&text).expect("valid access file")
    }

    #[test]
    fn keys_are_found_by_hash_and_scopes_cover_sub_units() {
        let a = access();
        let province = a.authenticate("province-key").expect("known key");
        assert_eq!(province.id, "h56");
        assert!(province.covers("H56") && province.covers("H56.50.01"));
        assert!(!province.covers("H560") && !province.covers("H57.10"));
        let district = a.authenticate("district-key").expect("known key");
        assert!(district.covers("H56.50.03") && !district.covers("H56.51"));
        assert!(!district.covers("H56"));
        assert!(a.authenticate("nope").is_none());
    }

    #[test]
    fn the_most_specific_level_pattern_wins() {
        let a = access();
        assert_eq!(a.level_of("H56"), Some(AgencyLevel::Province));
        assert_eq!(a.level_of("H56.10"), Some(AgencyLevel::Province));
        assert_eq!(a.level_of("H56.50"), Some(AgencyLevel::District));
        assert_eq!(a.level_of("H56.50.01"), Some(AgencyLevel::Commune));
        assert_eq!(a.level_of("H57.10"), None);
    }

    #[test]
    fn every_problem_is_listed() {
        let err = Access::from_json(
            r#"{"agencies": [{"id": "", "key_sha256": ["abc"], "scopes": ["h56"], "level": "PROVINCE", "burst": 0}]}"#,
        )
        .unwrap_err();
        for part in [
            "id must not be empty",
            "64 hex digits",
            "scope `h56`",
            "burst",
        ] {
            assert!(err.contains(part), "{part} in {err}");
        }
        assert!(Access::from_json(r#"{"agencies": [], "extra": 1}"#).is_err());
    }
}
