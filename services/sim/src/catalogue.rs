//! The procedure catalogue: what applicants ask for, who handles it, how long it may take.
//!
//! Codes have the national shape (`1.001612.000.00.00` plus the province suffix) and names
//! are the published Vietnamese titles of common procedures, but the numeric codes are
//! illustrative: the simulator needs the shape and the mix, not the national register.
//!
//! The rows below carry what only the simulator needs (names, documents, popularity,
//! fields, levels). The statutory limit and its due rule come from the catalogue the
//! pipeline uses, [`Catalogue::shipped`], looked up by the national code with the `H56`
//! suffix whatever the simulated province: form 01 then says what the processor will
//! compute, and a change to the data file moves both. Every row must be in that file (a
//! test checks it).

use motcua_core::calendar::DueRule;
use motcua_core::deadline::Catalogue;
use motcua_core::event::{AgencyLevel, DocumentKind, SubmittedDocument, TimeLimit};

/// Suffix of the procedure codes in the shipped catalogue.
pub const CATALOGUE_SUFFIX: &str = "H56";

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
    /// Statutory time limit, from the shipped catalogue (written on form 01).
    pub time_limit: TimeLimit,
    /// How the limit becomes a due time (a same-day cut-off...), from the shipped catalogue.
    pub rule: DueRule,
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
const LAND_PAPER: Doc = (
    "Giấy chứng nhận quyền sử dụng đất hoặc giấy tờ về quyền sử dụng đất",
    Cc,
    1,
);

/// One catalogue entry as written in the table below.
struct Row {
    /// National code without the province suffix.
    code: &'static str,
    name: &'static str,
    field: &'static str,
    level: AgencyLevel,
    weight: f64,
    business_share: f64,
    fee: bool,
    symbol: &'static str,
    docs: &'static [Doc],
}

use AgencyLevel::{Commune as C, District as D, Province as P};

