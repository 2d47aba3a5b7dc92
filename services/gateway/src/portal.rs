//! The national portal's sync payloads (domain.md §9) converted to motcua events.
//!
//! A provincial system syncs a dossier as a snapshot (`TrangThaiHoSo`, status 1-10, with
//! the dates reached so far) and its progress as rows (`QuaTrinhXuLy`). A snapshot becomes
//! the events its status implies; each event's id is derived from the dossier code and the
//! step (`{MaHoSo}@portal/RECEIVED`...), so syncing the same snapshot again gives the same
//! events, which the processor folds once. Every field is mapped as `docs/CONTRACT.md` §9.4
//! lists; a status or a value with no motcua equivalent is an error naming the field, never
//! a guess. Fields the portal sends that motcua does not need are accepted and ignored
//! (listed there too); a field the portal vocabulary does not have is an error.

use chrono::{NaiveDate, NaiveDateTime};
use motcua_core::deadline::Catalogue;
use motcua_core::event::*;
use motcua_core::fold::{local_date, vietnam_instant};
use motcua_core::validate::is_agency_code;
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::Value;

use crate::record::{Reason, RecordError};

/// `source_system` of every converted event.
pub const SOURCE_SYSTEM: &str = "national-portal-sync";

/// `receiving_officer` of converted receipts: the portal record does not name the officer.
pub const OFFICER_NOT_SYNCED: &str = "(not in the portal record)";

/// Circular 03/2025's forms apply to steps from this day (Decree 118/2025, domain.md §1).
fn form_set_of(at: Timestamp) -> FormSet {
    let start_2025 = NaiveDate::from_ymd_opt(2025, 7, 1).expect("valid date");
    if local_date(at) < start_2025 {
        FormSet::Tt01_2018
    } else {
        FormSet::Tt03_2025
    }
}

/// One dossier as the portal sync sends it (`HoSo`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
pub struct PortalDossier {
    pub MaHoSo: String,
    #[serde(default)]
    pub MaTTHC: Option<String>,
    #[serde(default)]
    pub TenTTHC: Option<String>,
    #[serde(default)]
    pub MaLinhVuc: Option<String>,
    #[serde(default)]
    pub TenLinhVuc: Option<IgnoredAny>,
    #[serde(default)]
    pub KenhThucHien: Option<Value>,
    #[serde(default)]
    pub ChuHoSo: Option<String>,
    #[serde(default)]
    pub SoGiayToChuHoSo: Option<String>,
    #[serde(default)]
    pub LoaiDoiTuong: Option<Value>,
    #[serde(default)]
    pub MaDoiTuong: Option<IgnoredAny>,
    #[serde(default)]
    pub ThongTinKhac: Option<IgnoredAny>,
    #[serde(default)]
    pub SoDienThoai: Option<String>,
    #[serde(default)]
    pub Email: Option<String>,
    #[serde(default)]
    pub Fax: Option<IgnoredAny>,
    #[serde(default)]
    pub TrichYeuHoSo: Option<String>,
    #[serde(default)]
    pub NgayTiepNhan: Option<String>,
    #[serde(default)]
    pub NgayHenTra: Option<String>,
    pub TrangThaiHoSo: Value,
    #[serde(default)]
    pub NgayTra: Option<String>,
    #[serde(default)]
    pub ThongTinTra: Option<IgnoredAny>,
    #[serde(default)]
    pub HinhThuc: Option<IgnoredAny>,
    #[serde(default)]
    pub NgayKetThucXuLy: Option<String>,
    #[serde(default)]
    pub DonViXuLy: Option<IgnoredAny>,
    #[serde(default)]
    pub GhiChu: Option<IgnoredAny>,
    #[serde(default)]
    pub TaiLieuNop: Option<Vec<SubmittedFile>>,
    #[serde(default)]
    pub DanhSachLePhi: Option<IgnoredAny>,
    #[serde(default)]
    pub DanhSachTepDinhKemKhac: Option<IgnoredAny>,
    #[serde(default)]
    pub DanhSachHoSoBoSung: Option<Vec<SupplementRound>>,
    #[serde(default)]
    pub DanhSachGiayToKetQua: Option<Vec<ResultDocument>>,
    #[serde(default)]
    pub NoiNopHoSo: Option<IgnoredAny>,
    #[serde(default)]
    pub HoSoCoThanhPhanSoHoa: Option<Value>,
    #[serde(default)]
    pub TaiKhoanDuocXacThucVoiVNeID: Option<IgnoredAny>,
    #[serde(default)]
    pub DuocThanhToanTrucTuyen: Option<IgnoredAny>,
    #[serde(default)]
    pub NgayTuChoi: Option<IgnoredAny>,
    #[serde(default)]
    pub DinhDanhCHS: Option<IgnoredAny>,
    #[serde(default)]
    pub NgayNopHoSo: Option<IgnoredAny>,
    #[serde(default)]
    pub DSKetNoiCSDL: Option<IgnoredAny>,
}

