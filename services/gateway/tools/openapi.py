"""Writes services/gateway/openapi.json (the gateway's OpenAPI 3 document).

The document is kept in the repository and served by the gateway; a unit test
(`server::tests::the_openapi_document_matches_the_routes`) holds its paths and statuses
to the routes in code. Edit this script and run it: `python3 services/gateway/tools/openapi.py`.
"""
import json, os

def ref(name):
    return {"$ref": f"#/components/schemas/{name}"}

ts = {"type": "string", "description": "RFC 3339 with offset, e.g. 2026-08-17T09:00:00+07:00"}
portal_time = {"type": "string", "description": "yyyyMMddHHmmss, Vietnam time", "example": "20260817090000"}
code = {"oneOf": [{"type": "integer"}, {"type": "string"}]}
anything = {}

schemas = {
    "RecordError": {
        "type": "object", "required": ["reason", "field", "detail"],
        "properties": {
            "reason": {"type": "string", "enum": ["undecodable", "missing_field", "bad_format", "inconsistent", "forbidden", "unmappable", "pending"]},
            "field": {"type": "string", "description": "dotted path of the field (portal endpoints: the portal's field name); empty for the record"},
            "detail": {"type": "string"},
        },
    },
    "Published": {
        "type": "object", "required": ["event_id", "topic", "partition", "offset"],
        "properties": {"event_id": {"type": "string"}, "topic": {"type": "string"},
                       "partition": {"type": "integer"}, "offset": {"type": "integer"}},
    },
    "RecordResult": {
        "type": "object", "required": ["index", "status"],
        "properties": {
            "index": {"type": "integer", "minimum": 0},
            "status": {"type": "string", "enum": ["accepted", "rejected", "unavailable"]},
            "events": {"type": "array", "items": ref("Published")},
            "error": ref("RecordError"),
        },
    },
    "Answer": {
        "type": "object", "required": ["accepted", "rejected", "unavailable", "results"],
        "properties": {
            "accepted": {"type": "integer", "minimum": 0},
            "rejected": {"type": "integer", "minimum": 0},
            "unavailable": {"type": "integer", "minimum": 0},
            "results": {"type": "array", "items": ref("RecordResult")},
        },
    },
    "Error": {
        "type": "object", "required": ["error"],
        "properties": {
            "error": {"type": "object", "required": ["code", "message"],
                      "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                                     "field": {"type": "string"}}},
            "results": ref("Answer"),
        },
    },
    "DossierEvent": {
        "type": "object",
        "description": "A motcua dossier event (docs/CONTRACT.md section 2; schemas/dossier_event.avsc): the envelope plus exactly the payload of its kind.",
        "required": ["event_id", "dossier_code", "agency_code", "occurred_at", "form_set", "kind"],
        "properties": {
            "event_id": {"type": "string", "maxLength": 128},
            "dossier_code": {"type": "string", "example": "H56.50-260817-0001"},
            "national_dossier_code": {"type": ["string", "null"]},
            "agency_code": {"type": "string", "example": "H56.50"},
            "occurred_at": ts,
            "form_set": {"type": "string", "enum": ["TT01_2018", "TT03_2025"]},
            "source_system": {"type": ["string", "null"]},
            "kind": {"type": "string", "enum": ["RECEIVED", "SUPPLEMENT_REQUESTED", "SUPPLEMENT_RECEIVED", "REFUSED", "APOLOGY", "PROCESSING_STOPPED", "HANDOVER", "WITHDRAWN", "RESULT_READY", "RESULT_RETURNED", "SURVEY", "SIPAS_RESPONSE", "PORTAL_SYNCED", "FEEDBACK"]},
            **{p: {"type": ["object", "null"]} for p in ["received", "supplement_requested", "supplement_received", "refused", "apology", "processing_stopped", "handover", "withdrawn", "result_ready", "result_returned", "survey", "sipas", "portal_sync", "feedback"]},
        },
    },
    "PortalDossier": {
        "type": "object", "additionalProperties": False,
        "description": "A dossier as the national portal's sync sends it (HoSo). Mapping: docs/CONTRACT.md section 9.4.",
        "required": ["MaHoSo", "TrangThaiHoSo"],
        "properties": {
            "MaHoSo": {"type": "string", "example": "H56.50-260817-0001"},
            "MaTTHC": {"type": "string"}, "TenTTHC": {"type": "string"}, "MaLinhVuc": {"type": "string"},
            "TenLinhVuc": anything, "KenhThucHien": code, "ChuHoSo": {"type": "string"},
            "SoGiayToChuHoSo": {"type": "string"}, "LoaiDoiTuong": code, "MaDoiTuong": anything,
            "ThongTinKhac": anything, "SoDienThoai": {"type": "string"}, "Email": {"type": "string"},
            "Fax": anything, "TrichYeuHoSo": {"type": "string"},
            "NgayTiepNhan": portal_time, "NgayHenTra": portal_time,
            "TrangThaiHoSo": {"oneOf": [{"type": "integer"}, {"type": "string"}], "description": "status code 1-10"},
            "NgayTra": portal_time, "ThongTinTra": anything, "HinhThuc": anything,
            "NgayKetThucXuLy": portal_time, "DonViXuLy": anything, "GhiChu": anything,
            "TaiLieuNop": {"type": "array", "items": {"type": "object", "properties": {"TenTepDinhKem": {"type": "string"}}}},
            "DanhSachLePhi": anything, "DanhSachTepDinhKemKhac": anything,
            "DanhSachHoSoBoSung": {"type": "array", "items": ref("PortalSupplementRound")},
            "DanhSachGiayToKetQua": {"type": "array", "items": {"type": "object", "properties": {"TenGiayTo": {"type": "string"}, "DuongDanTepTinKetQua": {"type": "string"}}}},
            "NoiNopHoSo": anything,
            "HoSoCoThanhPhanSoHoa": {"oneOf": [{"type": "boolean"}, {"type": "integer"}, {"type": "string"}, {"type": "null"}],
                                     "description": "digitised at receipt: true/false, 1/0 or \"1\"/\"0\" (received.digitised)"}, "TaiKhoanDuocXacThucVoiVNeID": anything,
            "DuocThanhToanTrucTuyen": anything, "NgayTuChoi": anything, "DinhDanhCHS": anything,
            "NgayNopHoSo": anything, "DSKetNoiCSDL": anything,
        },
    },
    "PortalSupplementRound": {
        "type": "object", "additionalProperties": False,
        "properties": {
            "HoSoBoSungId": code, "NguoiYeuCauBoSung": {"type": "string"}, "NoiDungBoSung": {"type": "string"},
            "NgayBoSung": portal_time, "NguoiTiepNhanBoSung": anything, "ThongTinTiepNhan": anything,
            "NgayTiepNhanBoSung": portal_time, "TrangThaiBoSung": {"oneOf": [{"type": "boolean"}, {"type": "integer"}, {"type": "string"}]},
            "DanhSachGiayToBoSung": {"type": "array", "items": {"type": "object", "properties": {"TenTepDinhKem": {"type": "string"}}}},
            "DanhSachLePhiBoSung": anything, "NgayHenTraTruoc": anything, "NgayHenTraMoi": anything,
        },
    },
    "PortalStep": {
        "type": "object", "additionalProperties": False,
        "description": "A progress row as the national portal's sync sends it (QuaTrinhXuLy).",
        "required": ["MaHoSo", "ThoiDiemXuLy", "PhongBanXuLy", "TrangThai"],
        "properties": {
            "MaHoSo": {"type": "string"}, "NguoiXuLy": anything, "ChucDanh": anything,
            "ThoiDiemXuLy": portal_time, "PhongBanXuLy": {"type": "string", "description": "the unit's agency code, e.g. H56.50.10"},
            "NoiDungXuLy": {"type": "string"}, "TrangThai": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
            "NgayBatDau": anything, "NgayKetThucTheoQuyDinh": anything,
        },
    },
}

def json_content(schema):
    return {"application/json": {"schema": schema}}

retry_after = {"Retry-After": {"required": True, "description": "seconds to wait", "schema": {"type": "integer"}}}
error_texts = {
    400: "The body is not JSON of the endpoint's shape, or the Idempotency-Key is malformed.",
    401: "No API key, or an unknown one.",
    403: "The event names an agency or dossier outside the caller's scopes.",
    409: "A request with this Idempotency-Key is still being carried out.",
    413: "The body or the number of records exceeds the agency's limit.",
    415: "The body is not sent as application/json.",
    422: "The event is invalid (single event), or the Idempotency-Key was used with another body.",
    429: "The agency's rate limit is exceeded.",
    503: "The broker is unreachable or did not acknowledge every event, or the gateway holds as many unacknowledged events as it may. Nothing is buffered: retry after Retry-After seconds (with the same Idempotency-Key).",
}

def ingest(summary, body_schema, statuses, ok_text):
    responses = {"200": {"description": ok_text, "content": json_content(ref("Answer"))}}
    for s in statuses:
        if s == 200:
            continue
        r = {"description": error_texts[s], "content": json_content(ref("Error"))}
        if s in (429, 503):
            r["headers"] = retry_after
        responses[str(s)] = r
    return {"post": {
        "summary": summary,
        "security": [{"bearerAuth": []}, {"apiKeyAuth": []}],
        "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                        "description": "A retry with the same key and body gets the first answer again and publishes nothing (kept 24 h by default).",
                        "schema": {"type": "string", "minLength": 1, "maxLength": 255}}],
        "requestBody": {"required": True, "content": json_content(body_schema)},
        "responses": responses,
    }}