const ROWS: &[Row] = &[
    // Provincial departments.
    Row {
        code: "2.001610.000.00.00",
        name: "Đăng ký thành lập công ty trách nhiệm hữu hạn hai thành viên trở lên",
        field: "KHDT",
        level: P,
        weight: 5.0,
        business_share: 1.0,
        fee: true,
        symbol: "ĐKDN",
        docs: &[
            ("Giấy đề nghị đăng ký doanh nghiệp", Or, 1),
            ("Điều lệ công ty", Or, 1),
            ("Danh sách thành viên", Or, 1),
            ("Bản sao giấy tờ pháp lý của cá nhân là thành viên", Cc, 1),
        ],
    },
    Row {
        code: "2.001199.000.00.00",
        name: "Đăng ký thay đổi nội dung đăng ký doanh nghiệp",
        field: "KHDT",
        level: P,
        weight: 8.0,
        business_share: 1.0,
        fee: true,
        symbol: "ĐKDN",
        docs: &[
            ("Thông báo thay đổi nội dung đăng ký doanh nghiệp", Or, 1),
            ("Nghị quyết, quyết định của chủ sở hữu", Or, 1),
        ],
    },
    Row {
        code: "1.009645.000.00.00",
        name: "Chấp thuận chủ trương đầu tư của Ủy ban nhân dân cấp tỉnh",
        field: "KHDT",
        level: P,
        weight: 0.4,
        business_share: 1.0,
        fee: false,
        symbol: "QĐ-UBND",
        docs: &[
            ("Văn bản đề nghị thực hiện dự án đầu tư", Or, 1),
            ("Đề xuất dự án đầu tư", Or, 4),
            ("Báo cáo năng lực tài chính của nhà đầu tư", Or, 1),
        ],
    },
    Row {
        code: "2.000488.000.00.00",
        name: "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam",
        field: "TP",
        level: P,
        weight: 9.0,
        business_share: 0.0,
        fee: true,
        symbol: "LLTP",
        docs: &[
            ("Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp", Or, 1),
            ID_COPY,
        ],
    },
    Row {
        code: "1.001071.000.00.00",
        name: "Đăng ký hoạt động Văn phòng công chứng",
        field: "TP",
        level: P,
        weight: 0.3,
        business_share: 1.0,
        fee: true,
        symbol: "ĐKHĐ",
        docs: &[
            ("Đơn đề nghị đăng ký hoạt động", Or, 1),
            ("Quyết định cho phép thành lập Văn phòng công chứng", Cc, 1),
        ],
    },
    Row {
        code: "1.009972.000.00.00",
        name: "Cấp giấy phép xây dựng mới đối với công trình cấp đặc biệt, cấp I, cấp II",
        field: "XD",
        level: P,
        weight: 1.5,
        business_share: 0.9,
        fee: true,
        symbol: "GPXD",
        docs: &[
            ("Đơn đề nghị cấp giấy phép xây dựng", Or, 1),
            LAND_PAPER,
            ("Bản vẽ thiết kế xây dựng", Or, 2),
            ("Văn bản thẩm định thiết kế", Cc, 1),
        ],
    },
    Row {
        code: "1.009988.000.00.00",
        name: "Cấp chứng chỉ hành nghề hoạt động xây dựng hạng II, hạng III",
        field: "XD",
        level: P,
        weight: 1.5,
        business_share: 0.0,
        fee: true,
        symbol: "CCHN",
        docs: &[
            ("Đơn đề nghị cấp chứng chỉ hành nghề", Or, 1),
            ("Văn bằng chuyên môn", Cc, 1),
            ("Ảnh màu 4x6", Or, 2),
        ],
    },
    Row {
        code: "1.004227.000.00.00",
        name: "Đăng ký biến động quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất",
        field: "TNMT",
        level: P,
        weight: 6.0,
        business_share: 0.3,
        fee: true,
        symbol: "ĐKBĐ",
        docs: &[
            ("Đơn đăng ký biến động đất đai", Or, 1),
            LAND_PAPER,
            ("Hợp đồng chuyển nhượng đã công chứng", Or, 1),
        ],
    },
    Row {
        code: "1.004269.000.00.00",
        name: "Cấp giấy chứng nhận quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất lần đầu cho tổ chức",
        field: "TNMT",
        level: P,
        weight: 1.0,
        business_share: 0.95,
        fee: true,
        symbol: "GCN",
        docs: &[
            ("Đơn đăng ký, cấp giấy chứng nhận", Or, 1),
            ("Giấy tờ về quyền sử dụng đất", Cc, 1),
            ("Trích đo địa chính thửa đất", Or, 1),
            ("Chứng từ thực hiện nghĩa vụ tài chính", Ph, 1),
        ],
    },
    Row {
        code: "1.010727.000.00.00",
        name: "Cấp giấy phép môi trường",
        field: "TNMT",
        level: P,
        weight: 0.4,
        business_share: 1.0,
        fee: true,
        symbol: "GPMT",
        docs: &[
            ("Văn bản đề nghị cấp giấy phép môi trường", Or, 1),
            ("Báo cáo đề xuất cấp giấy phép môi trường", Or, 3),
        ],
    },
    Row {
        code: "1.002804.000.00.00",
        name: "Cấp đổi giấy phép lái xe do ngành Giao thông vận tải cấp",
        field: "GTVT",
        level: P,
        weight: 14.0,
        business_share: 0.0,
        fee: true,
        symbol: "GPLX",
        docs: &[
            ("Đơn đề nghị đổi giấy phép lái xe", Or, 1),
            ("Giấy khám sức khỏe của người lái xe", Or, 1),
            ("Bản sao giấy phép lái xe", Ph, 1),
        ],
    },
    Row {
        code: "1.002861.000.00.00",
        name: "Cấp phù hiệu xe ô tô kinh doanh vận tải",
        field: "GTVT",
        level: P,
        weight: 4.0,
        business_share: 0.85,
        fee: true,
        symbol: "PH",
        docs: &[
            ("Giấy đề nghị cấp phù hiệu", Or, 1),
            ("Bản sao giấy đăng ký xe", Ph, 1),
        ],
    },
    Row {
        code: "1.001907.000.00.00",
        name: "Cấp giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm",
        field: "YT",
        level: P,
        weight: 2.0,
        business_share: 0.8,
        fee: true,
        symbol: "ATTP",
        docs: &[
            ("Đơn đề nghị cấp giấy chứng nhận", Or, 1),
            ("Bản thuyết minh về cơ sở vật chất, trang thiết bị", Or, 1),
            ("Giấy xác nhận đủ sức khỏe của chủ cơ sở", Cc, 1),
        ],
    },
    Row {
        code: "1.004503.000.00.00",
        name: "Cấp mới chứng chỉ hành nghề khám bệnh, chữa bệnh",
        field: "YT",
        level: P,
        weight: 1.0,
        business_share: 0.0,
        fee: true,
        symbol: "CCHN-KCB",
        docs: &[
            ("Đơn đề nghị cấp chứng chỉ hành nghề", Or, 1),
            ("Văn bằng chuyên môn", Cc, 1),
            ("Giấy xác nhận quá trình thực hành", Or, 1),
        ],
    },
    Row {
        code: "1.005092.000.00.00",
        name: "Cấp bản sao văn bằng, chứng chỉ từ sổ gốc",
        field: "GDDT",
        level: P,
        weight: 3.0,
        business_share: 0.0,
        fee: false,
        symbol: "BS-VB",
        docs: &[
            ("Đơn đề nghị cấp bản sao văn bằng", Or, 1),
            ID_COPY,
        ],
    },
    Row {
        code: "1.000105.000.00.00",
        name: "Cấp giấy phép lao động cho người lao động nước ngoài làm việc tại Việt Nam",
        field: "LDTBXH",
        level: P,
        weight: 2.0,
        business_share: 1.0,
        fee: true,
        symbol: "GPLĐ",
        docs: &[
            ("Văn bản đề nghị cấp giấy phép lao động", Or, 1),
            ("Giấy chứng nhận sức khỏe", Or, 1),
            ("Bản sao hộ chiếu", Cc, 1),
            ("Văn bản chứng minh là nhà quản lý, chuyên gia", Cc, 1),
        ],
    },
    Row {
        code: "2.000620.000.00.00",
        name: "Cấp Giấy chứng nhận cửa hàng đủ điều kiện bán lẻ xăng dầu",
        field: "CT",
        level: P,
        weight: 0.8,
        business_share: 1.0,
        fee: true,
        symbol: "GCN-XD",
        docs: &[
            ("Văn bản đề nghị cấp giấy chứng nhận", Or, 1),
            ("Bản kê trang thiết bị của cửa hàng", Or, 1),
        ],
    },
    Row {
        code: "1.003254.000.00.00",
        name: "Cấp giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm nông lâm thủy sản",
        field: "NNPTNT",
        level: P,
        weight: 1.0,
        business_share: 0.9,
        fee: true,
        symbol: "ATTP-NLTS",
        docs: &[
            ("Đơn đề nghị cấp giấy chứng nhận", Or, 1),
            ("Bản thuyết minh điều kiện cơ sở", Or, 1),
        ],
    },
    Row {
        code: "1.001432.000.00.00",
        name: "Cấp giấy phép kinh doanh dịch vụ lữ hành nội địa",
        field: "VHTTDL",
        level: P,
        weight: 0.8,
        business_share: 1.0,
        fee: true,
        symbol: "GP-LHNĐ",
        docs: &[
            ("Đơn đề nghị cấp giấy phép", Or, 1),
            ("Giấy chứng nhận ký quỹ", Or, 1),
            ("Văn bằng của người phụ trách kinh doanh lữ hành", Cc, 1),
        ],
    },
    Row {
        code: "1.003801.000.00.00",
        name: "Cấp giấy phép xuất bản bản tin",
        field: "TTTT",
        level: P,
        weight: 0.3,
        business_share: 1.0,
        fee: false,
        symbol: "GP-BT",
        docs: &[
            ("Đơn đề nghị cấp giấy phép xuất bản bản tin", Or, 1),
            ("Mẫu trình bày tên gọi bản tin", Or, 1),
        ],
    },
    // District level.
    Row {
        code: "2.000815.000.00.00",
        name: "Chứng thực bản sao từ bản chính giấy tờ, văn bản do cơ quan có thẩm quyền của nước ngoài cấp",
        field: "TP",
        level: D,
        weight: 6.0,
        business_share: 0.05,
        fee: true,
        symbol: "CT",
        docs: &[
            ("Bản chính giấy tờ do nước ngoài cấp", Or, 1),
            ("Bản sao cần chứng thực", Ph, 2),
        ],
    },
    Row {
        code: "1.000893.000.00.00",
        name: "Đăng ký kết hôn có yếu tố nước ngoài",
        field: "TP",
        level: D,
        weight: 1.0,
        business_share: 0.0,
        fee: true,
        symbol: "HT",
        docs: &[
            ("Tờ khai đăng ký kết hôn", Or, 1),
            ("Giấy xác nhận tình trạng hôn nhân", Or, 2),
            ("Giấy xác nhận không mắc bệnh tâm thần", Or, 2),
            ("Bản sao hộ chiếu", Cc, 1),
        ],
    },
    Row {
        code: "1.001695.000.00.00",
        name: "Đăng ký khai sinh có yếu tố nước ngoài",
        field: "TP",
        level: D,
        weight: 1.0,
        business_share: 0.0,
        fee: true,
        symbol: "HT",
        docs: &[
            ("Tờ khai đăng ký khai sinh", Or, 1),
            ("Giấy chứng sinh", Or, 1),
            ("Văn bản thỏa thuận chọn quốc tịch", Or, 1),
        ],
    },
    Row {
        code: "2.000720.000.00.00",
        name: "Đăng ký thành lập hộ kinh doanh",
        field: "KHDT",
        level: D,
        weight: 10.0,
        business_share: 0.25,
        fee: true,
        symbol: "ĐKHKD",
        docs: &[
            ("Giấy đề nghị đăng ký hộ kinh doanh", Or, 1),
            ID_COPY,
        ],
    },
    Row {
        code: "1.009994.000.00.00",
        name: "Cấp giấy phép xây dựng đối với nhà ở riêng lẻ",
        field: "XD",
        level: D,
        weight: 8.0,
        business_share: 0.05,
        fee: true,
        symbol: "GPXD",
        docs: &[
            ("Đơn đề nghị cấp giấy phép xây dựng", Or, 1),
            LAND_PAPER,
            ("Bản vẽ thiết kế xây dựng", Or, 2),
        ],
    },
    Row {
        code: "1.003003.000.00.00",
        name: "Cấp giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở và tài sản khác gắn liền với đất lần đầu",
        field: "TNMT",
        level: D,
        weight: 5.0,
        business_share: 0.0,
        fee: true,
        symbol: "GCN",
        docs: &[
            ("Đơn đăng ký, cấp giấy chứng nhận", Or, 1),
            ("Giấy tờ về quyền sử dụng đất", Cc, 1),
            ("Sơ đồ thửa đất", Or, 1),
            ("Chứng từ thực hiện nghĩa vụ tài chính", Ph, 1),
        ],
    },
    Row {
        code: "1.004203.000.00.00",
        name: "Chuyển mục đích sử dụng đất phải được phép của cơ quan nhà nước có thẩm quyền đối với hộ gia đình, cá nhân",
        field: "TNMT",
        level: D,
        weight: 2.0,
        business_share: 0.0,
        fee: true,
        symbol: "QĐ-CMĐ",
        docs: &[
            ("Đơn xin phép chuyển mục đích sử dụng đất", Or, 1),
            LAND_PAPER,
        ],
    },
    Row {
        code: "2.000633.000.00.00",
        name: "Cấp giấy phép bán lẻ rượu",
        field: "CT",
        level: D,
        weight: 1.5,
        business_share: 0.5,
        fee: true,
        symbol: "GP-BLR",
        docs: &[
            ("Đơn đề nghị cấp giấy phép bán lẻ rượu", Or, 1),
            ("Bản sao giấy chứng nhận đăng ký hộ kinh doanh", Ph, 1),
        ],
    },
    Row {
        code: "1.004831.000.00.00",
        name: "Chuyển trường đối với học sinh trung học cơ sở",
        field: "GDDT",
        level: D,
        weight: 2.0,
        business_share: 0.0,
        fee: false,
        symbol: "CTr",
        docs: &[
            ("Đơn xin chuyển trường", Or, 1),
            ("Học bạ", Or, 1),
        ],
    },
    // Commune level.
    Row {
        code: "2.000908.000.00.00",
        name: "Chứng thực bản sao từ bản chính giấy tờ, văn bản do cơ quan có thẩm quyền của Việt Nam cấp",
        field: "TP",
        level: C,
        weight: 40.0,
        business_share: 0.03,
        fee: true,
        symbol: "CT",
        docs: &[
            ("Bản chính giấy tờ, văn bản làm cơ sở chứng thực", Or, 1),
            ("Bản sao cần chứng thực", Ph, 3),
        ],
    },
    Row {
        code: "2.000884.000.00.00",
        name: "Chứng thực chữ ký trong các giấy tờ, văn bản",
        field: "TP",
        level: C,
        weight: 12.0,
        business_share: 0.02,
        fee: true,
        symbol: "CT",
        docs: &[
            ("Giấy tờ, văn bản cần chứng thực chữ ký", Or, 1),
            ID_COPY,
        ],
    },
    Row {
        code: "2.001035.000.00.00",
        name: "Chứng thực hợp đồng, giao dịch liên quan đến tài sản là động sản, quyền sử dụng đất và nhà ở",
        field: "TP",
        level: C,
        weight: 6.0,
        business_share: 0.0,
        fee: true,
        symbol: "CT",
        docs: &[
            ("Dự thảo hợp đồng, giao dịch", Or, 3),
            LAND_PAPER,
            ID_COPY,
        ],
    },
    Row {
        code: "1.001193.000.00.00",
        name: "Đăng ký khai sinh",
        field: "TP",
        level: C,
        weight: 10.0,
        business_share: 0.0,
        fee: false,
        symbol: "HT",
        docs: &[
            ("Tờ khai đăng ký khai sinh", Or, 1),
            ("Giấy chứng sinh", Or, 1),
        ],
    },
    Row {
        code: "1.000894.000.00.00",
        name: "Đăng ký kết hôn",
        field: "TP",
        level: C,
        weight: 4.0,
        business_share: 0.0,
        fee: false,
        symbol: "HT",
        docs: &[
            ("Tờ khai đăng ký kết hôn", Or, 1),
            ("Giấy xác nhận tình trạng hôn nhân", Or, 1),
        ],
    },
    Row {
        code: "1.000656.000.00.00",
        name: "Đăng ký khai tử",
        field: "TP",
        level: C,
        weight: 3.0,
        business_share: 0.0,
        fee: false,
        symbol: "HT",
        docs: &[
            ("Tờ khai đăng ký khai tử", Or, 1),
            ("Giấy báo tử", Or, 1),
        ],
    },
    Row {
        code: "1.004873.000.00.00",
        name: "Cấp giấy xác nhận tình trạng hôn nhân",
        field: "TP",
        level: C,
        weight: 6.0,
        business_share: 0.0,
        fee: true,
        symbol: "XNTTHN",
        docs: &[
            ("Tờ khai cấp giấy xác nhận tình trạng hôn nhân", Or, 1),
            ID_COPY,
        ],
    },
    Row {
        code: "2.000635.000.00.00",
        name: "Cấp bản sao trích lục hộ tịch",
        field: "TP",
        level: C,
        weight: 5.0,
        business_share: 0.0,
        fee: true,
        symbol: "TLHT",
        docs: &[
            ("Tờ khai cấp bản sao trích lục hộ tịch", Or, 1),
        ],
    },
    Row {
        code: "1.004859.000.00.00",
        name: "Thay đổi, cải chính, bổ sung thông tin hộ tịch",
        field: "TP",
        level: C,
        weight: 2.0,
        business_share: 0.0,
        fee: true,
        symbol: "HT",
        docs: &[
            ("Tờ khai đăng ký thay đổi, cải chính hộ tịch", Or, 1),
            ("Giấy tờ làm căn cứ cải chính", Cc, 1),
        ],
    },
    Row {
        code: "1.001776.000.00.00",
        name: "Trợ cấp xã hội hàng tháng đối với đối tượng bảo trợ xã hội",
        field: "LDTBXH",
        level: C,
        weight: 1.5,
        business_share: 0.0,
        fee: false,
        symbol: "QĐ-TCXH",
        docs: &[
            ("Tờ khai đề nghị trợ giúp xã hội", Or, 1),
            ID_COPY,
        ],
    },
    Row {
        code: "1.003554.000.00.00",
        name: "Hòa giải tranh chấp đất đai",
        field: "TNMT",
        level: C,
        weight: 0.5,
        business_share: 0.0,
        fee: false,
        symbol: "BB-HG",
        docs: &[
            ("Đơn yêu cầu hòa giải tranh chấp đất đai", Or, 1),
            ("Giấy tờ liên quan đến thửa đất tranh chấp", Ph, 2),
        ],
    },
];