/// A submitted file (`TaiLieuNop` item); only its name is used.
#[derive(Debug, Clone, Deserialize)]
#[allow(non_snake_case)]
pub struct SubmittedFile {
    #[serde(default)]
    pub TenTepDinhKem: Option<String>,
}

/// A result document (`DanhSachGiayToKetQua` item).
#[derive(Debug, Clone, Deserialize)]
#[allow(non_snake_case)]
pub struct ResultDocument {
    #[serde(default)]
    pub TenGiayTo: Option<String>,
    #[serde(default)]
    pub DuongDanTepTinKetQua: Option<String>,
}

/// A supplement round (`DanhSachHoSoBoSung` item).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
pub struct SupplementRound {
    #[serde(default)]
    pub HoSoBoSungId: Option<Value>,
    #[serde(default)]
    pub NguoiYeuCauBoSung: Option<String>,
    #[serde(default)]
    pub NoiDungBoSung: Option<String>,
    #[serde(default)]
    pub NgayBoSung: Option<String>,
    #[serde(default)]
    pub NguoiTiepNhanBoSung: Option<IgnoredAny>,
    #[serde(default)]
    pub ThongTinTiepNhan: Option<IgnoredAny>,
    #[serde(default)]
    pub NgayTiepNhanBoSung: Option<String>,
    #[serde(default)]
    pub TrangThaiBoSung: Option<Value>,
    #[serde(default)]
    pub DanhSachGiayToBoSung: Option<Vec<SubmittedFile>>,
    #[serde(default)]
    pub DanhSachLePhiBoSung: Option<IgnoredAny>,
    #[serde(default)]
    pub NgayHenTraTruoc: Option<IgnoredAny>,
    #[serde(default)]
    pub NgayHenTraMoi: Option<IgnoredAny>,
}

/// One progress row (`QuaTrinhXuLy`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
pub struct PortalStep {
    pub MaHoSo: String,
    #[serde(default)]
    pub NguoiXuLy: Option<IgnoredAny>,
    #[serde(default)]
    pub ChucDanh: Option<IgnoredAny>,
    pub ThoiDiemXuLy: String,
    pub PhongBanXuLy: String,
    #[serde(default)]
    pub NoiDungXuLy: Option<String>,
    pub TrangThai: Value,
    #[serde(default)]
    pub NgayBatDau: Option<IgnoredAny>,
    #[serde(default)]
    pub NgayKetThucTheoQuyDinh: Option<IgnoredAny>,
}

/// What the conversion needs besides the record.
pub struct Context<'a> {
    /// Procedure time limits (the portal record carries none).
    pub catalogue: &'a Catalogue,
    /// The level of a unit (the portal record carries none).
    pub level_of: &'a dyn Fn(&str) -> Option<AgencyLevel>,
}

/// Empty strings are absent (portal systems send `""` for unset fields).
fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn required<'a>(v: &'a Option<String>, field: &str, why: &str) -> Result<&'a str, RecordError> {
    present(v)
        .ok_or_else(|| RecordError::new(Reason::MissingField, field, format!("required {why}")))
}

/// `yyyyMMddHHmmss`, Vietnam time.
pub fn parse_time(field: &str, s: &str) -> Result<Timestamp, RecordError> {
    let bad = || {
        RecordError::new(
            Reason::BadFormat,
            field,
            format!("`{s}` is not a time written yyyyMMddHHmmss (Vietnam time)"),
        )
    };
    if s.len() != 14 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    NaiveDateTime::parse_from_str(s, "%Y%m%d%H%M%S")
        .map(vietnam_instant)
        .map_err(|_| bad())
}

/// A code sent as a number or a numeric string.
fn code(field: &str, v: &Value) -> Result<i64, RecordError> {
    let parsed = match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| {
        RecordError::new(
            Reason::BadFormat,
            field,
            format!("`{v}` is not a numeric code"),
        )
    })
}

/// A flag sent as a boolean, `0`/`1` or `"true"`/`"false"`.
fn flag(field: &str, v: &Value) -> Result<bool, RecordError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Number(n) if n.as_i64() == Some(0) => Ok(false),
        Value::Number(n) if n.as_i64() == Some(1) => Ok(true),
        Value::String(s) if matches!(s.trim(), "1" | "true" | "True") => Ok(true),
        Value::String(s) if matches!(s.trim(), "0" | "false" | "False" | "") => Ok(false),
        other => Err(RecordError::new(
            Reason::BadFormat,
            field,
            format!("`{other}` is not a flag (true/false or 1/0)"),
        )),
    }
}

