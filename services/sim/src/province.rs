//! A synthetic province: its one-stop centre, departments, districts and communes, each with
//! the internal units that appear on process-control slips.
//!
//! Codes follow the electronic identifiers seen on real dossier codes: `H56` (the
//! province's centre), `H56.10` (a department), `H56.50` (a district), `H56.50.01` (a
//! commune), and one more segment for internal units. The names are Vietnamese and
//! plausible; the district and commune names are Khánh Hòa-flavoured whatever the code,
//! because the simulator needs believable text, not a gazetteer.

use motcua_core::event::AgencyLevel;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::names;

/// What an agency is in the one-stop organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgencyRole {
    /// The provincial public-administration service centre: receives and returns for departments.
    OneStopCentre,
    /// A provincial department (Sở).
    Department,
    /// A district-level People's Committee (UBND huyện / thị xã / thành phố).
    District,
    /// A commune-level People's Committee (UBND xã / phường / thị trấn).
    Commune,
}

/// An internal unit of an agency: a target of process-control handovers.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// Electronic identifier, one segment below its agency's code.
    pub code: String,
    /// Vietnamese name, e.g. "Phòng Hành chính tư pháp".
    pub name: String,
    /// Field codes it handles; a dossier goes to a unit whose fields include its procedure's.
    pub fields: Vec<String>,
}

/// One agency of the province.
#[derive(Debug, Clone, PartialEq)]
pub struct Agency {
    /// Electronic identifier; prefixes the dossier codes of the dossiers it owns.
    pub code: String,
    /// Vietnamese name, e.g. "Sở Tư pháp", "UBND huyện Vạn Ninh".
    pub name: String,
    /// The place name as written in addresses ("phường Vĩnh Hải", "thành phố Nha Trang").
    pub place: String,
    /// Administrative level written on form 01.
    pub level: AgencyLevel,
    /// Role in the one-stop organisation.
    pub role: AgencyRole,
    /// Index in [`Province::agencies`] of the district a commune belongs to.
    pub parent: Option<usize>,
    /// Code of the one-stop desk that receives and returns this agency's dossiers: the
    /// provincial centre for departments, the agency's own desk unit otherwise.
    pub one_stop: String,
    /// Code of the unit whose head approves and signs results (the last step before return).
    pub leadership: String,
    /// Specialist units that process dossiers.
    pub units: Vec<Unit>,
    /// Field codes this agency handles; empty means every field of its level.
    pub fields: Vec<String>,
    /// Officers at its one-stop desk (they sign forms 01, 02 and 03).
    pub officers: Vec<String>,
    /// Head of agency (signs forms 04 and 05).
    pub head: String,
    /// Urban (wards, street addresses) or rural (communes, hamlets).
    pub urban: bool,
    /// Relative volume of dossiers among agencies of the same role (1.0 is average).
    pub size: f64,
    /// How often it misses appointments relative to its level's norm (1.0 is average), so
    /// dashboards show differences between agencies.
    pub late_factor: f64,
}

/// A generated province.
#[derive(Debug, Clone, PartialEq)]
pub struct Province {
    /// Province code, e.g. "H56"; also the centre's code and the procedure codes' suffix.
    pub code: String,
    /// Province name as written in addresses ("Khánh Hòa").
    pub name: String,
    /// Three-digit prefix of CCCD numbers issued here (also gives the tax-code prefix).
    pub id_prefix: String,
    /// Every agency: the centre first, then departments, then each district followed by its communes.
    pub agencies: Vec<Agency>,
}

