//! Name lists and the applicant generator: plausible Vietnamese people and businesses.
//!
//! Every name is kept with an ASCII spelling so emails can be built without a diacritics
//! table. Surname weights follow the commonly cited shares (Nguyễn about a third).

use motcua_core::event::{Applicant, ApplicantKind, IdType};
use rand::seq::SliceRandom;
use rand::Rng;

/// (surname, ASCII, weight).
const SURNAMES: &[(&str, &str, u32)] = &[
    ("Nguyễn", "nguyen", 310),
    ("Trần", "tran", 110),
    ("Lê", "le", 95),
    ("Phạm", "pham", 70),
    ("Hoàng", "hoang", 50),
    ("Huỳnh", "huynh", 40),
    ("Phan", "phan", 45),
    ("Vũ", "vu", 39),
    ("Võ", "vo", 30),
    ("Đặng", "dang", 21),
    ("Bùi", "bui", 20),
    ("Đỗ", "do", 14),
    ("Hồ", "ho", 13),
    ("Ngô", "ngo", 13),
    ("Dương", "duong", 10),
    ("Lý", "ly", 5),
    ("Trương", "truong", 10),
    ("Đinh", "dinh", 8),
    ("Lâm", "lam", 5),
    ("Mai", "mai", 5),
    ("Cao", "cao", 4),
    ("Đoàn", "doan", 5),
    ("Lương", "luong", 3),
    ("Tạ", "ta", 3),
];

const MALE_MIDDLE: &[(&str, &str)] = &[
    ("Văn", "van"),
    ("Đức", "duc"),
    ("Minh", "minh"),
    ("Quang", "quang"),
    ("Hữu", "huu"),
    ("Công", "cong"),
    ("Thanh", "thanh"),
    ("Quốc", "quoc"),
    ("Gia", "gia"),
    ("Xuân", "xuan"),
    ("Ngọc", "ngoc"),
    ("Đình", "dinh"),
];

const FEMALE_MIDDLE: &[(&str, &str)] = &[
    ("Thị", "thi"),
    ("Ngọc", "ngoc"),
    ("Thu", "thu"),
    ("Thanh", "thanh"),
    ("Minh", "minh"),
    ("Bảo", "bao"),
    ("Khánh", "khanh"),
    ("Phương", "phuong"),
    ("Mỹ", "my"),
    ("Hồng", "hong"),
    ("Kim", "kim"),
];

const MALE_GIVEN: &[(&str, &str)] = &[
    ("Anh", "anh"),
    ("Bảo", "bao"),
    ("Cường", "cuong"),
    ("Dũng", "dung"),
    ("Đạt", "dat"),
    ("Đức", "duc"),
    ("Hải", "hai"),
    ("Hiếu", "hieu"),
    ("Hoàng", "hoang"),
    ("Hùng", "hung"),
    ("Huy", "huy"),
    ("Khang", "khang"),
    ("Khoa", "khoa"),
    ("Long", "long"),
    ("Minh", "minh"),
    ("Nam", "nam"),
    ("Nghĩa", "nghia"),
    ("Phong", "phong"),
    ("Phúc", "phuc"),
    ("Quân", "quan"),
    ("Sơn", "son"),
    ("Tài", "tai"),
    ("Thắng", "thang"),
    ("Thành", "thanh"),
    ("Trung", "trung"),
    ("Tuấn", "tuan"),
    ("Việt", "viet"),
    ("Vinh", "vinh"),
    ("Hưng", "hung"),
    ("Lộc", "loc"),
];