/// The agency part of a dossier code (`H56.50-261005-0001` → `H56.50`).
pub fn dossier_agency(code: &str) -> Option<&str> {
    let mut parts = code.rsplitn(3, '-');
    let (_, _, agency) = (parts.next()?, parts.next()?, parts.next()?);
    Some(agency)
}

/// What a status code means and whether it converts.
pub fn status_name(status: i64) -> Option<&'static str> {
    Some(match status {
        1 => "newly submitted (online, not yet accepted)",
        2 => "accepted",
        3 => "refused",
        4 => "processing",
        5 => "supplement requested",
        6 => "awaiting financial obligations",
        7 => "withdrawn by applicant",
        8 => "processing stopped",
        9 => "processing finished, result ready",
        10 => "result returned",
        _ => return None,
    })
}

/// Why a status has no conversion, or `None` when it converts.
fn unmappable_status(status: i64) -> Option<&'static str> {
    match status {
        1 => Some("a dossier counts from its receipt and motcua has no event before it: sync the dossier again once it is accepted (status 2)"),
        3 => Some("a refusal (form 03) needs its reason and officer, which the portal record does not carry: send a REFUSED event to POST /v1/events"),
        6 => Some("motcua has no event for awaiting financial obligations: sync the dossier with its processing status (4) or send motcua events to POST /v1/events"),
        8 => Some("a stop notice (form 05) needs its reason and signer, which the portal record does not carry: send a PROCESSING_STOPPED event to POST /v1/events"),
        _ => None,
    }
}

fn applicant_kind(v: &Value) -> Result<ApplicantKind, RecordError> {
    match code("LoaiDoiTuong", v)? {
        1 => Ok(ApplicantKind::Citizen),
        2 => Ok(ApplicantKind::Business),
        3 => Ok(ApplicantKind::OtherOrganisation),
        other => Err(RecordError::new(
            Reason::Unmappable,
            "LoaiDoiTuong",
            format!("applicant type {other} has no motcua equivalent (1 citizen, 2 business, 3 organisation)"),
        )),
    }
}

fn channel(v: &Value) -> Result<Channel, RecordError> {
    match code("KenhThucHien", v)? {
        1 => Ok(Channel::InPerson),
        2 => Ok(Channel::Online),
        3 => Ok(Channel::Postal),
        other => Err(RecordError::new(
            Reason::Unmappable,
            "KenhThucHien",
            format!(
                "channel {other} is not 1 (in person), 2 (online) or 3 (public postal service)"
            ),
        )),
    }
}

/// The kind of an identity number, from its shape: 12 digits CCCD, 9 digits CMND,
/// 10 digits (or 10-3) a tax code; anything else OTHER.
fn id_type_of(number: &str) -> IdType {
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    match number.split_once('-') {
        None if number.len() == 12 && digits(number) => IdType::Cccd,
        None if number.len() == 9 && digits(number) => IdType::Cmnd,
        None if number.len() == 10 && digits(number) => IdType::TaxCode,
        Some((head, branch))
            if head.len() == 10 && branch.len() == 3 && digits(head) && digits(branch) =>
        {
            IdType::TaxCode
        }
        _ => IdType::Other,
    }
}

fn envelope(code: &str, step: &str, agency: &str, at: Timestamp, kind: EventKind) -> DossierEvent {
    let mut e = DossierEvent::envelope(
        format!("{code}@portal/{step}"),
        code,
        agency,
        at,
        form_set_of(at),
        kind,
    );
    e.national_dossier_code = Some(code.to_string());
    e.source_system = Some(SOURCE_SYSTEM.to_string());
    e
}