/// (number, name, field code, specialist units).
const DEPARTMENTS: &[(u32, &str, &str, &[&str])] = &[
    (
        10,
        "Sở Tư pháp",
        "TP",
        &[
            "Phòng Hành chính tư pháp",
            "Phòng Bổ trợ tư pháp",
            "Văn phòng Sở",
        ],
    ),
    (
        11,
        "Sở Kế hoạch và Đầu tư",
        "KHDT",
        &[
            "Phòng Đăng ký kinh doanh",
            "Phòng Doanh nghiệp, kinh tế tập thể và tư nhân",
            "Phòng Kinh tế đối ngoại",
        ],
    ),
    (
        12,
        "Sở Xây dựng",
        "XD",
        &[
            "Phòng Quản lý hoạt động xây dựng",
            "Phòng Quy hoạch - Kiến trúc",
            "Phòng Kinh tế và Vật liệu xây dựng",
        ],
    ),
    (
        13,
        "Sở Tài nguyên và Môi trường",
        "TNMT",
        &[
            "Văn phòng Đăng ký đất đai",
            "Phòng Quản lý đất đai",
            "Chi cục Bảo vệ môi trường",
        ],
    ),
    (
        14,
        "Sở Giao thông vận tải",
        "GTVT",
        &[
            "Phòng Quản lý phương tiện và người lái",
            "Phòng Quản lý vận tải",
            "Văn phòng Sở",
        ],
    ),
    (
        15,
        "Sở Y tế",
        "YT",
        &["Phòng Nghiệp vụ Y", "Chi cục An toàn vệ sinh thực phẩm"],
    ),
    (
        16,
        "Sở Giáo dục và Đào tạo",
        "GDDT",
        &[
            "Phòng Khảo thí và Quản lý chất lượng",
            "Phòng Giáo dục Trung học",
        ],
    ),
    (
        17,
        "Sở Lao động - Thương binh và Xã hội",
        "LDTBXH",
        &["Phòng Việc làm - An toàn lao động", "Phòng Bảo trợ xã hội"],
    ),
    (
        18,
        "Sở Công Thương",
        "CT",
        &["Phòng Quản lý thương mại", "Phòng Quản lý công nghiệp"],
    ),
    (
        19,
        "Sở Nông nghiệp và Phát triển nông thôn",
        "NNPTNT",
        &[
            "Chi cục Quản lý chất lượng Nông lâm sản và Thủy sản",
            "Chi cục Thủy sản",
        ],
    ),
    (
        20,
        "Sở Văn hóa, Thể thao và Du lịch",
        "VHTTDL",
        &["Phòng Quản lý du lịch", "Phòng Quản lý văn hóa"],
    ),
    (
        21,
        "Sở Thông tin và Truyền thông",
        "TTTT",
        &[
            "Phòng Thông tin - Báo chí - Xuất bản",
            "Phòng Bưu chính - Viễn thông",
        ],
    ),
];

/// (kind as written in names, name, urban).
const DISTRICTS: &[(&str, &str, bool)] = &[
    ("thành phố", "Nha Trang", true),
    ("thành phố", "Cam Ranh", true),
    ("thị xã", "Ninh Hòa", true),
    ("huyện", "Vạn Ninh", false),
    ("huyện", "Diên Khánh", false),
    ("huyện", "Cam Lâm", false),
    ("huyện", "Khánh Vĩnh", false),
    ("huyện", "Khánh Sơn", false),
];

/// District specialist offices: (name, fields).
const DISTRICT_UNITS: &[(&str, &[&str])] = &[
    ("Phòng Tư pháp", &["TP"]),
    ("Phòng Tài nguyên và Môi trường", &["TNMT"]),
    ("Phòng Kinh tế và Hạ tầng", &["XD", "GTVT"]),
    ("Phòng Tài chính - Kế hoạch", &["KHDT"]),
    ("Phòng Kinh tế", &["CT", "NNPTNT"]),
    ("Phòng Giáo dục và Đào tạo", &["GDDT"]),
    ("Phòng Lao động - Thương binh và Xã hội", &["LDTBXH"]),
];

/// Commune civil servants acting as units: (name, fields).
const COMMUNE_UNITS: &[(&str, &[&str])] = &[
    ("Công chức Tư pháp - Hộ tịch", &["TP"]),
    ("Công chức Địa chính - Xây dựng", &["TNMT", "XD"]),
    ("Công chức Văn hóa - Xã hội", &["LDTBXH", "VHTTDL", "GDDT"]),
];