const FEMALE_GIVEN: &[(&str, &str)] = &[
    ("Anh", "anh"),
    ("Chi", "chi"),
    ("Dung", "dung"),
    ("Giang", "giang"),
    ("Hà", "ha"),
    ("Hạnh", "hanh"),
    ("Hằng", "hang"),
    ("Hiền", "hien"),
    ("Hoa", "hoa"),
    ("Hương", "huong"),
    ("Huyền", "huyen"),
    ("Lan", "lan"),
    ("Linh", "linh"),
    ("Loan", "loan"),
    ("Mai", "mai"),
    ("My", "my"),
    ("Nga", "nga"),
    ("Ngân", "ngan"),
    ("Nhung", "nhung"),
    ("Oanh", "oanh"),
    ("Phương", "phuong"),
    ("Quỳnh", "quynh"),
    ("Thảo", "thao"),
    ("Thủy", "thuy"),
    ("Trang", "trang"),
    ("Trinh", "trinh"),
    ("Tuyết", "tuyet"),
    ("Uyên", "uyen"),
    ("Vân", "van"),
    ("Yến", "yen"),
];

/// Words for business names: (display, ASCII).
const BUSINESS_WORDS: &[(&str, &str)] = &[
    ("Hải Âu", "haiau"),
    ("Biển Xanh", "bienxanh"),
    ("Phương Nam", "phuongnam"),
    ("Trường Sơn", "truongson"),
    ("Thành Đạt", "thanhdat"),
    ("Hưng Thịnh", "hungthinh"),
    ("Minh Phát", "minhphat"),
    ("An Khang", "ankhang"),
    ("Đại Việt", "daiviet"),
    ("Sao Mai", "saomai"),
    ("Hoàng Long", "hoanglong"),
    ("Tân Phú", "tanphu"),
    ("Vạn Lợi", "vanloi"),
    ("Kim Ngân", "kimngan"),
    ("Thiên Ân", "thienan"),
    ("Nam Việt", "namviet"),
];

const BUSINESS_TRADES: &[&str] = &[
    "Xây dựng",
    "Thương mại",
    "Dịch vụ Du lịch",
    "Thủy sản",
    "Vận tải",
    "Đầu tư",
    "Công nghệ",
    "Thực phẩm",
    "Khách sạn",
    "Bất động sản",
];

const BUSINESS_FORMS: &[&str] = &[
    "Công ty TNHH",
    "Công ty TNHH",
    "Công ty Cổ phần",
    "Doanh nghiệp tư nhân",
    "Hợp tác xã",
];

/// Street names for urban addresses.
const STREETS: &[&str] = &[
    "Trần Phú",
    "Lê Thánh Tôn",
    "Yersin",
    "Thống Nhất",
    "Hùng Vương",
    "Nguyễn Trãi",
    "Lê Hồng Phong",
    "23 Tháng 10",
    "Quang Trung",
    "Hai Bà Trưng",
    "Phan Chu Trinh",
    "Nguyễn Thị Minh Khai",
    "Lý Thường Kiệt",
    "Trường Chinh",
    "Võ Thị Sáu",
    "Ngô Gia Tự",
    "2 Tháng 4",
    "Điện Biên Phủ",
];

/// Hamlet names for rural addresses.
const HAMLETS: &[&str] = &[
    "Thôn Đông",
    "Thôn Tây",
    "Thôn Phú Hòa",
    "Thôn Tân Phước",
    "Thôn Xuân Lạc",
    "Thôn Hòa Bình",
    "Thôn Trung",
    "Thôn Bắc",
    "Thôn Nam",
    "Thôn Vĩnh Thạnh",
];

const MAIL_HOSTS: &[&str] = &[
    "gmail.com",
    "gmail.com",
    "gmail.com",
    "yahoo.com",
    "outlook.com",
];

/// Mobile prefixes: Viettel, Vinaphone, Mobifone ranges starting 09, 03 and 08.
const PHONE_PREFIXES: &[&str] = &[
    "090", "091", "093", "094", "096", "097", "098", "032", "033", "034", "035", "036", "037",
    "038", "039", "081", "083", "084", "085", "086", "088", "089",
];

/// A generated person name with its ASCII spelling (for emails).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName {
    /// Full name: họ + đệm + tên.
    pub full: String,
    /// Given name in ASCII, lower case.
    pub given_ascii: &'static str,
    /// Surname in ASCII, lower case.
    pub surname_ascii: &'static str,
}

