//! The procedure catalogue: what applicants ask for, who handles it, how long it may take.
//!
//! Codes have the national shape (`1.001612.000.00.00` plus the province suffix) and names
//! are the published Vietnamese titles of common procedures, but the numeric codes are
//! illustrative: the simulator needs the shape and the mix, not the national register.
//! Time limits follow the usual statutory values (same-day certifications in working hours,
//! construction permits in calendar days, land procedures in tens of working days).

use motcua_core::event::{AgencyLevel, DocumentKind, SubmittedDocument, TimeLimit, TimeUnit};

/// One administrative procedure as the simulator uses it.
#[derive(Debug, Clone, PartialEq)]
pub struct Procedure {
    /// National code with the province suffix, e.g. `1.001612.000.00.00.H56`.
    pub code: String,
    /// Published name.
    pub name: String,
    /// Field (lĩnh vực) code, e.g. "TP", "XD"; a department handles the fields it owns.
    pub field_code: String,
    /// Level of the agencies that receive it.
    pub level: AgencyLevel,
    /// Statutory time limit.
    pub time_limit: TimeLimit,
    /// Documents an applicant submits.
    pub documents: Vec<SubmittedDocument>,
    /// Relative popularity among procedures of the same level.
    pub weight: f64,
    /// Share of applicants that are businesses (the rest are citizens).
    pub business_share: f64,
    /// Whether a fee is charged (form 01 then says whether it was paid).
    pub fee: bool,
    /// Symbol of the issued document, used in result numbers ("123/2026/GPXD").
    pub result_symbol: String,
}

use DocumentKind::{CertifiedCopy as Cc, Original as Or, Photocopy as Ph};