const COMMUNE_NAMES: &[&str] = &[
    "Vĩnh Hải",
    "Vĩnh Phước",
    "Vĩnh Thọ",
    "Xương Huân",
    "Vạn Thắng",
    "Phương Sài",
    "Phước Hải",
    "Phước Long",
    "Lộc Thọ",
    "Tân Lập",
    "Ninh Hiệp",
    "Ninh Đa",
    "Ninh Thủy",
    "Ninh Sơn",
    "Vạn Giã",
    "Vạn Phú",
    "Vạn Lương",
    "Vạn Hưng",
    "Diên An",
    "Diên Toàn",
    "Diên Thạnh",
    "Diên Phú",
    "Suối Hiệp",
    "Suối Tiên",
    "Cam Đức",
    "Cam Hải Tây",
    "Cam Thành Bắc",
    "Cam An Nam",
    "Cam Phúc Bắc",
    "Cam Nghĩa",
    "Ba Ngòi",
    "Cam Lợi",
    "Khánh Bình",
    "Khánh Đông",
    "Khánh Hiệp",
    "Khánh Trung",
    "Sông Cầu",
    "Tô Hạp",
    "Sơn Bình",
    "Sơn Lâm",
    "Thành Sơn",
    "Ninh Phụng",
    "Ninh Quang",
    "Ninh Xuân",
    "Vạn Khánh",
    "Vạn Long",
    "Đại Lãnh",
    "Xuân Sơn",
];

/// First district code number; districts are `{province}.50` upwards.
const FIRST_DISTRICT: u32 = 50;
/// Number of districts generated.
const DISTRICT_COUNT: usize = 6;
/// District internal units are numbered from here, clear of commune numbers.
const DISTRICT_UNIT_BASE: u32 = 30;

fn people<R: Rng + ?Sized>(rng: &mut R, n: usize) -> Vec<String> {
    (0..n).map(|_| names::person_name(rng).full).collect()
}

fn to_strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_string()).collect()
}