/// Converts one dossier snapshot to the events its status implies, in step order.
pub fn dossier_events(
    d: &PortalDossier,
    ctx: &Context<'_>,
) -> Result<Vec<DossierEvent>, RecordError> {
    let code = d.MaHoSo.trim();
    let agency = dossier_agency(code)
        .filter(|a| is_agency_code(a))
        .ok_or_else(|| {
            RecordError::new(
                Reason::BadFormat,
                "MaHoSo",
                format!("`{code}` is not a dossier code {{agency-id}}-{{yymmdd}}-{{seq}}"),
            )
        })?;
    let status = code_status(&d.TrangThaiHoSo, "TrangThaiHoSo")?;
    if let Some(why) = unmappable_status(status) {
        return Err(RecordError::new(
            Reason::Unmappable,
            "TrangThaiHoSo",
            format!(
                "status {status} ({}) cannot be converted: {why}",
                status_name(status).unwrap_or("?")
            ),
        ));
    }

    let received_at = parse_time(
        "NgayTiepNhan",
        required(
            &d.NgayTiepNhan,
            "NgayTiepNhan",
            "for a received dossier (the receipt time)",
        )?,
    )?;
    let appointment_at = parse_time(
        "NgayHenTra",
        required(
            &d.NgayHenTra,
            "NgayHenTra",
            "for a received dossier (the appointment)",
        )?,
    )?;
    let procedure_code = required(&d.MaTTHC, "MaTTHC", "(the procedure code)")?;
    let limit = ctx
        .catalogue
        .get(procedure_code)
        .map(|p| p.limit)
        .ok_or_else(|| {
            RecordError::new(
                Reason::Unmappable,
                "MaTTHC",
                format!(
                    "procedure `{procedure_code}` is not in the gateway's catalogue ({}): its statutory time limit is unknown",
                    ctx.catalogue.name()
                ),
            )
        })?;
    let agency_level = (ctx.level_of)(agency).ok_or_else(|| {
        RecordError::new(
            Reason::Unmappable,
            "MaHoSo",
            format!("no agency level is configured for `{agency}` (the access file's `levels`)"),
        )
    })?;
    let kind = d
        .LoaiDoiTuong
        .as_ref()
        .ok_or_else(|| {
            RecordError::new(
                Reason::MissingField,
                "LoaiDoiTuong",
                "required (the applicant type)",
            )
        })
        .and_then(applicant_kind)?;
    let channel = d
        .KenhThucHien
        .as_ref()
        .ok_or_else(|| {
            RecordError::new(
                Reason::MissingField,
                "KenhThucHien",
                "required (the submission channel)",
            )
        })
        .and_then(channel)?;
    let id_number = present(&d.SoGiayToChuHoSo).map(str::to_string);
    let applicant = Applicant {
        kind,
        name: required(&d.ChuHoSo, "ChuHoSo", "(the applicant)")?.to_string(),
        id_type: id_number.as_deref().map(id_type_of),
        id_number,
        phone: present(&d.SoDienThoai).map(str::to_string),
        email: present(&d.Email).map(str::to_string),
        address: None,
    };
    let documents = d
        .TaiLieuNop
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, f)| {
            let name = present(&f.TenTepDinhKem).ok_or_else(|| {
                RecordError::new(
                    Reason::MissingField,
                    format!("TaiLieuNop[{i}].TenTepDinhKem"),
                    "required (the document's name)",
                )
            })?;
            Ok(SubmittedDocument {
                name: name.to_string(),
                kind: DocumentKind::Electronic,
                count: 1,
            })
        })
        .collect::<Result<Vec<_>, RecordError>>()?;

    let mut events = Vec::new();
    let mut receipt = envelope(code, "RECEIVED", agency, received_at, EventKind::Received);
    receipt.received = Some(DossierReceived {
        procedure_code: procedure_code.to_string(),
        procedure_name: required(&d.TenTTHC, "TenTTHC", "(the procedure name)")?.to_string(),
        field_code: required(&d.MaLinhVuc, "MaLinhVuc", "(the field code)")?.to_string(),
        agency_level,
        channel,
        applicant,
        summary: required(&d.TrichYeuHoSo, "TrichYeuHoSo", "(the request)")?.to_string(),
        documents,
        sets: 1,
        time_limit: limit,
        appointment_at,
        result_delivery: Delivery::Counter,
        register_book: None,
        register_line: None,
        receiving_officer: OFFICER_NOT_SYNCED.to_string(),
        fee_paid: None,
        digitised: d
            .HoSoCoThanhPhanSoHoa
            .as_ref()
            .filter(|v| !v.is_null())
            .map(|v| flag("HoSoCoThanhPhanSoHoa", v))
            .transpose()?,
    });
    events.push(receipt);

    let mut open_rounds = 0;
    for (i, round) in d.DanhSachHoSoBoSung.iter().flatten().enumerate() {
        let at_field = |f: &str| format!("DanhSachHoSoBoSung[{i}].{f}");
        let request_no = match &round.HoSoBoSungId {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                return Err(RecordError::new(
                    Reason::MissingField,
                    at_field("HoSoBoSungId"),
                    "required (the round's id, which its answer names)",
                ))
            }
        };
        let need = |v: &Option<String>, f: &str, why: &str| {
            present(v).map(str::to_string).ok_or_else(|| {
                RecordError::new(
                    Reason::MissingField,
                    at_field(f),
                    format!("required ({why})"),
                )
            })
        };
        let requested_at = parse_time(
            &at_field("NgayBoSung"),
            &need(
                &round.NgayBoSung,
                "NgayBoSung",
                "when the supplement was requested",
            )?,
        )?;
        let missing = round
            .DanhSachGiayToBoSung
            .iter()
            .flatten()
            .enumerate()
            .map(|(j, f)| {
                Ok(SubmittedDocument {
                    name: present(&f.TenTepDinhKem)
                        .ok_or_else(|| {
                            RecordError::new(
                                Reason::MissingField,
                                at_field(&format!("DanhSachGiayToBoSung[{j}].TenTepDinhKem")),
                                "required (the document's name)",
                            )
                        })?
                        .to_string(),
                    kind: DocumentKind::Electronic,
                    count: 1,
                })
            })
            .collect::<Result<Vec<_>, RecordError>>()?;
        let mut req = envelope(
            code,
            &format!("SUPPLEMENT_REQUESTED/{request_no}"),
            agency,
            requested_at,
            EventKind::SupplementRequested,
        );
        req.supplement_requested = Some(SupplementRequested {
            request_no: request_no.clone(),
            reason: need(&round.NoiDungBoSung, "NoiDungBoSung", "what is missing")?,
            missing_documents: missing,
            guiding_officer: need(
                &round.NguoiYeuCauBoSung,
                "NguoiYeuCauBoSung",
                "who requested it",
            )?,
        });
        events.push(req);
        let answered = match &round.TrangThaiBoSung {
            Some(v) => flag(&at_field("TrangThaiBoSung"), v)?,
            None => false,
        };
        match (answered, present(&round.NgayTiepNhanBoSung)) {
            (true, Some(t)) => {
                let at = parse_time(&at_field("NgayTiepNhanBoSung"), t)?;
                let mut got = envelope(
                    code,
                    &format!("SUPPLEMENT_RECEIVED/{request_no}"),
                    agency,
                    at,
                    EventKind::SupplementReceived,
                );
                got.supplement_received = Some(SupplementReceived {
                    request_no,
                    documents: Vec::new(),
                });
                events.push(got);
            }
            (true, None) => {
                return Err(RecordError::new(
                    Reason::MissingField,
                    at_field("NgayTiepNhanBoSung"),
                    "required for an answered round (TrangThaiBoSung true): when the supplement was received",
                ))
            }
            (false, _) => open_rounds += 1,
        }
    }
    if status == 5 && open_rounds == 0 {
        return Err(RecordError::new(
            Reason::Inconsistent,
            "TrangThaiHoSo",
            "status 5 (supplement requested) needs a DanhSachHoSoBoSung round not yet answered",
        ));
    }

    let end = |why: &str| {
        parse_time(
            "NgayKetThucXuLy",
            required(&d.NgayKetThucXuLy, "NgayKetThucXuLy", why)?,
        )
    };
    match status {
        7 => {
            let mut w = envelope(
                code,
                "WITHDRAWN",
                agency,
                end("for status 7 (when it was withdrawn)")?,
                EventKind::Withdrawn,
            );
            w.withdrawn = Some(Withdrawn { reason: None });
            events.push(w);
        }
        9 | 10 => {
            let electronic = d
                .DanhSachGiayToKetQua
                .iter()
                .flatten()
                .any(|r| present(&r.DuongDanTepTinKetQua).is_some());
            let mut r = envelope(
                code,
                "RESULT_READY",
                agency,
                end("for status 9 and 10 (when processing finished)")?,
                EventKind::ResultReady,
            );
            // The portal reports a denial as a refusal (status 3): a result is an approval.
            r.result_ready = Some(ResultReady {
                decision: Decision::Approved,
                electronic_result: electronic,
                document_number: None,
            });
            events.push(r);
            if status == 10 {
                let at = parse_time(
                    "NgayTra",
                    required(
                        &d.NgayTra,
                        "NgayTra",
                        "for status 10 (when the result was returned)",
                    )?,
                )?;
                let mut ret = envelope(
                    code,
                    "RESULT_RETURNED",
                    agency,
                    at,
                    EventKind::ResultReturned,
                );
                ret.result_returned = Some(ResultReturned {
                    delivery: Delivery::Counter,
                });
                events.push(ret);
            }
        }
        _ => {}
    }
    Ok(events)
}