INGEST = [200, 400, 401, 409, 413, 415, 422, 429, 503]
SINGLE = [200, 400, 401, 403, 409, 413, 415, 422, 429, 503]
one_or_many = lambda name: {"oneOf": [ref(name), {"type": "array", "items": ref(name)}]}

doc = {
    "openapi": "3.0.3",
    "info": {"title": "motcua agency ingest gateway", "version": "1",
             "description": "Agency systems post motcua dossier events or the national portal's sync payloads; a 200 answer means every accepted record's events were acknowledged by the Kafka broker (acks=all, idempotent producer). See docs/CONTRACT.md section 9."},
    "paths": {
        "/v1/events": ingest("Publish one motcua event", ref("DossierEvent"), SINGLE,
                             "The event was accepted and acknowledged by the broker."),
        "/v1/events/batch": ingest("Publish an array of motcua events", {"type": "array", "items": ref("DossierEvent")}, INGEST,
                                   "One result per record, in order: accepted (acknowledged by the broker) or rejected with the field and reason."),
        "/v1/portal/dossiers": ingest("Convert and publish national-portal dossier snapshots (HoSo)", one_or_many("PortalDossier"), INGEST,
                                      "One result per record: accepted with the events it became, or rejected with the portal field and reason."),
        "/v1/portal/progress": ingest("Convert and publish national-portal progress rows (QuaTrinhXuLy)", one_or_many("PortalStep"), INGEST,
                                      "One result per row: accepted (a HANDOVER event), pending (its receiving unit is the next row's) or rejected."),
        "/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "The OpenAPI document.", "content": json_content({"type": "object"})}}}},
        "/healthz": {"get": {"summary": "Liveness", "responses": {"200": {"description": "The gateway is running.", "content": json_content({"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}})}}}},
        "/readyz": {"get": {"summary": "Readiness: the broker answered the last probe", "responses": {
            "200": {"description": "Ready.", "content": json_content({"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}})},
            "503": {"description": "The broker did not answer the last probe.", "headers": retry_after, "content": json_content(ref("Error"))}}}},
        "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "Text exposition format.", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
    },
    "components": {
        "schemas": schemas,
        "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer", "description": "The agency's API key."},
            "apiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-Api-Key", "description": "The agency's API key."},
        },
    },
}

# OpenAPI 3.0 has no type arrays: nullable instead.
def fix(node):
    if isinstance(node, dict):
        t = node.get("type")
        if isinstance(t, list):
            node["type"] = [x for x in t if x != "null"][0]
            node["nullable"] = True
        for v in node.values():
            fix(v)
    elif isinstance(node, list):
        for v in node:
            fix(v)
fix(doc)

out = os.path.join(os.path.dirname(__file__), "..", "openapi.json")
with open(out, "w") as f:
    json.dump(doc, f, indent=1, ensure_ascii=False)
    f.write("\n")