impl Province {
    /// Generates the province `code` (e.g. "H56") from `seed`. The same inputs always give the
    /// same province. `code` should be one upper-case alphanumeric segment (see
    /// `motcua_core::validate::is_agency_code`); the simulator checks this before calling.
    pub fn generate(seed: u64, code: &str) -> Province {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        // A stream of its own, so the province does not shift when the simulator's draws change.
        rng.set_stream(1);
        let name = if code == "H56" {
            "Khánh Hòa".to_string()
        } else {
            code.to_string()
        };
        let digits: String = code.chars().filter(char::is_ascii_digit).collect();
        let id_prefix = if digits.is_empty() {
            "001".to_string()
        } else {
            format!("{:0>3}", &digits[digits.len().saturating_sub(3)..])
        };

        let mut agencies = vec![Agency {
            code: code.to_string(),
            name: format!("Trung tâm Phục vụ hành chính công tỉnh {name}"),
            place: format!("tỉnh {name}"),
            level: AgencyLevel::Province,
            role: AgencyRole::OneStopCentre,
            parent: None,
            one_stop: code.to_string(),
            leadership: code.to_string(),
            units: Vec::new(),
            fields: Vec::new(),
            officers: people(&mut rng, 6),
            head: names::person_name(&mut rng).full,
            urban: true,
            size: 1.0,
            late_factor: 1.0,
        }];

        for &(no, dept_name, field, units) in DEPARTMENTS {
            let dept_code = format!("{code}.{no}");
            agencies.push(Agency {
                units: units
                    .iter()
                    .enumerate()
                    .map(|(i, u)| Unit {
                        code: format!("{dept_code}.{:02}", i + 1),
                        name: (*u).to_string(),
                        fields: vec![field.to_string()],
                    })
                    .collect(),
                code: dept_code,
                name: dept_name.to_string(),
                place: format!("tỉnh {name}"),
                level: AgencyLevel::Province,
                role: AgencyRole::Department,
                parent: None,
                one_stop: code.to_string(),
                leadership: format!("{code}.{no}"),
                fields: vec![field.to_string()],
                officers: people(&mut rng, 2),
                head: names::person_name(&mut rng).full,
                urban: true,
                size: rng.gen_range(0.7..1.3),
                late_factor: rng.gen_range(0.75..1.2),
            });
        }

        // Six of the eight districts, cities first so the capital is always there.
        let mut picked: Vec<usize> = (3..DISTRICTS.len()).collect();
        picked.shuffle(&mut rng);
        picked.truncate(DISTRICT_COUNT - 3);
        picked.sort_unstable();
        let district_idx: Vec<usize> = (0..3).chain(picked).collect();

        let mut commune_names: Vec<&str> = COMMUNE_NAMES.to_vec();
        commune_names.shuffle(&mut rng);
        let mut commune_names = commune_names.into_iter();

        for (n, &di) in district_idx.iter().enumerate() {
            let (kind, dname, urban) = DISTRICTS[di];
            let dcode = format!("{code}.{}", FIRST_DISTRICT + n as u32);
            let place = format!("{kind} {dname}");
            let parent = agencies.len();
            let unit = |k: u32| format!("{dcode}.{}", DISTRICT_UNIT_BASE + k);
            agencies.push(Agency {
                code: dcode.clone(),
                name: format!("UBND {place}"),
                place: place.clone(),
                level: AgencyLevel::District,
                role: AgencyRole::District,
                parent: None,
                one_stop: unit(0),
                leadership: unit(1),
                units: DISTRICT_UNITS
                    .iter()
                    .enumerate()
                    .map(|(i, (uname, fields))| Unit {
                        code: unit(2 + i as u32),
                        name: (*uname).to_string(),
                        fields: to_strings(fields),
                    })
                    .collect(),
                fields: Vec::new(),
                officers: people(&mut rng, 3),
                head: names::person_name(&mut rng).full,
                urban,
                // The provincial capital is the busiest district.
                size: if n == 0 {
                    rng.gen_range(1.8..2.4)
                } else {
                    rng.gen_range(0.6..1.4)
                },
                late_factor: rng.gen_range(0.7..1.2),
            });
            let communes = rng.gen_range(4..=8);
            for c in 0..communes {
                let Some(cname) = commune_names.next() else {
                    break;
                };
                // Towns have wards; rural districts have communes and one township.
                let ward_kind = if urban && rng.gen_bool(0.8) {
                    "phường"
                } else if !urban && c == 0 {
                    "thị trấn"
                } else {
                    "xã"
                };
                let ccode = format!("{dcode}.{:02}", c + 1);
                let cplace = format!("{ward_kind} {cname}");
                agencies.push(Agency {
                    code: ccode.clone(),
                    name: format!("UBND {cplace}"),
                    place: cplace,
                    level: AgencyLevel::Commune,
                    role: AgencyRole::Commune,
                    parent: Some(parent),
                    one_stop: format!("{ccode}.01"),
                    leadership: format!("{ccode}.02"),
                    units: COMMUNE_UNITS
                        .iter()
                        .enumerate()
                        .map(|(i, (uname, fields))| Unit {
                            code: format!("{ccode}.{:02}", i + 3),
                            name: (*uname).to_string(),
                            fields: to_strings(fields),
                        })
                        .collect(),
                    fields: Vec::new(),
                    officers: people(&mut rng, 2),
                    head: names::person_name(&mut rng).full,
                    urban: ward_kind != "xã",
                    size: if ward_kind == "xã" {
                        rng.gen_range(0.5..1.1)
                    } else {
                        rng.gen_range(0.9..1.8)
                    },
                    late_factor: rng.gen_range(0.6..1.3),
                });
            }
        }

        // A couple of agencies noticeably worse, one noticeably better: dashboards should
        // show differences, not a flat province.
        let departments: Vec<usize> = (0..agencies.len())
            .filter(|&i| agencies[i].role == AgencyRole::Department)
            .collect();
        let districts: Vec<usize> = (0..agencies.len())
            .filter(|&i| agencies[i].role == AgencyRole::District)
            .collect();
        let communes: Vec<usize> = (0..agencies.len())
            .filter(|&i| agencies[i].role == AgencyRole::Commune)
            .collect();
        let bad_dept = *departments.choose(&mut rng).expect("departments exist");
        let bad_district = *districts.choose(&mut rng).expect("districts exist");
        let bad_commune = *communes.choose(&mut rng).expect("communes exist");
        for i in [bad_dept, bad_district, bad_commune] {
            agencies[i].late_factor = rng.gen_range(2.6..3.2);
        }
        let good_dept = *departments
            .iter()
            .find(|&&i| i != bad_dept)
            .expect("two departments exist");
        agencies[good_dept].late_factor = 0.35;

        Province {
            code: code.to_string(),
            name,
            id_prefix,
            agencies,
        }
    }