fn code_status(v: &Value, field: &str) -> Result<i64, RecordError> {
    let status = code(field, v)?;
    if status_name(status).is_none() {
        return Err(RecordError::new(
            Reason::BadFormat,
            field,
            format!("{status} is not a status code 1-10"),
        ));
    }
    Ok(status)
}

/// Converts progress rows: the rows of one dossier, ordered by `ThoiDiemXuLy`, are the
/// handovers of its process-control slip, step `n` the `n`-th row; each row's receiving
/// unit is the next row's `PhongBanXuLy`, or the dossier's one-stop desk (its code's agency)
/// once the row's status is 9 or 10. Answers one result per row, in input order: the
/// dossier's last row before its result is `pending` (its receiving unit is not known yet).
/// A dossier with an invalid row has all its rows rejected (their step numbers depend on it).
pub fn progress_events(
    rows: &[Result<PortalStep, RecordError>],
) -> Vec<Result<DossierEvent, RecordError>> {
    let mut out: Vec<Option<Result<DossierEvent, RecordError>>> = vec![None; rows.len()];
    let mut by_dossier: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
    for (i, row) in rows.iter().enumerate() {
        match row {
            Ok(r) => by_dossier.entry(r.MaHoSo.trim()).or_default().push(i),
            Err(e) => out[i] = Some(Err(e.clone())),
        }
    }
    for (code, idx) in by_dossier {
        let parsed: Vec<Result<(Timestamp, i64), RecordError>> = idx
            .iter()
            .map(|&i| {
                let r = rows[i].as_ref().expect("grouped rows parsed");
                let at = parse_time("ThoiDiemXuLy", r.ThoiDiemXuLy.trim())?;
                let status = code_status(&r.TrangThai, "TrangThai")?;
                if !is_agency_code(r.PhongBanXuLy.trim()) {
                    return Err(RecordError::new(
                        Reason::BadFormat,
                        "PhongBanXuLy",
                        format!(
                            "`{}` is not an agency identifier (the unit's electronic code)",
                            r.PhongBanXuLy.trim()
                        ),
                    ));
                }
                Ok((at, status))
            })
            .collect();
        let agency = dossier_agency(code).filter(|a| is_agency_code(a));
        if agency.is_none() || parsed.iter().any(Result::is_err) {
            for (k, &i) in idx.iter().enumerate() {
                out[i] = Some(Err(match (&parsed[k], agency) {
                    (_, None) => RecordError::new(
                        Reason::BadFormat,
                        "MaHoSo",
                        format!("`{code}` is not a dossier code {{agency-id}}-{{yymmdd}}-{{seq}}"),
                    ),
                    (Err(e), _) => e.clone(),
                    (Ok(_), _) => RecordError::new(
                        Reason::Inconsistent,
                        "",
                        "another progress row of this dossier is invalid, and step numbers depend on every row: correct it and send the rows again",
                    ),
                }));
            }
            continue;
        }
        let agency = agency.expect("checked");
        let mut order: Vec<usize> = (0..idx.len()).collect();
        order.sort_by_key(|&k| (parsed[k].as_ref().expect("checked").0, k));
        for (pos, &k) in order.iter().enumerate() {
            let i = idx[k];
            let row = rows[i].as_ref().expect("grouped rows parsed");
            let (at, status) = *parsed[k].as_ref().expect("checked");
            let from = row.PhongBanXuLy.trim();
            let to = match order.get(pos + 1) {
                Some(&next) => rows[idx[next]]
                    .as_ref()
                    .expect("parsed")
                    .PhongBanXuLy
                    .trim(),
                None if matches!(status, 9 | 10) => agency,
                None => {
                    out[i] = Some(Err(RecordError::new(
                        Reason::Pending,
                        "PhongBanXuLy",
                        "the receiving unit of a dossier's last step is the next step's PhongBanXuLy: this row is published when the next row (or one with status 9 or 10) is sent with it",
                    )));
                    continue;
                }
            };
            let step = pos as i32 + 1;
            let mut e = envelope(
                code,
                &format!("HANDOVER/{step}"),
                from,
                at,
                EventKind::Handover,
            );
            e.handover = Some(Handover {
                step,
                from_unit: from.to_string(),
                to_unit: to.to_string(),
                step_outcome: None,
                allotted: None,
                note: present(&row.NoiDungXuLy).map(str::to_string),
            });
            out[i] = Some(Ok(e));
        }
    }
    out.into_iter()
        .map(|r| r.expect("every row answered"))
        .collect()
}