/// Draws a Vietnamese full name (họ + đệm + tên), either sex.
pub fn person_name<R: Rng + ?Sized>(rng: &mut R) -> PersonName {
    let (surname, surname_ascii) = surname(rng);
    let female = rng.gen_bool(0.5);
    let (middle, given) = if female {
        (pick(rng, FEMALE_MIDDLE), pick(rng, FEMALE_GIVEN))
    } else {
        (pick(rng, MALE_MIDDLE), pick(rng, MALE_GIVEN))
    };
    PersonName {
        full: format!("{surname} {} {}", middle.0, given.0),
        given_ascii: given.1,
        surname_ascii,
    }
}

/// A weighted surname; a linear walk over 24 entries beats building a table per call.
fn surname<R: Rng + ?Sized>(rng: &mut R) -> (&'static str, &'static str) {
    let total: u32 = SURNAMES.iter().map(|s| s.2).sum();
    let mut r = rng.gen_range(0..total);
    for &(name, ascii, w) in SURNAMES {
        if r < w {
            return (name, ascii);
        }
        r -= w;
    }
    (SURNAMES[0].0, SURNAMES[0].1)
}

fn pick<R: Rng + ?Sized>(
    rng: &mut R,
    list: &'static [(&'static str, &'static str)],
) -> (&'static str, &'static str) {
    *list.choose(rng).expect("name lists are not empty")
}

fn digits<R: Rng + ?Sized>(rng: &mut R, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect()
}

/// A 10-digit mobile number starting 09, 03 or 08.
pub fn phone<R: Rng + ?Sized>(rng: &mut R) -> String {
    let prefix = PHONE_PREFIXES
        .choose(rng)
        .expect("prefix list is not empty");
    format!("{prefix}{}", digits(rng, 7))
}

/// Where the applicant lives: a street address in a ward, a hamlet in a rural commune.
#[derive(Debug, Clone, Copy)]
pub struct Locality<'a> {
    /// Commune-level unit name, e.g. "phường Vĩnh Hải" (lower-case prefix as written in addresses).
    pub commune: &'a str,
    /// District-level unit name, e.g. "thành phố Nha Trang".
    pub district: &'a str,
    /// Province name, e.g. "Khánh Hòa".
    pub province: &'a str,
    /// Whether the commune is urban (street addresses) or rural (hamlets).
    pub urban: bool,
}

/// A postal address in `loc`.
pub fn address<R: Rng + ?Sized>(rng: &mut R, loc: Locality<'_>) -> String {
    let head = if loc.urban {
        let street = STREETS.choose(rng).expect("street list is not empty");
        format!("Số {} {street}", rng.gen_range(1..400))
    } else {
        (*HAMLETS.choose(rng).expect("hamlet list is not empty")).to_string()
    };
    format!(
        "{head}, {}, {}, tỉnh {}",
        loc.commune, loc.district, loc.province
    )
}

/// The inputs that shape an applicant.
#[derive(Debug, Clone, Copy)]
pub struct ApplicantProfile<'a> {
    /// Probability that the applicant is a business rather than a citizen.
    pub business_share: f64,
    /// Three-digit province prefix of CCCD numbers (e.g. "056") and of tax codes.
    pub id_prefix: &'a str,
    /// Where they live.
    pub locality: Locality<'a>,
}