    /// The provincial one-stop centre.
    pub fn centre(&self) -> &Agency {
        &self.agencies[0]
    }

    /// The agency with this code, if any.
    pub fn agency(&self, code: &str) -> Option<&Agency> {
        self.agencies.iter().find(|a| a.code == code)
    }

    /// Agencies in a role, in code order.
    pub fn with_role(&self, role: AgencyRole) -> impl Iterator<Item = &Agency> + '_ {
        self.agencies.iter().filter(move |a| a.role == role)
    }

    /// Every code the province uses: agencies, their desks and units (for lookups in tests
    /// and tools).
    pub fn all_codes(&self) -> Vec<&str> {
        let mut codes = Vec::new();
        for a in &self.agencies {
            codes.push(a.code.as_str());
            codes.push(a.one_stop.as_str());
            codes.push(a.leadership.as_str());
            codes.extend(a.units.iter().map(|u| u.code.as_str()));
        }
        codes.sort_unstable();
        codes.dedup();
        codes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use motcua_core::validate::is_agency_code;

    #[test]
    fn codes_are_valid_and_unique() {
        let p = Province::generate(7, "H56");
        let codes = p.all_codes();
        assert!(codes.iter().all(|c| is_agency_code(c)), "{codes:?}");
        let agency_codes: Vec<&str> = p.agencies.iter().map(|a| a.code.as_str()).collect();
        let mut sorted = agency_codes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), agency_codes.len());
        // Units never collide with communes (H56.50.01 is a commune, H56.50.3x are units).
        let unit_count: usize = p.agencies.iter().map(|a| a.units.len()).sum();
        assert!(codes.len() >= agency_codes.len() + unit_count);
    }

    #[test]
    fn shape_matches_a_province() {
        let p = Province::generate(7, "H56");
        assert_eq!(p.centre().code, "H56");
        assert_eq!(p.with_role(AgencyRole::Department).count(), 12);
        assert_eq!(p.with_role(AgencyRole::District).count(), 6);
        let communes = p.with_role(AgencyRole::Commune).count();
        assert!((24..=48).contains(&communes), "{communes}");
        assert!(p.agency("H56.10").is_some_and(|a| a.name == "Sở Tư pháp"));
        assert!(p
            .agency("H56.50.01")
            .is_some_and(|a| a.level == AgencyLevel::Commune));
        assert_eq!(p.id_prefix, "056");
        assert!(p.agencies.iter().any(|a| a.late_factor > 2.5));
    }

    #[test]
    fn same_seed_same_province() {
        assert_eq!(Province::generate(3, "H56"), Province::generate(3, "H56"));
        assert_ne!(Province::generate(3, "H56"), Province::generate(4, "H56"));
    }
}