/// The catalogue for a province: every procedure with the province code as its suffix,
/// limits and due rules taken from [`Catalogue::shipped`].
pub fn catalogue(province_code: &str) -> Vec<Procedure> {
    let shipped = Catalogue::shipped();
    ROWS.iter()
        .map(|row| {
            let key = format!("{}.{CATALOGUE_SUFFIX}", row.code);
            let legal = shipped
                .get(&key)
                .unwrap_or_else(|| panic!("{key} is not in the shipped catalogue"));
            Procedure {
                code: format!("{}.{province_code}", row.code),
                name: row.name.to_string(),
                field_code: row.field.to_string(),
                level: row.level,
                time_limit: legal.limit,
                rule: legal.rule,
                documents: row
                    .docs
                    .iter()
                    .map(|&(name, kind, count)| SubmittedDocument {
                        name: name.to_string(),
                        kind,
                        count,
                    })
                    .collect(),
                weight: row.weight,
                business_share: row.business_share,
                fee: row.fee,
                result_symbol: row.symbol.to_string(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use motcua_core::event::TimeUnit;
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
        for level in [
            AgencyLevel::Province,
            AgencyLevel::District,
            AgencyLevel::Commune,
        ] {
            assert!(cat.iter().any(|p| p.level == level));
        }
        for unit in [
            TimeUnit::WorkingDays,
            TimeUnit::WorkingHours,
            TimeUnit::CalendarDays,
        ] {
            assert!(cat.iter().any(|p| p.time_limit.unit == unit));
        }
        assert!(cat
            .iter()
            .all(|p| !p.documents.is_empty() && p.weight > 0.0));
    }

    #[test]
    fn every_row_is_in_the_shipped_catalogue_with_its_limit_and_rule() {
        let shipped = Catalogue::shipped();
        for province in ["H56", "H29"] {
            for (row, p) in ROWS.iter().zip(catalogue(province)) {
                let key = format!("{}.{CATALOGUE_SUFFIX}", row.code);
                let legal = shipped
                    .get(&key)
                    .unwrap_or_else(|| panic!("{key} is not in the shipped catalogue"));
                assert_eq!(p.time_limit, legal.limit, "{key}");
                assert_eq!(p.rule, legal.rule, "{key}");
            }
        }
        // Same-day procedures carry their cut-off.
        assert!(catalogue("H56")
            .iter()
            .any(|p| p.rule.same_day_cutoff.is_some()));
    }
}