/// A plausible applicant for a dossier: a citizen with a CCCD (most), an old CMND or a
/// passport, or a business with a 10-digit tax code; phone almost always, email often.
pub fn applicant<R: Rng + ?Sized>(rng: &mut R, profile: ApplicantProfile<'_>) -> Applicant {
    let roll: f64 = rng.gen();
    if roll < profile.business_share {
        return business(rng, profile);
    }
    // A small share of non-business organisations on business-like procedures.
    if roll < profile.business_share * 1.03 {
        let name = format!(
            "Trường Tiểu học {}",
            BUSINESS_WORDS
                .choose(rng)
                .expect("word list is not empty")
                .0
        );
        return Applicant {
            kind: ApplicantKind::OtherOrganisation,
            name,
            id_type: None,
            id_number: None,
            phone: Some(phone(rng)),
            email: None,
            address: Some(address(rng, profile.locality)),
        };
    }
    let name = person_name(rng);
    let id = rng.gen_range(0..100u32);
    let (id_type, id_number) = match id {
        0..=84 => {
            // 12-digit CCCD: province of birth (3), sex/century (1), year (2), serial (6).
            let century = if rng.gen_bool(0.5) { '0' } else { '1' };
            let year = rng.gen_range(40..100u32);
            (
                Some(IdType::Cccd),
                Some(format!(
                    "{}{century}{year:02}{}",
                    profile.id_prefix,
                    digits(rng, 6)
                )),
            )
        }
        85..=92 => (Some(IdType::Cmnd), Some(format!("2{}", digits(rng, 8)))),
        93..=95 => {
            let letter = if rng.gen_bool(0.7) { 'C' } else { 'B' };
            (
                Some(IdType::Passport),
                Some(format!("{letter}{}", digits(rng, 7))),
            )
        }
        _ => (None, None),
    };
    let email = rng.gen_bool(0.35).then(|| {
        let host = MAIL_HOSTS.choose(rng).expect("host list is not empty");
        format!(
            "{}.{}{}@{host}",
            name.given_ascii,
            name.surname_ascii,
            rng.gen_range(1..100)
        )
    });
    Applicant {
        kind: ApplicantKind::Citizen,
        name: name.full,
        id_type,
        id_number,
        phone: rng.gen_bool(0.97).then(|| phone(rng)),
        email,
        address: Some(address(rng, profile.locality)),
    }
}

fn business<R: Rng + ?Sized>(rng: &mut R, profile: ApplicantProfile<'_>) -> Applicant {
    let form = BUSINESS_FORMS.choose(rng).expect("form list is not empty");
    let trade = BUSINESS_TRADES
        .choose(rng)
        .expect("trade list is not empty");
    let (word, slug) = *BUSINESS_WORDS.choose(rng).expect("word list is not empty");
    // Tax codes start with the province's two-digit tax prefix; 10 digits for a head office.
    let tax_prefix = &profile.id_prefix[1..];
    let email = rng.gen_bool(0.7).then(|| {
        if rng.gen_bool(0.5) {
            format!("info@{slug}.vn")
        } else {
            format!("ketoan.{slug}@gmail.com")
        }
    });
    Applicant {
        kind: ApplicantKind::Business,
        name: format!("{form} {trade} {word}"),
        id_type: Some(IdType::TaxCode),
        id_number: Some(format!("{tax_prefix}{}", digits(rng, 8))),
        phone: Some(phone(rng)),
        email,
        address: Some(address(rng, profile.locality)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn names_have_three_parts_and_phones_ten_digits() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..200 {
            let n = person_name(&mut rng);
            assert_eq!(n.full.split(' ').count(), 3, "{}", n.full);
            let p = phone(&mut rng);
            assert_eq!(p.len(), 10);
            assert!(
                p.starts_with("09") || p.starts_with("03") || p.starts_with("08"),
                "{p}"
            );
        }
    }

    #[test]
    fn applicants_carry_valid_ids() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let loc = Locality {
            commune: "phường Vĩnh Hải",
            district: "thành phố Nha Trang",
            province: "Khánh Hòa",
            urban: true,
        };
        for share in [0.0, 0.5, 1.0] {
            for _ in 0..300 {
                let a = applicant(
                    &mut rng,
                    ApplicantProfile {
                        business_share: share,
                        id_prefix: "056",
                        locality: loc,
                    },
                );
                match (a.id_type, a.id_number.as_deref()) {
                    (Some(IdType::Cccd), Some(n)) => {
                        assert!(n.len() == 12 && n.starts_with("056"), "{n}")
                    }
                    (Some(IdType::Cmnd), Some(n)) => assert_eq!(n.len(), 9),
                    (Some(IdType::Passport), Some(n)) => assert_eq!(n.len(), 8),
                    (Some(IdType::TaxCode), Some(n)) => {
                        assert!(n.len() == 10 && n.starts_with("56"), "{n}")
                    }
                    (None, None) => {}
                    other => panic!("unexpected id {other:?}"),
                }
            }
        }
    }
}
