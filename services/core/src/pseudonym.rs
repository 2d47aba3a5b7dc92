//! Keyed pseudonyms for personal data (Decree 13/2023/NĐ-CP).
//!
//! HMAC-SHA-256 under a secret key, over a normalised value tagged with what it is, so the
//! same person's ID number gives the same pseudonym in every dossier (dossiers stay
//! linkable) while nobody without the key can test a guess. Analytics tables only ever
//! receive pseudonyms; the key never leaves the processor's configuration.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::event::{Applicant, DossierEvent};

/// Which personal field a value is; part of the hashed input so that equal strings in
/// different fields do not collide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PiiField {
    /// Full name.
    Name,
    /// Identity document number.
    IdNumber,
    /// Phone number.
    Phone,
    /// Email address.
    Email,
    /// Postal address.
    Address,
}

impl PiiField {
    fn tag(self) -> &'static str {
        match self {
            PiiField::Name => "name",
            PiiField::IdNumber => "id",
            PiiField::Phone => "phone",
            PiiField::Email => "email",
            PiiField::Address => "address",
        }
    }

    /// Normalises so trivial spelling differences give the same pseudonym.
    fn normalise(self, value: &str) -> String {
        match self {
            PiiField::IdNumber | PiiField::Phone => {
                let digits: String = value
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric())
                    .collect();
                // +84 912... and 0912... are the same Vietnamese number.
                match (self, digits.strip_prefix("84")) {
                    (PiiField::Phone, Some(rest)) if value.trim_start().starts_with('+') => {
                        format!("0{rest}")
                    }
                    _ => digits.to_uppercase(),
                }
            }
            PiiField::Email => value.trim().to_lowercase(),
            PiiField::Name | PiiField::Address => value
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase(),
        }
    }
}

/// Turns personal values into pseudonyms under one key.
#[derive(Clone)]
pub struct Pseudonymizer {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonymizer { key: <redacted> }")
    }
}

impl Pseudonymizer {
    /// A pseudonymizer under `key` (at least 16 bytes).
    pub fn new(key: &[u8]) -> Result<Self, String> {
        if key.len() < 16 {
            return Err("the pseudonym key must be at least 16 bytes".into());
        }
        let mac = Hmac::<Sha256>::new_from_slice(key).map_err(|e| e.to_string())?;
        Ok(Pseudonymizer { mac })
    }

    /// `p:` followed by 32 hex digits (128 bits of the HMAC).
    pub fn pseudonym(&self, field: PiiField, value: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(field.tag().as_bytes());
        mac.update(b"\0");
        mac.update(field.normalise(value).as_bytes());
        let digest = mac.finalize().into_bytes();
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(34);
        out.push_str("p:");
        for b in &digest[..16] {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        out
    }

    /// The pseudonym that links a person's dossiers: from the ID number when there is
    /// one, else the phone, else the name.
    pub fn person_ref(&self, a: &Applicant) -> String {
        match (&a.id_number, &a.phone) {
            (Some(id), _) => self.pseudonym(PiiField::IdNumber, id),
            (None, Some(phone)) => self.pseudonym(PiiField::Phone, phone),
            (None, None) => self.pseudonym(PiiField::Name, &a.name),
        }
    }

    fn applicant(&self, a: &mut Applicant) {
        a.name = self.pseudonym(PiiField::Name, &a.name);
        let fields = [
            (&mut a.id_number, PiiField::IdNumber),
            (&mut a.phone, PiiField::Phone),
            (&mut a.email, PiiField::Email),
            (&mut a.address, PiiField::Address),
        ];
        for (slot, field) in fields {
            if let Some(v) = slot.as_mut() {
                *v = self.pseudonym(field, v);
            }
        }
    }

    /// Replaces every personal value of an event with its pseudonym, in place.
    pub fn event(&self, e: &mut DossierEvent) {
        if let Some(r) = e.received.as_mut() {
            self.applicant(&mut r.applicant);
        }
        if let Some(a) = e.refused.as_mut().and_then(|r| r.applicant.as_mut()) {
            self.applicant(a);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples;

    #[test]
    fn pseudonyms_are_keyed_stable_and_normalised() {
        let a = Pseudonymizer::new(b"0123456789abcdef").unwrap();
        let b = Pseudonymizer::new(b"fedcba9876543210").unwrap();
        let id = a.pseudonym(PiiField::IdNumber, "056090001234");
        assert_eq!(id, a.pseudonym(PiiField::IdNumber, " 056 090 001 234 "));
        assert_ne!(
            id,
            b.pseudonym(PiiField::IdNumber, "056090001234"),
            "another key, another pseudonym"
        );
        assert_ne!(
            id,
            a.pseudonym(PiiField::Phone, "056090001234"),
            "fields are tagged"
        );
        assert_eq!(
            a.pseudonym(PiiField::Phone, "+84912345678"),
            a.pseudonym(PiiField::Phone, "0912345678")
        );
        assert_eq!(
            a.pseudonym(PiiField::Email, "An@Example.vn "),
            a.pseudonym(PiiField::Email, "an@example.vn")
        );
        assert!(id.starts_with("p:") && id.len() == 34);
        assert!(Pseudonymizer::new(b"short").is_err());
    }

    #[test]
    fn a_pseudonym_is_the_hmacs_first_128_bits_in_lowercase_hex() {
        // Stored pseudonyms must never change: the reference is the HMAC formatted apart.
        let key = b"0123456789abcdef";
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        mac.update(b"id\x00056090001234");
        let digest = mac.finalize().into_bytes();
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        let p = Pseudonymizer::new(key).unwrap();
        assert_eq!(
            p.pseudonym(PiiField::IdNumber, "056090001234"),
            format!("p:{hex}")
        );
    }

    #[test]
    fn no_clear_personal_value_survives_in_a_pseudonymised_event() {
        let p = Pseudonymizer::new(b"0123456789abcdef").unwrap();
        for mut e in samples::all_kinds() {
            p.event(&mut e);
            let json = serde_json::to_string(&e).unwrap();
            for clear in samples::CLEAR_PERSONAL_VALUES {
                assert!(!json.contains(clear), "{clear} left in {}", e.kind);
            }
        }
    }
}