/// The portal field a motcua validation path came from, for answers in the portal's terms.
pub fn portal_field(motcua: &str) -> String {
    const MAP: &[(&str, &str)] = &[
        ("dossier_code", "MaHoSo"),
        ("agency_code", "MaHoSo"),
        ("received.procedure_code", "MaTTHC"),
        ("received.procedure_name", "TenTTHC"),
        ("received.field_code", "MaLinhVuc"),
        ("received.summary", "TrichYeuHoSo"),
        ("received.applicant.name", "ChuHoSo"),
        ("received.applicant.id_number", "SoGiayToChuHoSo"),
        ("received.applicant.phone", "SoDienThoai"),
        ("received.applicant.email", "Email"),
        ("received.appointment_at", "NgayHenTra"),
        ("received.documents", "TaiLieuNop"),
        (
            "supplement_requested.missing_documents",
            "DanhSachHoSoBoSung.DanhSachGiayToBoSung",
        ),
        ("supplement_requested", "DanhSachHoSoBoSung"),
        ("supplement_received", "DanhSachHoSoBoSung"),
        ("handover.from_unit", "PhongBanXuLy"),
        ("handover.to_unit", "PhongBanXuLy"),
        ("handover", "QuaTrinhXuLy"),
    ];
    MAP.iter()
        .find(|(m, _)| {
            motcua == *m
                || motcua.starts_with(&format!("{m}."))
                || motcua.starts_with(&format!("{m}["))
        })
        .map(|(_, p)| p.to_string())
        .unwrap_or_else(|| motcua.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use motcua_core::validate;

    fn ctx_levels(code: &str) -> Option<AgencyLevel> {
        code.starts_with("H56").then_some(AgencyLevel::District)
    }

    fn dossier(status: &str) -> Value {
        serde_json::json!({
            "MaHoSo": "H56.50-260817-0001",
            "MaTTHC": "1.009994.000.00.00.H56",
            "TenTTHC": "Cấp giấy phép xây dựng",
            "MaLinhVuc": "XD",
            "TenLinhVuc": "Xây dựng",
            "KenhThucHien": "2",
            "ChuHoSo": "Nguyễn Văn An",
            "SoGiayToChuHoSo": "056090001234",
            "LoaiDoiTuong": "1",
            "SoDienThoai": "0912345678",
            "Email": "",
            "TrichYeuHoSo": "Xin cấp phép xây dựng nhà ở",
            "NgayTiepNhan": "20260817090000",
            "NgayHenTra": "20260910170000",
            "TrangThaiHoSo": status,
            "NgayKetThucXuLy": "20260901100000",
            "NgayTra": "20260902080000",
            "TaiLieuNop": [{"TenTepDinhKem": "Đơn đề nghị", "DuocSoHoa": "1"}],
            "DanhSachGiayToKetQua": [{"TenGiayTo": "Giấy phép", "DuongDanTepTinKetQua": "https://x/y.pdf"}],
            "HinhThuc": "0"
        })
    }

    fn convert(v: Value) -> Result<Vec<DossierEvent>, RecordError> {
        let d: PortalDossier = crate::record::decode(v)?;
        let catalogue = Catalogue::shipped();
        dossier_events(
            &d,
            &Context {
                catalogue: &catalogue,
                level_of: &ctx_levels,
            },
        )
    }

    #[test]
    fn a_returned_dossier_becomes_receipt_result_and_return() {
        let events = convert(dossier("10")).expect("converts");
        let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                EventKind::Received,
                EventKind::ResultReady,
                EventKind::ResultReturned
            ]
        );
        for e in &events {
            validate(e).unwrap_or_else(|r| panic!("{} invalid: {r}", e.event_id));
            assert_eq!(e.dossier_code, "H56.50-260817-0001");
            assert_eq!(e.agency_code, "H56.50");
            assert_eq!(e.form_set, FormSet::Tt03_2025);
        }
        let r = events[0].received.as_ref().unwrap();
        assert_eq!(
            events[0].occurred_at.to_rfc3339(),
            "2026-08-17T09:00:00+07:00"
        );
        assert_eq!(r.channel, Channel::Online);
        assert_eq!(r.applicant.id_type, Some(IdType::Cccd));
        assert_eq!(r.applicant.email, None);
        assert_eq!(r.agency_level, AgencyLevel::District);
        assert!(events[1].result_ready.as_ref().unwrap().electronic_result);
        assert_eq!(
            events[2].event_id,
            "H56.50-260817-0001@portal/RESULT_RETURNED"
        );
    }

    #[test]
    fn every_status_converts_or_says_why_not() {
        for status in 1..=10 {
            let mut v = dossier(&status.to_string());
            if status == 5 {
                v["DanhSachHoSoBoSung"] = serde_json::json!([{
                    "HoSoBoSungId": 7, "NguoiYeuCauBoSung": "Lê Thị B", "NoiDungBoSung": "Thiếu bản vẽ",
                    "NgayBoSung": "20260820100000", "TrangThaiBoSung": false,
                    "DanhSachGiayToBoSung": [{"TenTepDinhKem": "Bản vẽ"}],
                    "NgayHenTraTruoc": "20260910170000"
                }]);
            }
            match (status, convert(v)) {
                (1 | 3 | 6 | 8, Err(e)) => {
                    assert_eq!(e.reason, Reason::Unmappable, "{status}");
                    assert_eq!(e.field, "TrangThaiHoSo");
                    assert!(
                        e.detail.contains(&format!("status {status}")),
                        "{}",
                        e.detail
                    );
                }
                (2 | 4 | 5 | 7 | 9 | 10, Ok(events)) => {
                    assert!(events.iter().all(|e| validate(e).is_ok()), "{status}");
                    assert_eq!(events[0].kind, EventKind::Received);
                }
                (s, other) => panic!("status {s}: {other:?}"),
            }
        }
        let e = convert(dossier("11")).unwrap_err();
        assert_eq!(
            (e.reason, e.field.as_str()),
            (Reason::BadFormat, "TrangThaiHoSo")
        );
    }

    #[test]
    fn bad_fields_are_named_in_the_portal_s_terms() {
        let mut v = dossier("2");
        v["NgayHenTra"] = "2026-09-10".into();
        let e = convert(v).unwrap_err();
        assert_eq!(
            (e.reason, e.field.as_str()),
            (Reason::BadFormat, "NgayHenTra")
        );
        let mut v = dossier("2");
        v["KhongCo"] = 1.into();
        let e = convert(v).unwrap_err();
        assert_eq!(e.reason, Reason::Undecodable);
        assert!(e.detail.contains("KhongCo"), "{}", e.detail);
        let mut v = dossier("2");
        v["MaTTHC"] = "1.999999.000.00.00.H56".into();
        assert_eq!(convert(v).unwrap_err().field, "MaTTHC");
        let mut v = dossier("2");
        v["KenhThucHien"] = 4.into();
        assert_eq!(convert(v).unwrap_err().reason, Reason::Unmappable);
        let mut v = dossier("2");
        v["TaiLieuNop"] = serde_json::json!([]);
        let events = convert(v).expect("converts");
        let r = validate(&events[0]).unwrap_err();
        assert_eq!(portal_field(&r.field), "TaiLieuNop");
    }

    #[test]
    fn the_digitisation_flag_maps_to_the_receipt() {
        let digitised = |flag: Option<serde_json::Value>| {
            let mut v = dossier("2");
            if let Some(f) = flag {
                v["HoSoCoThanhPhanSoHoa"] = f;
            }
            convert(v).map(|events| events[0].received.as_ref().unwrap().digitised)
        };
        assert_eq!(digitised(None).unwrap(), None, "not recorded");
        assert_eq!(digitised(Some(serde_json::Value::Null)).unwrap(), None);
        assert_eq!(digitised(Some(true.into())).unwrap(), Some(true));
        assert_eq!(digitised(Some("0".into())).unwrap(), Some(false));
        assert_eq!(digitised(Some(1.into())).unwrap(), Some(true));
        let e = digitised(Some("có".into())).unwrap_err();
        assert_eq!(
            (e.reason, e.field.as_str()),
            (Reason::BadFormat, "HoSoCoThanhPhanSoHoa")
        );
    }

    #[test]
    fn form_sets_follow_the_receipt_date() {
        let mut v = dossier("2");
        v["NgayTiepNhan"] = "20250630160000".into();
        v["NgayHenTra"] = "20250710160000".into();
        assert_eq!(convert(v).unwrap()[0].form_set, FormSet::Tt01_2018);
    }

    fn step(code: &str, at: &str, unit: &str, status: i64) -> Result<PortalStep, RecordError> {
        crate::record::decode(serde_json::json!({
            "MaHoSo": code, "NguoiXuLy": "Trần C", "ChucDanh": "Chuyên viên",
            "ThoiDiemXuLy": at, "PhongBanXuLy": unit, "NoiDungXuLy": "Chuyển xử lý",
            "TrangThai": status, "NgayBatDau": "", "NgayKetThucTheoQuyDinh": ""
        }))
    }

    #[test]
    fn progress_rows_become_numbered_handovers() {
        let a = "H56.50-260817-0001";
        let rows = vec![
            step(a, "20260818100000", "H56.50.10", 4),
            step(a, "20260817100000", "H56.50", 4),
            step("H56.51-260817-0002", "20260817100000", "H56.51", 4),
            step(a, "20260901100000", "H56.50.10", 9),
        ];
        let out = progress_events(&rows);
        let h = |i: usize| out[i].as_ref().unwrap().handover.clone().unwrap();
        assert_eq!(
            (h(1).step, h(1).from_unit.as_str(), h(1).to_unit.as_str()),
            (1, "H56.50", "H56.50.10")
        );
        assert_eq!((h(0).step, h(0).to_unit.as_str()), (2, "H56.50.10"));
        assert_eq!((h(3).step, h(3).to_unit.as_str()), (3, "H56.50"));
        assert_eq!(out[2].as_ref().unwrap_err().reason, Reason::Pending);
        for e in out.iter().flatten() {
            validate(e).expect("valid handover");
        }
        let bad = vec![
            step(a, "2026", "H56.50", 4),
            step(a, "20260818100000", "H56.50", 9),
        ];
        let out = progress_events(&bad);
        assert_eq!(out[0].as_ref().unwrap_err().field, "ThoiDiemXuLy");
        assert_eq!(out[1].as_ref().unwrap_err().reason, Reason::Inconsistent);
    }
}