type Doc = (&'static str, DocumentKind, i32);

const ID_COPY: Doc = ("Bản sao giấy tờ tùy thân của người yêu cầu", Ph, 1);
const LAND_PAPER: Doc = ("Giấy chứng nhận quyền sử dụng đất hoặc giấy tờ về quyền sử dụng đất", Cc, 1);

/// (national code, name, field, level, amount, unit, weight, business share, fee, symbol, documents).
type Row = (&'static str, &'static str, &'static str, AgencyLevel, i32, TimeUnit, f64, f64, bool, &'static str, &'static [Doc]);

use AgencyLevel::{Commune as C, District as D, Province as P};
use TimeUnit::{CalendarDays as CD, WorkingDays as WD, WorkingHours as WH};

const ROWS: &[Row] = &[
    // Provincial departments.
    ("2.001610.000.00.00", "Đăng ký thành lập công ty trách nhiệm hữu hạn hai thành viên trở lên", "KHDT", P, 3, WD, 5.0, 1.0, true, "ĐKDN",
        &[("Giấy đề nghị đăng ký doanh nghiệp", Or, 1), ("Điều lệ công ty", Or, 1), ("Danh sách thành viên", Or, 1), ("Bản sao giấy tờ pháp lý của cá nhân là thành viên", Cc, 1)]),
    ("2.001199.000.00.00", "Đăng ký thay đổi nội dung đăng ký doanh nghiệp", "KHDT", P, 3, WD, 8.0, 1.0, true, "ĐKDN",
        &[("Thông báo thay đổi nội dung đăng ký doanh nghiệp", Or, 1), ("Nghị quyết, quyết định của chủ sở hữu", Or, 1)]),
    ("1.009645.000.00.00", "Chấp thuận chủ trương đầu tư của Ủy ban nhân dân cấp tỉnh", "KHDT", P, 25, WD, 0.4, 1.0, false, "QĐ-UBND",
        &[("Văn bản đề nghị thực hiện dự án đầu tư", Or, 1), ("Đề xuất dự án đầu tư", Or, 4), ("Báo cáo năng lực tài chính của nhà đầu tư", Or, 1)]),
    ("2.000488.000.00.00", "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam", "TP", P, 10, WD, 9.0, 0.0, true, "LLTP",
        &[("Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp", Or, 1), ID_COPY]),
    ("1.001071.000.00.00", "Đăng ký hoạt động Văn phòng công chứng", "TP", P, 10, WD, 0.3, 1.0, true, "ĐKHĐ",
        &[("Đơn đề nghị đăng ký hoạt động", Or, 1), ("Quyết định cho phép thành lập Văn phòng công chứng", Cc, 1)]),
    ("1.009972.000.00.00", "Cấp giấy phép xây dựng mới đối với công trình cấp đặc biệt, cấp I, cấp II", "XD", P, 20, CD, 1.5, 0.9, true, "GPXD",
        &[("Đơn đề nghị cấp giấy phép xây dựng", Or, 1), LAND_PAPER, ("Bản vẽ thiết kế xây dựng", Or, 2), ("Văn bản thẩm định thiết kế", Cc, 1)]),
    ("1.009988.000.00.00", "Cấp chứng chỉ hành nghề hoạt động xây dựng hạng II, hạng III", "XD", P, 20, WD, 1.5, 0.0, true, "CCHN",
        &[("Đơn đề nghị cấp chứng chỉ hành nghề", Or, 1), ("Văn bằng chuyên môn", Cc, 1), ("Ảnh màu 4x6", Or, 2)]),
    ("1.004227.000.00.00", "Đăng ký biến động quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất", "TNMT", P, 10, WD, 6.0, 0.3, true, "ĐKBĐ",
        &[("Đơn đăng ký biến động đất đai", Or, 1), LAND_PAPER, ("Hợp đồng chuyển nhượng đã công chứng", Or, 1)]),
    ("1.004269.000.00.00", "Cấp giấy chứng nhận quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất lần đầu cho tổ chức", "TNMT", P, 30, WD, 1.0, 0.95, true, "GCN",
        &[("Đơn đăng ký, cấp giấy chứng nhận", Or, 1), ("Giấy tờ về quyền sử dụng đất", Cc, 1), ("Trích đo địa chính thửa đất", Or, 1), ("Chứng từ thực hiện nghĩa vụ tài chính", Ph, 1)]),
    ("1.010727.000.00.00", "Cấp giấy phép môi trường", "TNMT", P, 30, CD, 0.4, 1.0, true, "GPMT",
        &[("Văn bản đề nghị cấp giấy phép môi trường", Or, 1), ("Báo cáo đề xuất cấp giấy phép môi trường", Or, 3)]),
    ("1.002804.000.00.00", "Cấp đổi giấy phép lái xe do ngành Giao thông vận tải cấp", "GTVT", P, 5, WD, 14.0, 0.0, true, "GPLX",
        &[("Đơn đề nghị đổi giấy phép lái xe", Or, 1), ("Giấy khám sức khỏe của người lái xe", Or, 1), ("Bản sao giấy phép lái xe", Ph, 1)]),
    ("1.002861.000.00.00", "Cấp phù hiệu xe ô tô kinh doanh vận tải", "GTVT", P, 2, WD, 4.0, 0.85, true, "PH",
        &[("Giấy đề nghị cấp phù hiệu", Or, 1), ("Bản sao giấy đăng ký xe", Ph, 1)]),
    ("1.001907.000.00.00", "Cấp giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm", "YT", P, 20, CD, 2.0, 0.8, true, "ATTP",
        &[("Đơn đề nghị cấp giấy chứng nhận", Or, 1), ("Bản thuyết minh về cơ sở vật chất, trang thiết bị", Or, 1), ("Giấy xác nhận đủ sức khỏe của chủ cơ sở", Cc, 1)]),
    ("1.004503.000.00.00", "Cấp mới chứng chỉ hành nghề khám bệnh, chữa bệnh", "YT", P, 20, WD, 1.0, 0.0, true, "CCHN-KCB",
        &[("Đơn đề nghị cấp chứng chỉ hành nghề", Or, 1), ("Văn bằng chuyên môn", Cc, 1), ("Giấy xác nhận quá trình thực hành", Or, 1)]),
    ("1.005092.000.00.00", "Cấp bản sao văn bằng, chứng chỉ từ sổ gốc", "GDDT", P, 8, WH, 3.0, 0.0, false, "BS-VB",
        &[("Đơn đề nghị cấp bản sao văn bằng", Or, 1), ID_COPY]),
    ("1.000105.000.00.00", "Cấp giấy phép lao động cho người lao động nước ngoài làm việc tại Việt Nam", "LDTBXH", P, 5, WD, 2.0, 1.0, true, "GPLĐ",
        &[("Văn bản đề nghị cấp giấy phép lao động", Or, 1), ("Giấy chứng nhận sức khỏe", Or, 1), ("Bản sao hộ chiếu", Cc, 1), ("Văn bản chứng minh là nhà quản lý, chuyên gia", Cc, 1)]),
    ("2.000620.000.00.00", "Cấp Giấy chứng nhận cửa hàng đủ điều kiện bán lẻ xăng dầu", "CT", P, 15, WD, 0.8, 1.0, true, "GCN-XD",
        &[("Văn bản đề nghị cấp giấy chứng nhận", Or, 1), ("Bản kê trang thiết bị của cửa hàng", Or, 1)]),
    ("1.003254.000.00.00", "Cấp giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm nông lâm thủy sản", "NNPTNT", P, 15, CD, 1.0, 0.9, true, "ATTP-NLTS",
        &[("Đơn đề nghị cấp giấy chứng nhận", Or, 1), ("Bản thuyết minh điều kiện cơ sở", Or, 1)]),
    ("1.001432.000.00.00", "Cấp giấy phép kinh doanh dịch vụ lữ hành nội địa", "VHTTDL", P, 10, WD, 0.8, 1.0, true, "GP-LHNĐ",
        &[("Đơn đề nghị cấp giấy phép", Or, 1), ("Giấy chứng nhận ký quỹ", Or, 1), ("Văn bằng của người phụ trách kinh doanh lữ hành", Cc, 1)]),
    ("1.003801.000.00.00", "Cấp giấy phép xuất bản bản tin", "TTTT", P, 15, CD, 0.3, 1.0, false, "GP-BT",
        &[("Đơn đề nghị cấp giấy phép xuất bản bản tin", Or, 1), ("Mẫu trình bày tên gọi bản tin", Or, 1)]),
    // District level.
    ("2.000815.000.00.00", "Chứng thực bản sao từ bản chính giấy tờ, văn bản do cơ quan có thẩm quyền của nước ngoài cấp", "TP", D, 8, WH, 6.0, 0.05, true, "CT",
        &[("Bản chính giấy tờ do nước ngoài cấp", Or, 1), ("Bản sao cần chứng thực", Ph, 2)]),
    ("1.000893.000.00.00", "Đăng ký kết hôn có yếu tố nước ngoài", "TP", D, 15, WD, 1.0, 0.0, true, "HT",
        &[("Tờ khai đăng ký kết hôn", Or, 1), ("Giấy xác nhận tình trạng hôn nhân", Or, 2), ("Giấy xác nhận không mắc bệnh tâm thần", Or, 2), ("Bản sao hộ chiếu", Cc, 1)]),
    ("1.001695.000.00.00", "Đăng ký khai sinh có yếu tố nước ngoài", "TP", D, 3, WD, 1.0, 0.0, true, "HT",
        &[("Tờ khai đăng ký khai sinh", Or, 1), ("Giấy chứng sinh", Or, 1), ("Văn bản thỏa thuận chọn quốc tịch", Or, 1)]),
    ("2.000720.000.00.00", "Đăng ký thành lập hộ kinh doanh", "KHDT", D, 3, WD, 10.0, 0.25, true, "ĐKHKD",
        &[("Giấy đề nghị đăng ký hộ kinh doanh", Or, 1), ID_COPY]),
    ("1.009994.000.00.00", "Cấp giấy phép xây dựng đối với nhà ở riêng lẻ", "XD", D, 15, CD, 8.0, 0.05, true, "GPXD",
        &[("Đơn đề nghị cấp giấy phép xây dựng", Or, 1), LAND_PAPER, ("Bản vẽ thiết kế xây dựng", Or, 2)]),
    ("1.003003.000.00.00", "Cấp giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở và tài sản khác gắn liền với đất lần đầu", "TNMT", D, 30, WD, 5.0, 0.0, true, "GCN",
        &[("Đơn đăng ký, cấp giấy chứng nhận", Or, 1), ("Giấy tờ về quyền sử dụng đất", Cc, 1), ("Sơ đồ thửa đất", Or, 1), ("Chứng từ thực hiện nghĩa vụ tài chính", Ph, 1)]),
    ("1.004203.000.00.00", "Chuyển mục đích sử dụng đất phải được phép của cơ quan nhà nước có thẩm quyền đối với hộ gia đình, cá nhân", "TNMT", D, 15, WD, 2.0, 0.0, true, "QĐ-CMĐ",
        &[("Đơn xin phép chuyển mục đích sử dụng đất", Or, 1), LAND_PAPER]),
    ("2.000633.000.00.00", "Cấp giấy phép bán lẻ rượu", "CT", D, 10, WD, 1.5, 0.5, true, "GP-BLR",
        &[("Đơn đề nghị cấp giấy phép bán lẻ rượu", Or, 1), ("Bản sao giấy chứng nhận đăng ký hộ kinh doanh", Ph, 1)]),
    ("1.004831.000.00.00", "Chuyển trường đối với học sinh trung học cơ sở", "GDDT", D, 3, WD, 2.0, 0.0, false, "CTr",
        &[("Đơn xin chuyển trường", Or, 1), ("Học bạ", Or, 1)]),
    // Commune level.
    ("2.000908.000.00.00", "Chứng thực bản sao từ bản chính giấy tờ, văn bản do cơ quan có thẩm quyền của Việt Nam cấp", "TP", C, 4, WH, 40.0, 0.03, true, "CT",
        &[("Bản chính giấy tờ, văn bản làm cơ sở chứng thực", Or, 1), ("Bản sao cần chứng thực", Ph, 3)]),
    ("2.000884.000.00.00", "Chứng thực chữ ký trong các giấy tờ, văn bản", "TP", C, 4, WH, 12.0, 0.02, true, "CT",
        &[("Giấy tờ, văn bản cần chứng thực chữ ký", Or, 1), ID_COPY]),
    ("2.001035.000.00.00", "Chứng thực hợp đồng, giao dịch liên quan đến tài sản là động sản, quyền sử dụng đất và nhà ở", "TP", C, 2, WD, 6.0, 0.0, true, "CT",
        &[("Dự thảo hợp đồng, giao dịch", Or, 3), LAND_PAPER, ID_COPY]),
    ("1.001193.000.00.00", "Đăng ký khai sinh", "TP", C, 8, WH, 10.0, 0.0, false, "HT",
        &[("Tờ khai đăng ký khai sinh", Or, 1), ("Giấy chứng sinh", Or, 1)]),
    ("1.000894.000.00.00", "Đăng ký kết hôn", "TP", C, 3, WD, 4.0, 0.0, false, "HT",
        &[("Tờ khai đăng ký kết hôn", Or, 1), ("Giấy xác nhận tình trạng hôn nhân", Or, 1)]),
    ("1.000656.000.00.00", "Đăng ký khai tử", "TP", C, 8, WH, 3.0, 0.0, false, "HT",
        &[("Tờ khai đăng ký khai tử", Or, 1), ("Giấy báo tử", Or, 1)]),
    ("1.004873.000.00.00", "Cấp giấy xác nhận tình trạng hôn nhân", "TP", C, 3, WD, 6.0, 0.0, true, "XNTTHN",
        &[("Tờ khai cấp giấy xác nhận tình trạng hôn nhân", Or, 1), ID_COPY]),
    ("2.000635.000.00.00", "Cấp bản sao trích lục hộ tịch", "TP", C, 8, WH, 5.0, 0.0, true, "TLHT",
        &[("Tờ khai cấp bản sao trích lục hộ tịch", Or, 1)]),
    ("1.004859.000.00.00", "Thay đổi, cải chính, bổ sung thông tin hộ tịch", "TP", C, 3, WD, 2.0, 0.0, true, "HT",
        &[("Tờ khai đăng ký thay đổi, cải chính hộ tịch", Or, 1), ("Giấy tờ làm căn cứ cải chính", Cc, 1)]),
    ("1.001776.000.00.00", "Trợ cấp xã hội hàng tháng đối với đối tượng bảo trợ xã hội", "LDTBXH", C, 20, CD, 1.5, 0.0, false, "QĐ-TCXH",
        &[("Tờ khai đề nghị trợ giúp xã hội", Or, 1), ID_COPY]),
    ("1.003554.000.00.00", "Hòa giải tranh chấp đất đai", "TNMT", C, 45, CD, 0.5, 0.0, false, "BB-HG",
        &[("Đơn yêu cầu hòa giải tranh chấp đất đai", Or, 1), ("Giấy tờ liên quan đến thửa đất tranh chấp", Ph, 2)]),
];

/// The catalogue for a province: every procedure with the province code as its suffix.
pub fn catalogue(province_code: &str) -> Vec<Procedure> {
    ROWS.iter()
        .map(|&(national, name, field, level, amount, unit, weight, business_share, fee, symbol, docs)| Procedure {
            code: format!("{national}.{province_code}"),
            name: name.to_string(),
            field_code: field.to_string(),
            level,
            time_limit: TimeLimit { amount, unit },
            documents: docs
                .iter()
                .map(|&(name, kind, count)| SubmittedDocument { name: name.to_string(), kind, count })
                .collect(),
            weight,
            business_share,
            fee,
            result_symbol: symbol.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use motcua_core::validate::is_procedure_code;

    #[test]
    fn codes_are_valid_and_unique() {
        let cat = catalogue("H56");
        assert!((25..=45).contains(&cat.len()), "{}", cat.len());
        assert!(cat.iter().all(|p| is_procedure_code(&p.code)));
        let mut codes: Vec<&str> = cat.iter().map(|p| p.code.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), cat.len());
    }

    #[test]
    fn every_level_and_unit_is_present() {
        let cat = catalogue("H56");
        for level in [AgencyLevel::Province, AgencyLevel::District, AgencyLevel::Commune] {
            assert!(cat.iter().any(|p| p.level == level));
        }
        for unit in [TimeUnit::WorkingDays, TimeUnit::WorkingHours, TimeUnit::CalendarDays] {
            assert!(cat.iter().any(|p| p.time_limit.unit == unit));
        }
        assert!(cat.iter().all(|p| !p.documents.is_empty() && p.weight > 0.0));
    }
}
